// `npm start`: opens the freshly built extension in VS Code on a sample repository. Desktop VS Code (`code` on PATH)
// gets it as an extension under development; otherwise code-server serves VS Code on 127.0.0.1:$OCR_PORT (default
// 8080) with the extension installed, set up on first use, until Ctrl+C. OCR_CODE_SERVER=1 prefers code-server even
// when desktop VS Code is there.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startCodeServer } from '../test/e2e/harness/code-server';
import { extensionDir, requireBuilt, toolsDir } from '../test/e2e/harness/paths';
import { ensurePrerequisites } from '../test/e2e/harness/prerequisites';
import { createSandbox, createSampleWorkspace } from '../test/e2e/harness/sandbox';
import { defaultDataFolder, EmbeddedDatabase } from '../worker/store/embedded';

const sampleWorkspace = path.join(toolsDir, 'sample-workspace');
const profileDir = path.join(toolsDir, 'start');

function port(): number {
  const raw = process.env.OCR_PORT ?? '8080';
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`OCR_PORT must be a TCP port (1-65535), not "${raw}"`);
  return value;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function startDesktop(): void {
  console.log(`opening ${path.relative(process.cwd(), sampleWorkspace)} in VS Code with the extension under development`);
  const result = spawnSync('code', [`--extensionDevelopmentPath=${extensionDir}`, sampleWorkspace], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`\`code\` exited with ${result.status ?? result.signal}`);
}

/** Links the repository into the profile's extensions folder, replacing links left by an older version. */
function installExtension(extensionsDir: string): void {
  const { publisher, name, version } = JSON.parse(readFileSync(path.join(extensionDir, 'package.json'), 'utf8')) as Record<string, string>;
  const link = path.join(extensionsDir, `${publisher}.${name}-${version}`);
  for (const entry of readdirSync(extensionsDir)) {
    const full = path.join(extensionsDir, entry);
    if (entry.startsWith(`${publisher}.${name}-`) && full !== link) rmSync(full, { recursive: true, force: true });
  }
  // VS Code caches its scan of the extensions folder in extensions.json; a new link must be rescanned.
  if (!existsSync(link) || readlinkSync(link) !== extensionDir) {
    rmSync(link, { force: true });
    rmSync(path.join(extensionsDir, 'extensions.json'), { force: true });
    symlinkSync(extensionDir, link, 'dir');
  }
}

/** A profile kept from an earlier start gets the setting too (new profiles are written with it). */
function useOwnDatabase(userDataDir: string): void {
  const file = path.join(userDataDir, 'User', 'settings.json');
  const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (settings['ocr.embedded.dataDir']) return;
  settings['ocr.embedded.dataDir'] = defaultDataFolder();
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
}

/** Follows the extension's own log (its "Ops Control Room" output channel) into the terminal. */
function followExtensionLog(userDataDir: string): () => void {
  const logsDir = path.join(userDataDir, 'logs');
  const offsets = new Map<string, number>();
  const timer = setInterval(() => {
    if (!existsSync(logsDir)) return;
    for (const file of readdirSync(logsDir, { recursive: true, encoding: 'utf8' })) {
      if (!file.includes('ops-control-room.ops-control-room') || !file.endsWith('.log')) continue;
      const full = path.join(logsDir, file);
      const size = statSync(full).size;
      const from = offsets.get(full) ?? 0;
      if (size <= from) continue;
      offsets.set(full, size);
      const text = readFileSync(full, 'utf8').slice(from);
      for (const line of text.split('\n').filter(Boolean)) console.log(`[extension] ${line}`);
    }
  }, 1000);
  return () => clearInterval(timer);
}

async function startCodeServerInForeground(): Promise<void> {
  ensurePrerequisites({ chromium: false });
  // A profile that persists between starts, like a user's, with the repository installed as the extension.
  const sandbox = createSandbox('start', {
    keepIn: profileDir,
    settings: {
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoUpdate': false,
      'git.openRepositoryInParentFolders': 'never',
      // the profile is sandboxed, but the database is the user's own: `bin/ocr` in a terminal sees the same sessions
      'ocr.embedded.dataDir': defaultDataFolder(),
    },
  });
  installExtension(sandbox.extensionsDir);
  useOwnDatabase(sandbox.userDataDir);
  // The setting names a folder other than the sandbox's default, and the extension creates only its own default: the
  // user's database is created (and started) here when it is new, as `bin/ocr` would create it.
  await new EmbeddedDatabase(defaultDataFolder()).ensureRunning();
  const logFile = path.join(profileDir, 'code-server.log');
  const server = await startCodeServer(sandbox, { port: port(), logFile }).catch((error: unknown) => {
    const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    if (/EADDRINUSE/.test(text.slice(-4000))) throw new Error(`port ${port()} is in use: stop what uses it or choose another with OCR_PORT=<port> npm start`);
    throw error;
  });
  const stopFollowing = followExtensionLog(sandbox.userDataDir);
  console.log('');
  console.log(`VS Code with Ops Control Room is ready: ${server.url({ folder: sampleWorkspace })}`);
  console.log('Open it in a browser, then the Ops Control Room icon in the activity bar. Ctrl+C stops it.');
  console.log(`The extension uses the embedded database in ${defaultDataFolder()}, like \`bin/ocr\` in a terminal.`);
  console.log(`(code-server log: ${path.relative(process.cwd(), logFile)})`);
  const interrupted = new Promise<'interrupted'>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.removeAllListeners(signal); // this process stops code-server itself, then exits normally
      process.once(signal, () => resolve('interrupted'));
    }
  });
  const ended = await Promise.race([interrupted, server.exit.then(() => 'exited' as const)]);
  if (ended === 'interrupted') console.log('\nstopping VS Code');
  stopFollowing();
  await server.stop();
  await sandbox.dispose();
  if (ended === 'exited') throw new Error(`code-server stopped unexpectedly; see ${path.relative(process.cwd(), logFile)}`);
}

async function main(): Promise<void> {
  requireBuilt();
  createSampleWorkspace(sampleWorkspace);
  // `--prepare` only sets up what the launch configurations of .vscode/launch.json open.
  if (process.argv.includes('--prepare')) return;
  if (onPath('code') && !process.env.OCR_CODE_SERVER) startDesktop();
  else await startCodeServerInForeground();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
