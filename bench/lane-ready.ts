// Lane ready time: from no worktree to a lane whose `require()` works, on a repository whose node_modules holds
// 30,000 files, with worktrees.linkDirs in each link mode this machine offers, against `git worktree add` followed by
// installing again. Offline, installing again is stood in for by a plain `cp -a` of node_modules (what `npm ci` ends
// with, without its download, unpacking and lifecycle scripts: a lower bound for `npm ci`). With BENCH_NPM_CI=1 it also
// installs a real small project (express, from its lockfile) with `npm ci` from the npm registry, cold and warm cache.
// Prints a markdown table. Target: linkDirs ≥ 10× faster than installing again.
// Run with `npm run bench:lane-ready` (BENCH_PACKAGES, BENCH_FILES_PER_PACKAGE, BENCH_REPEATS change the size).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type LinkMode } from '../worker/engine/link-dirs';
import { cleanSessionWorktrees, prepareLaneWorkspace } from '../worker/engine/worktree';

const PACKAGES = Number(process.env.BENCH_PACKAGES ?? 1500);
const FILES_PER_PACKAGE = Number(process.env.BENCH_FILES_PER_PACKAGE ?? 20);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const TARGET = 10;

const identity = { GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };
const run = (cwd: string, program: string, args: string[], env: NodeJS.ProcessEnv = {}): string =>
  execFileSync(program, args, { cwd, encoding: 'utf8', env: { ...process.env, ...identity, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

/** A repository of 200 tracked source files, its node_modules ignored and filled with small generated packages. */
function makeRepository(root: string): { repo: string; files: number } {
  const repo = path.join(root, 'app');
  mkdirSync(path.join(repo, 'src'), { recursive: true });
  for (let i = 0; i < 200; i++) writeFileSync(path.join(repo, 'src', `module-${i}.js`), `module.exports = ${i};\n`);
  writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n');
  writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'app', private: true }, null, 2));
  run(repo, 'git', ['init', '-q', '-b', 'main']);
  run(repo, 'git', ['add', '-A']);
  run(repo, 'git', ['commit', '-q', '-m', 'app']);
  let files = 0;
  const body = `'use strict';\n// generated\n${'exports.value = function value(a, b) { return a + b; };\n'.repeat(8)}`;
  for (let p = 0; p < PACKAGES; p++) {
    const pkg = path.join(repo, 'node_modules', `pkg-${p}`);
    mkdirSync(path.join(pkg, 'lib'), { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: `pkg-${p}`, version: '1.0.0', main: 'index.js' }));
    writeFileSync(path.join(pkg, 'index.js'), `module.exports = require('./lib/f0.js');\n`);
    files += 2;
    for (let f = 0; f < FILES_PER_PACKAGE - 2; f++, files++) writeFileSync(path.join(pkg, 'lib', `f${f}.js`), body);
  }
  return { repo, files };
}

interface Row {
  way: string;
  times: number[];
  note?: string;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number): string => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);

/** One lane made from nothing, `ready` included in the time; checked to work afterwards, then removed (not timed). */
async function laneReady(
  repo: string,
  root: string,
  linkDirs: string[],
  mode: LinkMode,
  afterCreate: (folder: string) => void,
  check: string | undefined,
): Promise<number> {
  const session = { id: randomUUID(), base_ref: null, repo_url: null, repo_path: repo };
  const started = performance.now();
  const lane = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo, linkDirs, linkMode: mode, copyFiles: [] });
  afterCreate(lane.folder);
  const ms = performance.now() - started;
  if (check) run(lane.folder, process.execPath, ['-e', `require(${JSON.stringify(check)})`]);
  await cleanSessionWorktrees(session, { worktreeRoot: root });
  return ms;
}

async function measure(repo: string, root: string, check: string, reinstall: { way: string; install?: (folder: string) => void }[]): Promise<Row[]> {
  const rows: Row[] = [];
  const timed = async (way: string, linkDirs: string[], mode: LinkMode, after?: (folder: string) => void, repeats = REPEATS): Promise<void> => {
    const times: number[] = [];
    // A lane with nothing installed is a floor to compare with, not ready: it has nothing to require.
    for (let i = 0; i < repeats; i++) times.push(await laneReady(repo, root, linkDirs, mode, after ?? (() => undefined), after === undefined && linkDirs.length === 0 ? undefined : check));
    rows.push({ way, times });
  };
  // Warm-up: git's and the filesystem's caches hold the repository for every way alike.
  await laneReady(repo, root, ['node_modules'], 'hardlink', () => undefined, check);
  for (const r of reinstall) await timed(r.way, [], 'auto', r.install, r.way.includes('cold') ? 1 : REPEATS);
  for (const mode of ['auto', 'clone', 'hardlink', 'symlink'] as const) {
    try {
      await timed(`linkDirs, mode ${mode}`, ['node_modules'], mode);
    } catch (e) {
      const why = mode === 'clone' ? 'this filesystem makes no copy-on-write clones' : (e as Error).message.slice(0, 160);
      rows.push({ way: `linkDirs, mode ${mode}`, times: [], note: `not available here: ${why}` });
    }
  }
  const auto = await linkedBy(repo, root);
  const autoRow = rows.find((r) => r.way === 'linkDirs, mode auto');
  if (autoRow) autoRow.note = `made ${auto}`;
  return rows;
}

