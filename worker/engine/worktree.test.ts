import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureDiff, formatStat, patchText } from './diff';
import { makeRepo, sh, tempDir } from './git.test-support';
import { describeRepo } from './repo';
import { cleanSessionWorktrees, laneBranch, prepareLaneWorkspace } from './worktree';

const dir = tempDir();
afterAll(() => dir.remove());

function setup(name: string) {
  const repo = path.join(dir.path, name);
  sh(dir.path, `mkdir -p ${name}`);
  const base = makeRepo(repo, {
    'edit.txt': 'one\ntwo\n',
    'gone.txt': 'bye\n',
    'keep.bin': Buffer.from([0, 1, 2, 3, 255]),
    '.gitignore': '.env\n',
  });
  writeFileSync(path.join(repo, '.env'), 'SECRET=1\n');
  writeFileSync(path.join(repo, '.env.local'), 'LOCAL_SECRET=1\n'); // not ignored: still never part of a diff
  const session = { id: randomUUID(), base_ref: base, repo_url: null, repo_path: repo };
  return { repo, base, session, root: path.join(dir.path, `${name}-worktrees`) };
}

describe('lane worktrees and diffs', () => {
  it('describes a repository by its root commit', async () => {
    const { repo, base } = setup('describe');
    sh(repo, 'echo more > more.txt && git add more.txt && git commit -q -m second');
    const d = await describeRepo(path.join(repo));
    expect(d.repoId).toBe(base);
    expect(d.repoPath).toBe(repo);
    expect(d.baseRef).not.toBe(base);
    expect(d.repoUrl).toBeNull();
    await expect(describeRepo(dir.path)).rejects.toMatchObject({ code: 'repo_unavailable' });
  });

  it("uses the lane's worktree another worker of the machine made under another root", async () => {
    const { repo, session, root } = setup('two-roots');
    const first = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo });
    const notes: string[] = [];
    const other = await prepareLaneWorkspace({ root: `${root}-other`, session, lane: 'A', repoPath: repo, note: (t) => notes.push(t) });
    expect(other).toMatchObject({ folder: first.folder, created: false });
    expect(notes).toEqual([`using the lane's worktree ${first.folder}`]);
    expect(existsSync(`${root}-other`)).toBe(false);
  });

  it('creates one worktree per lane on its branch, copies .env, runs setup once, and reuses it', async () => {
    const { repo, session, root } = setup('lanes');
    const userStatus = sh(repo, 'git status --porcelain');
    const first = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo, hasSetupCommand: true });
    expect(first.created).toBe(true);
    expect(first.needsSetup).toBe(true);
    expect(first.folder.startsWith(root)).toBe(true);
    expect(sh(first.folder, 'git branch --show-current').trim()).toBe(laneBranch(session.id, 'A'));
    expect(readFileSync(path.join(first.folder, '.env'), 'utf8')).toBe('SECRET=1\n');
    expect(first.git?.copied).toEqual(['.env', '.env.local']);
    await first.markSetupDone();
    const again = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo, hasSetupCommand: true });
    expect(again).toMatchObject({ folder: first.folder, created: false, needsSetup: false });
    const [b, c] = await Promise.all(
      ['B', 'C'].map((lane) => prepareLaneWorkspace({ root, session, lane, repoPath: repo })),
    );
    expect(new Set([first.folder, b!.folder, c!.folder]).size).toBe(3);
    // The user's tree is left as it was.
    expect(sh(repo, 'git status --porcelain')).toBe(userStatus);
  });

  it('records edited, new, deleted and binary files in a patch git apply accepts, leaving every index alone', async () => {
    const { repo, base, session, root } = setup('diff');
    const lane = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo });
    const wt = lane.folder;
    writeFileSync(path.join(wt, 'edit.txt'), 'one\nTWO\nthree\n');
    writeFileSync(path.join(wt, 'new.txt'), 'fresh\n');
    rmSync(path.join(wt, 'gone.txt'));
    writeFileSync(path.join(wt, 'keep.bin'), Buffer.from([0, 9, 9, 255]));
    writeFileSync(path.join(wt, 'staged.txt'), 'staged by an agent\n');
    sh(wt, 'git add staged.txt');
    const userIndex = statSync(path.join(repo, '.git', 'index')).mtimeMs;
    const laneIndexBefore = sh(wt, 'git diff --cached --name-only');

    const diff = await captureDiff(wt, base, { exclude: lane.git!.copied });
    expect(diff.summary.entries).toEqual([
      { path: 'edit.txt', status: 'modified', insertions: 2, deletions: 1, binary: false },
      { path: 'gone.txt', status: 'deleted', insertions: 0, deletions: 1, binary: false },
      { path: 'keep.bin', status: 'modified', insertions: 0, deletions: 0, binary: true },
      { path: 'new.txt', status: 'added', insertions: 1, deletions: 0, binary: false },
      { path: 'staged.txt', status: 'added', insertions: 1, deletions: 0, binary: false },
    ]);
    expect(diff.summary).toMatchObject({ files: 5, insertions: 4, deletions: 2, binaryFiles: 1, encoding: 'utf8' });
    expect(diff.content).not.toContain('SECRET');
    expect(existsSync(path.join(wt, '.env.local'))).toBe(true);
    expect(statSync(path.join(repo, '.git', 'index')).mtimeMs).toBe(userIndex);
    expect(sh(wt, 'git diff --cached --name-only')).toBe(laneIndexBefore);

    const check = path.join(dir.path, 'apply-check');
    sh(dir.path, `git clone -q ${repo} ${check} && git -C ${check} checkout -q ${base}`);
    writeFileSync(path.join(dir.path, 'lane.patch'), patchText(diff.content, diff.summary));
    sh(check, `git apply --index ${path.join(dir.path, 'lane.patch')}`);
    expect(readFileSync(path.join(check, 'edit.txt'), 'utf8')).toBe('one\nTWO\nthree\n');
    expect(existsSync(path.join(check, 'gone.txt'))).toBe(false);
    expect([...readFileSync(path.join(check, 'keep.bin'))]).toEqual([0, 9, 9, 255]);

    expect(formatStat(diff.summary)).toContain('5 files changed, 4 insertions(+), 2 deletions(-)');
    expect(formatStat(diff.summary)).toMatch(/keep\.bin\s+\| Bin/);
  });

  it('an archived session with --clean loses its worktrees and branches, or keeps the branches when asked', async () => {
    const { repo, session, root } = setup('clean');
    for (const lane of ['A', 'B']) await prepareLaneWorkspace({ root, session, lane, repoPath: repo });
    const kept = await cleanSessionWorktrees(session, { worktreeRoot: root, keepBranches: true });
    expect(kept.removedWorktrees).toHaveLength(2);
    expect(kept.deletedBranches).toEqual([]);
    expect(sh(repo, 'git branch --list "ocr/*"').trim().split('\n')).toHaveLength(2);
    // The lane comes back on its kept branch.
    const back = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo });
    expect(back.created).toBe(true);
    const gone = await cleanSessionWorktrees(session, { worktreeRoot: root });
    expect(gone.deletedBranches.sort()).toEqual([laneBranch(session.id, 'A'), laneBranch(session.id, 'B')]);
    expect(sh(repo, 'git worktree list').trim().split('\n')).toHaveLength(1);
    expect(existsSync(back.folder)).toBe(false);
  });

  it('a session without a repository gets a scratch folder', async () => {
    const root = path.join(dir.path, 'scratch-root');
    const ws = await prepareLaneWorkspace({ root, session: { id: randomUUID(), base_ref: null, repo_url: null }, lane: 'A' });
    expect(ws.git).toBeUndefined();
    expect(statSync(ws.folder).isDirectory()).toBe(true);
  });

  it('fetches a base commit the clone does not have yet', async () => {
    const { repo, session, root } = setup('fetch-origin');
    const clone = path.join(dir.path, 'fetch-clone');
    sh(dir.path, `git clone -q ${repo} ${clone}`);
    sh(repo, 'echo later > later.txt && git add later.txt && git commit -q -m later');
    const later = sh(repo, 'git rev-parse HEAD').trim();
    const notes: string[] = [];
    const ws = await prepareLaneWorkspace({ root, session: { ...session, base_ref: later }, lane: 'A', repoPath: clone, note: (t) => notes.push(t) });
    expect(readFileSync(path.join(ws.folder, 'later.txt'), 'utf8')).toBe('later\n');
    expect(notes.join('\n')).toContain('fetching');
  });
});
