// Where the harness finds the project, its tools and its output. Everything is relative to the repository root so the
// harness works from any clone and any working directory.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The harness runs both from its sources and from bundles in dist/, so the root is found, not assumed. */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ops-control-room') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no ops-control-room package.json above ${from}`);
  }
}

export const repoRoot = findRepoRoot(__dirname);
export const toolsDir = path.join(repoRoot, '.tools');
export const outputDir = path.join(repoRoot, 'test-output');

/** code-server 4.100.3 is the last release whose engines.node accepts Node 20; it ships VS Code 1.100.3. */
export const codeServerVersion = '4.100.3';
export const codeServerDir = path.join(toolsDir, 'code-server');
export const codeServerBin = path.join(codeServerDir, 'node_modules', '.bin', 'code-server');

/** The extension under test is the repository itself (package.json at the root, bundle in dist/). */
export const extensionDir = repoRoot;
export const extensionId = 'ops-control-room.ops-control-room';
export const extensionBundle = path.join(repoRoot, 'dist', 'extension.js');
export const extensionTestsDir = path.join(repoRoot, 'dist', 'test', 'vscode');

/** The browsers Playwright can drive, by the names their packages put on PATH. */
export const chromiumNames = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The first executable of one of `names` in the folders of `searchPath` (a PATH value). */
export function findOnPath(names: string[], searchPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        if (statSync(file).isFile()) return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** The browser the UI tests drive: OCR_CHROMIUM when set (and there), otherwise a Chromium or Chrome on PATH. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.OCR_CHROMIUM) return existsSync(env.OCR_CHROMIUM) ? env.OCR_CHROMIUM : undefined;
  return findOnPath(chromiumNames, env.PATH);
}

export function chromiumPath(): string {
  const found = findChromium();
  if (found) return found;
  if (process.env.OCR_CHROMIUM) throw new Error(`OCR_CHROMIUM is ${process.env.OCR_CHROMIUM}, which does not exist: set it to a Chromium or Chrome executable, or unset it.`);
  throw new Error('No Chromium found: run `npm run setup:vscode` (it installs Debian\'s chromium when run as root), install Chromium yourself, or set OCR_CHROMIUM to its path.');
}

export function requireBuilt(): void {
  if (!existsSync(extensionBundle)) throw new Error(`${path.relative(repoRoot, extensionBundle)} is missing: run \`npm run build\` first.`);
}

export function requireCodeServer(): void {
  if (!existsSync(codeServerBin)) throw new Error('code-server is not installed: run `npm run setup:vscode` (or `npm test`, which installs it first).');
}
