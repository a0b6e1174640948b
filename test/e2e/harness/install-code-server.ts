// Installs code-server (a real VS Code workbench with a Node extension host) into .tools/code-server from the npm
// registry alone, so machines that cannot download VS Code can still run it. A finished install is recognised by its
// marker file in a few milliseconds (prerequisites.ts decides whether to install).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { codeServerBin, codeServerDir, codeServerVersion, repoRoot, toolsDir } from './paths';

/** Debian packages the native modules of code-server compile against (kerberos needs the gssapi headers). */
export const buildPrerequisites = ['build-essential', 'python3', 'pkg-config', 'libkrb5-dev'];

const markerFile = path.join(codeServerDir, '.installed');
const installLog = path.join(toolsDir, 'code-server-install.log');

// Packages in code-server's tree whose install scripts must run; npm blocks unreviewed install scripts.
const allowScripts: Record<string, boolean> = {
  'code-server': true,
  '@parcel/watcher': true,
  '@vscode/ripgrep': true,
  '@vscode/spdlog': true,
  '@vscode/sqlite3': true,
  'argon2': true,
  'kerberos': true,
  'native-watchdog': true,
  'node-pty': true,
};

export function isCodeServerInstalled(): boolean {
  return existsSync(codeServerBin) && existsSync(markerFile) && readFileSync(markerFile, 'utf8').trim() === codeServerVersion;
}

/** Installs code-server into .tools/code-server; its compile prerequisites are prerequisites.ts's to provide. */
export function installCodeServer(log: (line: string) => void = console.log): void {
  const started = Date.now();
  // npm and the ripgrep postinstall put their scratch files in os.tmpdir(); keep them inside .tools, not in /tmp.
  const scratch = path.join(toolsDir, 'tmp');
  mkdirSync(scratch, { recursive: true });
  seedRipgrepCache(scratch, log);

  mkdirSync(codeServerDir, { recursive: true });
  writeFileSync(path.join(codeServerDir, 'package.json'), `${JSON.stringify({ private: true, allowScripts }, null, 2)}\n`);
  log(`installing code-server ${codeServerVersion} into ${path.relative(repoRoot, codeServerDir)} (native modules compile: a few minutes on 2 cores; its output goes to ${path.relative(repoRoot, installLog)})`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TMPDIR: scratch,
    // code-server's postinstall refuses to run as root without unsafe-perm.
    npm_config_unsafe_perm: 'true',
    // node-pty's install runs `npx node-gyp`, which aborts without a TTY unless told yes.
    npm_config_yes: 'true',
    npm_config_update_notifier: 'false',
  };
  // Compile against the headers of the running Node when they are installed beside it, instead of downloading them.
  const nodePrefix = path.resolve(path.dirname(process.execPath), '..');
  if (existsSync(path.join(nodePrefix, 'include', 'node', 'node.h'))) env.npm_config_nodedir = nodePrefix;
  delete env.NODE_OPTIONS;
  // The compile output is long and only of use when it fails: it goes to a log, whose end is shown then.
  const logFd = openSync(installLog, 'w');
  const result = spawnSync('npm', ['install', `code-server@${codeServerVersion}`, '--foreground-scripts', '--no-audit', '--no-fund', '--no-save'],
    { cwd: codeServerDir, env, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  if (result.status !== 0) {
    const tail = readFileSync(installLog, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
    throw new Error(`npm install code-server@${codeServerVersion} failed (exit ${result.status ?? result.signal}); the end of ${path.relative(repoRoot, installLog)}:\n${tail}`);
  }
  // Its own XDG folders: code-server writes a default config and logs there even for --version.
  const xdg = path.join(scratch, 'xdg');
  const version = execFileSync(codeServerBin, ['--version'], { env: { ...env, XDG_CONFIG_HOME: xdg, XDG_DATA_HOME: xdg, XDG_CACHE_HOME: xdg }, encoding: 'utf8' }).trim().split('\n').pop() ?? '';
  if (!version.startsWith(codeServerVersion)) throw new Error(`expected code-server ${codeServerVersion}, got: ${version}`);
  writeFileSync(markerFile, `${codeServerVersion}\n`);
  rmSync(scratch, { recursive: true, force: true });
  log(`code-server ${version.split(/\s+/)[0]} installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * code-server pins @vscode/ripgrep 1.15.11, whose postinstall downloads `rg` from GitHub unless the release tarball is
 * already in its cache (`<tmpdir>/vscode-ripgrep-cache-1.15.11`). The npm registry ships the same static binary in
 * @vscode/ripgrep-linux-x64, so the cache is seeded from there.
 */
function seedRipgrepCache(tmpdir: string, log: (line: string) => void): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    log('ripgrep cache not seeded (only linux-x64 is known); its postinstall will try to download rg');
    return;
  }
  const cache = path.join(tmpdir, 'vscode-ripgrep-cache-1.15.11');
  const tarball = path.join(cache, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
  if (existsSync(tarball)) return;
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(path.join(tmpdir, 'rg-'));
  try {
    const packed = execFileSync('npm', ['pack', '--silent', '@vscode/ripgrep-linux-x64@1.18.0', '--pack-destination', work],
      { cwd: work, encoding: 'utf8', env: { ...process.env, TMPDIR: tmpdir } }).trim().split('\n').pop() ?? '';
    execFileSync('tar', ['xzf', path.join(work, packed), '-C', work]);
    copyFileSync(path.join(work, 'package', 'bin', 'rg'), path.join(work, 'rg'));
    execFileSync('tar', ['czf', tarball, '-C', work, 'rg']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
