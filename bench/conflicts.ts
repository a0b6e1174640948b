// Conflict radar benchmark: a repository of 20,000 files, a session with 4 lane worktrees each holding a few changes
// (committed, uncommitted and untracked; lanes A and B edit the same line), and the user's branch one commit ahead.
// One refresh is what `ocr conflicts` does: find the session's lanes, snapshot each worktree, merge every lane pair and
// every lane with the user's branch. Prints p50/p95 over the refreshes as a markdown table; target under 1 s.
// Run with `npm run bench:conflicts` (BENCH_FILES, BENCH_REFRESHES change the size and the repeats). Needs no database.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareLaneWorkspace } from '../worker/engine/worktree';
import { laneConflicts, sessionLaneWorktrees } from '../worker/lanes/conflicts';
import { percentile } from './peers/stats';

const FILES = Number(process.env.BENCH_FILES ?? 20_000);
const REFRESHES = Number(process.env.BENCH_REFRESHES ?? 10);
const LANES = ['A', 'B', 'C', 'D'];
const TARGET_MS = 1000;
const PER_FOLDER = 100;

const identity = { GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };
const gitIn = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...identity }, maxBuffer: 256 * 1024 * 1024 });

const fileName = (i: number) => path.join('src', `m${String(Math.floor(i / PER_FOLDER)).padStart(3, '0')}`, `file${String(i % PER_FOLDER).padStart(3, '0')}.ts`);
const fileText = (i: number, line5 = `export const value${i} = ${i};`) =>
  [`// module ${i}`, `import { helper } from '../helper';`, '', `export function f${i}(x: number): number {`, line5, '  return helper(x) + 1;', '}', ''].join('\n');

function makeRepository(repo: string): string {
  gitIn(repo, 'init', '-q', '-b', 'main');
  for (let i = 0; i < FILES; i++) {
    const file = path.join(repo, fileName(i));
    if (i % PER_FOLDER === 0) mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, fileText(i));
  }
  writeFileSync(path.join(repo, '.gitignore'), 'node_modules/\n');
  gitIn(repo, 'add', '-A');
  gitIn(repo, 'commit', '-q', '-m', 'initial');
  return gitIn(repo, 'rev-parse', 'HEAD').trim();
}

const edit = (folder: string, i: number, line5: string) => writeFileSync(path.join(folder, fileName(i)), fileText(i, line5));
const commit = (folder: string, message: string) => {
  gitIn(folder, 'add', '-A');
  gitIn(folder, 'commit', '-q', '-m', message);
};

async function main(): Promise<void> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-bench-conflicts-'));
  try {
    const repo = path.join(scratch, 'repo');
    mkdirSync(repo);
    let t = performance.now();
    const base = makeRepository(repo);
    const made = (performance.now() - t) / 1000;
    const session = { id: randomUUID(), base_ref: base, repo_url: null };
    const folders: Record<string, string> = {};
    t = performance.now();
    for (const lane of LANES) folders[lane] = (await prepareLaneWorkspace({ root: path.join(scratch, 'worktrees'), session, lane, repoPath: repo })).folder;
    const lanesMade = (performance.now() - t) / 1000;

    // A: the shared line committed, two more files uncommitted
    edit(folders.A!, 0, '  const shared = "A";');
    commit(folders.A!, 'A');
    edit(folders.A!, 101, '  const a = 1;');
    edit(folders.A!, 202, '  const a = 2;');
    // B: the same line uncommitted, one committed file, one untracked file
    edit(folders.B!, 303, '  const b = 1;');
    commit(folders.B!, 'B');
    edit(folders.B!, 0, '  const shared = "B";');
    writeFileSync(path.join(folders.B!, 'src', 'new-in-b.ts'), 'export const b = true;\n');
    // C: three uncommitted edits elsewhere
    for (const i of [4_004, 5_005, 6_006]) edit(folders.C!, i, '  const c = 1;');
    // D: two committed edits and a deleted file
    edit(folders.D!, 7_007, '  const d = 1;');
    edit(folders.D!, 8_008, '  const d = 2;');
    commit(folders.D!, 'D');
    rmSync(path.join(folders.D!, fileName(9_009)));
    // the user's branch moved on, elsewhere
    edit(repo, 10_010 % FILES, '  const user = 1;');
    commit(repo, 'user');

    const refresh = async () => {
      const start = performance.now();
      const worktrees = await sessionLaneWorktrees(repo, session.id);
      const radar = await laneConflicts({ repoPath: repo, worktrees });
      return { ms: performance.now() - start, radar };
    };
    const first = await refresh();
    const samples: number[] = [];
    for (let i = 0; i < REFRESHES; i++) samples.push((await refresh()).ms);
    const p50 = percentile(samples, 50)!;
    const p95 = percentile(samples, 95)!;
    const found = first.radar.conflicts.map((c) => `${c.a}×${c.b}: ${c.files.join(', ')}`).join('; ') || 'none';

    console.log(`# Conflict radar benchmark — ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ${gitIn(repo, 'version').trim()}, Node ${process.version}\n`);
    console.log(`${FILES.toLocaleString('en')} files (made in ${made.toFixed(1)} s), ${LANES.length} lane worktrees (made in ${lanesMade.toFixed(1)} s), ` +
      `${first.radar.checked} merges per refresh (every lane pair, every lane with the user's branch); conflicts found: ${found}.\n`);
    console.log('| refresh | samples | p50 ms | p95 ms | max ms | under 1 s |');
    console.log('|---|---:|---:|---:|---:|:---:|');
    console.log(`| first (cold) | 1 | ${first.ms.toFixed(0)} | ${first.ms.toFixed(0)} | ${first.ms.toFixed(0)} | ${first.ms < TARGET_MS ? 'yes' : '**no**'} |`);
    console.log(`| next ${REFRESHES} | ${samples.length} | ${p50.toFixed(0)} | ${p95.toFixed(0)} | ${Math.max(...samples).toFixed(0)} | ${p95 < TARGET_MS ? 'yes' : '**no**'} |`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
