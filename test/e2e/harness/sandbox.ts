// A sandbox is the set of fresh folders one VS Code run owns: user data, extensions, XDG folders and TMPDIR. Pointing
// code-server and Chromium at it keeps `~` and `/tmp` clean; disposing it kills what ran in it and deletes it all,
// even when the test process is interrupted.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedDatabase } from '../../../worker/store/embedded';
import { extensionDir } from './paths';

export interface Sandbox {
  readonly root: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly workspaceDir: string;
  /** Environment for every process started in the sandbox. */
  readonly env: NodeJS.ProcessEnv;
  /** Kills the whole process group when the sandbox is disposed or the test process exits. */
  adoptProcessGroup(pid: number): void;
  dispose(): Promise<void>;
}

/** Settings for a quiet, offline-friendly workbench that starts straight into the workspace. */
export const testUserSettings = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.openRepositoryInParentFolders': 'never',
  'chat.commandCenter.enabled': false,
  // the extension's first-run walkthrough would take the editor area of every fresh profile: neither the extension
  // nor VS Code (which opens a newly installed extension's walkthrough at a later start, after a reload say) opens it
  'ocr.walkthrough.openOnFirstRun': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
};

const live = new Set<SandboxImpl>();
let exitHooksInstalled = false;

export interface SandboxOptions {
  /** User settings written into a new profile. */
  settings?: Record<string, unknown>;
  /** A folder to keep (profile, extensions, workspace) instead of a fresh temporary one; only TMPDIR is discarded. */
  keepIn?: string;
}

export function createSandbox(name: string, options: SandboxOptions = {}): Sandbox {
  installExitHooks();
  const tmp = mkdtempSync(path.join(os.tmpdir(), `ocr-${name}-`));
  const sandbox = new SandboxImpl(options.keepIn ?? tmp, tmp, options.settings ?? testUserSettings);
  live.add(sandbox);
  return sandbox;
}

class SandboxImpl implements Sandbox {
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly workspaceDir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly groups = new Set<number>();

  constructor(readonly root: string, private readonly tmpRoot: string, settings: Record<string, unknown>) {
    // Short folder names: VS Code puts unix sockets in TMPDIR, and socket paths are limited to about 100 bytes.
    const dir = (parent: string, name: string) => {
      const p = path.join(parent, name);
      mkdirSync(p, { recursive: true });
      return p;
    };
    this.userDataDir = dir(root, 'u');
    this.extensionsDir = dir(root, 'e');
    this.workspaceDir = dir(root, 'w');
    const tmp = dir(tmpRoot, 't');
    chmodSync(tmp, 0o700); // also serves as XDG_RUNTIME_DIR, which must be private
    const settingsFile = path.join(dir(this.userDataDir, 'User'), 'settings.json');
    if (!existsSync(settingsFile)) writeFileSync(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      XDG_CONFIG_HOME: dir(root, 'x/config'),
      XDG_DATA_HOME: dir(root, 'x/data'),
      XDG_CACHE_HOME: dir(root, 'x/cache'),
      XDG_STATE_HOME: dir(root, 'x/state'),
      XDG_RUNTIME_DIR: tmp,
      TMPDIR: tmp,
    };
    // Options meant for this Node process (a loader, a debugger) must not leak into code-server and its extension host.
    delete env.NODE_OPTIONS;
    this.env = env;
  }

  adoptProcessGroup(pid: number): void {
    this.groups.add(pid);
  }

  async dispose(): Promise<void> {
    for (const pid of this.groups) await killProcessGroup(pid);
    this.groups.clear();
    // The extension's embedded PostgreSQL runs in a session of its own (it outlives the editor by design), so a
    // fresh sandbox stops the one it may have started in its data folder.
    if (this.root === this.tmpRoot) {
      const folder = path.join(this.env.XDG_DATA_HOME ?? path.join(this.root, 'x/data'), 'ops-control-room', 'db');
      if (existsSync(folder)) await new EmbeddedDatabase(folder).stop().catch(() => undefined);
    }
    // A fresh sandbox lives inside its temporary folder; a kept one loses only that.
    rmSync(this.tmpRoot, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    live.delete(this);
  }

  disposeNow(): void {
    for (const pid of this.groups) signalGroup(pid, 'SIGKILL');
    stopEmbeddedNow(path.join(this.env.XDG_DATA_HOME ?? path.join(this.root, 'x/data'), 'ops-control-room', 'db'));
    rmSync(this.tmpRoot, { recursive: true, force: true });
  }
}

/** On the way out there is no time to wait for pg_ctl: ask the postmaster for a fast shutdown and go. */
function stopEmbeddedNow(folder: string): void {
  try {
    const pid = Number(readFileSync(path.join(folder, 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) process.kill(pid, 'SIGINT');
  } catch {
    // no server there
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone
  }
}

/** TERM, a grace period for VS Code to flush its state, then KILL; resolves once no process of the group is left. */
export async function killProcessGroup(pid: number, graceMs = 3000): Promise<void> {
  if (!signalGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await sleep(100);
    if (!signalGroup(pid, 0)) return;
  }
  signalGroup(pid, 'SIGKILL');
  for (let i = 0; i < 50 && signalGroup(pid, 0); i++) await sleep(100);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const sandbox of live) sandbox.disposeNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const sandbox of live) sandbox.disposeNow();
      live.clear();
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
  }
}

/** Links the repository into the extensions folder under the name VS Code gives an installed extension. */
export function installExtension(extensionsDir: string): void {
  const { publisher, name, version } = JSON.parse(readFileSync(path.join(extensionDir, 'package.json'), 'utf8')) as Record<string, string>;
  symlinkSync(extensionDir, path.join(extensionsDir, `${publisher}.${name}-${version}`), 'dir');
}

/** A small git repository to open as the workspace, like the one a user would bring. */
export function createSampleWorkspace(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'README.md'), '# Sample project\n\nA small repository to try Ops Control Room on.\n');
  writeFileSync(path.join(dir, 'hello.sh'), '#!/bin/sh\necho "hello from the sample project"\n');
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, env, stdio: 'ignore' });
  // Its own repository, even inside another one (the project's .tools folder).
  if (!existsSync(path.join(dir, '.git'))) {
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('-c', 'user.name=OCR', '-c', 'user.email=ocr@example.invalid', 'commit', '-q', '-m', 'Sample project');
  }
  return dir;
}