/** What auto chose on this machine, from the lane's own log line. */
async function linkedBy(repo: string, root: string): Promise<string> {
  const session = { id: randomUUID(), base_ref: null, repo_url: null, repo_path: repo };
  const notes: string[] = [];
  await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo, linkDirs: ['node_modules'], copyFiles: [], note: (t) => notes.push(t) });
  await cleanSessionWorktrees(session, { worktreeRoot: root });
  const line = notes.find((n) => n.startsWith('linked node_modules')) ?? '';
  return /as an? ([a-z-]+ [a-z-]+)/.exec(line)?.[1] ?? 'unknown';
}

function table(title: string, rows: Row[]): string {
  const reinstall = rows.filter((r) => r.way.startsWith('git worktree add +') && r.times.length > 0);
  const baseline = reinstall.length > 0 ? Math.min(...reinstall.map((r) => median(r.times))) : undefined;
  const lines = [`### ${title}`, '', '| way to a ready lane | median | min | max | faster than installing again | note |', '|---|---:|---:|---:|---:|---|'];
  for (const r of rows) {
    if (r.times.length === 0) {
      lines.push(`| ${r.way} | – | – | – | – | ${r.note ?? ''} |`);
      continue;
    }
    const m = median(r.times);
    const speedup = baseline && r.way.startsWith('linkDirs') ? `${(baseline / m).toFixed(1)}×${baseline / m >= TARGET ? '' : ` (target ${TARGET}×)`}` : '';
    lines.push(`| ${r.way} | ${fmt(m)} | ${fmt(Math.min(...r.times))} | ${fmt(Math.max(...r.times))} | ${speedup} | ${r.note ?? (r.times.length === 1 ? 'one try' : '')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'ocr-bench-lane-'));
  try {
    const generatedAt = performance.now();
    const { repo, files } = makeRepository(root);
    process.stderr.write(`generated ${files} files of node_modules in ${fmt(performance.now() - generatedAt)}\n`);
    const worktrees = path.join(root, 'worktrees');
    let fs = 'unknown';
    try {
      fs = run(root, 'df', ['--output=fstype', root]).split('\n')[1]?.trim() || fs;
    } catch {
      // not GNU df: the table says unknown
    }
    const rows = await measure(repo, worktrees, 'pkg-0', [
      { way: 'git worktree add + cp -a node_modules (offline stand-in for npm ci)', install: (folder) => run(repo, 'cp', ['-a', '--', path.join(repo, 'node_modules'), path.join(folder, 'node_modules')]) },
      { way: 'git worktree add alone (nothing installed: not ready)' },
    ]);
    // "alone" is a floor for reference, not a way to be ready: it has no speed-up column.
    const floor = rows.find((r) => r.way.startsWith('git worktree add alone'));
    if (floor) floor.way = floor.way.replace('git worktree add alone', 'floor: git worktree add alone');
    const out = [
      `Lane ready time, ${os.cpus().length} cores, ${fs} filesystem, Node ${process.versions.node}, ${REPEATS} tries each`,
      '',
      table(`${files.toLocaleString('en')} files in node_modules (${PACKAGES} generated packages)`, rows),
    ];
    if (process.env.BENCH_NPM_CI === '1') {
      const { rows: npmRows, files: npmFiles } = await npmProject(root);
      out.push('', table(`a real project from the npm registry: express 4 from its lockfile (${npmFiles.toLocaleString('en')} files in node_modules)`, npmRows));
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** express from its lockfile: `npm ci` in the lane (cold cache, warm cache) against linkDirs of the checkout's copy. */
async function npmProject(root: string): Promise<{ rows: Row[]; files: number }> {
  const repo = path.join(root, 'express-app');
  mkdirSync(repo);
  writeFileSync(path.join(repo, 'package.json'), JSON.stringify({ name: 'express-app', private: true, dependencies: { express: '4.21.2' } }, null, 2));
  writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n');
  const cache = path.join(root, 'npm-cache');
  const npm = (cwd: string, args: string[], cacheDir = cache) => run(cwd, 'npm', [...args, '--cache', cacheDir, '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error']);
  npm(repo, ['install', '--package-lock-only']);
  run(repo, 'git', ['init', '-q', '-b', 'main']);
  run(repo, 'git', ['add', '-A']);
  run(repo, 'git', ['commit', '-q', '-m', 'express app']);
  npm(repo, ['ci']);
  const worktrees = path.join(root, 'express-worktrees');
  let cold = 0;
  const files = Number(run(repo, 'sh', ['-c', 'find node_modules -type f | wc -l']).trim());
  const rows = await measure(repo, worktrees, 'express', [
    { way: 'git worktree add + npm ci, cold cache (one try)', install: (folder) => npm(folder, ['ci'], path.join(root, `cold-cache-${cold++}`)) },
    { way: 'git worktree add + npm ci, warm cache', install: (folder) => npm(folder, ['ci']) },
  ]);
  return { rows, files };
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
