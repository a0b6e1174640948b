// Where the harness finds the project, its tools and its output. Everything is relative to the repository root so the
// harness works from any clone and any working directory.
import { existsSync, readFileSync } from 'node:fs';
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

const chromiumCandidates = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The system browser Playwright drives; OCR_CHROMIUM overrides it. */
export function chromiumPath(): string {
  const chosen = process.env.OCR_CHROMIUM ?? chromiumCandidates.find((p) => existsSync(p));
  if (!chosen || !existsSync(chosen)) {
    throw new Error('No Chromium found. Install it (Debian: `apt-get install -y --no-install-recommends chromium`) or set OCR_CHROMIUM to its path.');
  }
  return chosen;
}

export function requireBuilt(): void {
  if (!existsSync(extensionBundle)) throw new Error(`${path.relative(repoRoot, extensionBundle)} is missing: run \`npm run build\` first.`);
}

export function requireCodeServer(): void {
  if (!existsSync(codeServerBin)) throw new Error('code-server is not installed: run `npm run setup:vscode` first.');
}
