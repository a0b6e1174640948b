import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo, sh, tempDir } from '../engine/git.test-support';
import { laneBranch, prepareLaneWorkspace } from '../engine/worktree';
import { laneConflicts, sessionLaneWorktrees } from './conflicts';

const dir = tempDir('ocr-conflicts-');
afterAll(() => dir.remove());

/** A repository with lane worktrees made the way the worker makes them. */
async function setup(name: string, lanes: string[]) {
  const repo = path.join(dir.path, name);
  sh(dir.path, `mkdir -p ${name}`);
  const base = makeRepo(repo, {
    'shared.txt': 'one\ntwo\nthree\n',
    'a.txt': 'a\n',
    'b.txt': 'b\n',
    '.gitignore': '.env\n',
  });
  writeFileSync(path.join(repo, '.env.local'), 'FIRST=1\n'); // copied into each lane, not ignored
  const session = { id: randomUUID(), base_ref: base, repo_url: null, repo_path: repo };
  const root = path.join(dir.path, `${name}-worktrees`);
  const folders: Record<string, string> = {};
  for (const lane of lanes) folders[lane] = (await prepareLaneWorkspace({ root, session, lane, repoPath: repo })).folder;
  const worktrees = lanes.map((lane) => ({ lane, branch: laneBranch(session.id, lane), folder: folders[lane]! }));
  return { repo, session, folders, worktrees };
}

const commitAll = (folder: string, message: string) => sh(folder, `git add -A && git commit -q -m '${message}'`);

/** What a person could see change: each checkout's status (branch, HEAD, files), every ref, and each index file. */
function snapshot(repo: string, folders: string[]) {
  const indexes = [repo, ...folders].map((f) => readFileSync(sh(f, 'git rev-parse --path-format=absolute --git-path index').trim()).toString('base64'));
  return {
    status: [repo, ...folders].map((f) => sh(f, 'git status --porcelain=v2 --branch --untracked-files=all')),
    refs: sh(repo, 'git for-each-ref --format="%(refname) %(objectname)"'),
    worktrees: sh(repo, 'git worktree list --porcelain'),
    stashes: sh(repo, 'git stash list'),
    indexes,
  };
}

describe('conflict radar', () => {
  it('flags two lanes that edit the same line, one committed and one not, with that file; lanes editing other files are not flagged', async () => {
    const { repo, worktrees, folders } = await setup('same-line', ['A', 'B', 'C']);
    writeFileSync(path.join(folders.A!, 'shared.txt'), 'one\nTWO from A\nthree\n');
    commitAll(folders.A!, 'A edits line two');
    writeFileSync(path.join(folders.B!, 'shared.txt'), 'one\ntwo from B\nthree\n'); // uncommitted
    writeFileSync(path.join(folders.C!, 'a.txt'), 'a, changed by C\n'); // a different file, uncommitted
    writeFileSync(path.join(folders.C!, 'new-in-C.txt'), 'untracked\n');

    // git status may rewrite an index whose files changed in the second it was written (git's racy-clean check):
    // let that second pass and that refresh happen before the before-picture
    await new Promise((r) => setTimeout(r, 1100));
    snapshot(repo, Object.values(folders));
    const before = snapshot(repo, Object.values(folders));
    const radar = await laneConflicts({ repoPath: repo, worktrees });
    const after = snapshot(repo, Object.values(folders));

    expect(radar.conflicts).toEqual([{ a: 'A', b: 'B', against: 'lane', files: ['shared.txt'] }]);
    expect(radar.checked).toBe(3 + 3); // three lane pairs, three lanes against the user's branch
    expect(radar.userBranch.name).toBe('main');
    expect(radar.lanes.map((l) => [l.lane, l.uncommitted])).toEqual([['A', false], ['B', true], ['C', true]]);
    // nothing a person sees has changed: files, indexes, HEADs, refs, worktrees, stashes
    expect(after).toEqual(before);
    expect(readFileSync(path.join(folders.B!, 'shared.txt'), 'utf8')).toBe('one\ntwo from B\nthree\n');
  });

  it("flags a lane against the user's branch when the user changed the same line since, and names the branch", async () => {
    const { repo, worktrees, folders } = await setup('user-branch', ['A', 'B']);
    writeFileSync(path.join(folders.A!, 'b.txt'), 'b from lane A\n');
    writeFileSync(path.join(folders.B!, 'a.txt'), 'a from lane B\n');
    writeFileSync(path.join(repo, 'b.txt'), 'b from the user\n');
    commitAll(repo, 'user edits b');

    const radar = await laneConflicts({ repoPath: repo, worktrees });
    expect(radar.conflicts).toEqual([{ a: 'A', b: 'main', against: 'user-branch', files: ['b.txt'] }]);

    // another branch of the user's, named: the lanes merge cleanly with the base
    sh(repo, 'git branch untouched HEAD~1');
    expect((await laneConflicts({ repoPath: repo, worktrees, userBranch: 'untouched' })).conflicts).toEqual([]);
  });

  it('does not count files copied in from the user (.env.local) as lane work, even when lanes got different copies', async () => {
    const { repo, session, worktrees } = await setup('copied', ['A']);
    writeFileSync(path.join(repo, '.env.local'), 'SECOND=2\n');
    const b = await prepareLaneWorkspace({ root: path.join(dir.path, 'copied-worktrees'), session, lane: 'B', repoPath: repo });
    expect(readFileSync(path.join(b.folder, '.env.local'), 'utf8')).toBe('SECOND=2\n');
    const radar = await laneConflicts({ repoPath: repo, worktrees: [...worktrees, { lane: 'B', branch: laneBranch(session.id, 'B'), folder: b.folder }] });
    expect(radar.conflicts).toEqual([]);
    expect(radar.lanes.every((l) => !l.uncommitted)).toBe(true);

    // once lanes commit their copies, they would land with them: then they count
    commitAll(worktrees[0]!.folder, 'A commits its .env.local');
    commitAll(b.folder, 'B commits its .env.local');
    const committed = await laneConflicts({ repoPath: repo, worktrees: [...worktrees, { lane: 'B', branch: laneBranch(session.id, 'B'), folder: b.folder }] });
    expect(committed.conflicts).toEqual([{ a: 'A', b: 'B', against: 'lane', files: ['.env.local'] }]);
  });

  it("finds a session's lanes: its worktrees wherever they are, and a lane branch whose worktree is gone", async () => {
    const { repo, session, folders } = await setup('discover', ['A', 'B']);
    writeFileSync(path.join(folders.B!, 'shared.txt'), 'one\nB was here\nthree\n');
    commitAll(folders.B!, 'B');
    sh(repo, `git worktree remove --force ${folders.B}`);
    // another session's lane in the same repository is not this session's
    const other = { ...session, id: randomUUID() };
    await prepareLaneWorkspace({ root: path.join(dir.path, 'discover-other'), session: other, lane: 'A', repoPath: repo });

    const found = await sessionLaneWorktrees(repo, session.id);
    expect(found).toEqual([
      { lane: 'A', branch: laneBranch(session.id, 'A'), folder: folders.A },
      { lane: 'B', branch: laneBranch(session.id, 'B') },
    ]);
    writeFileSync(path.join(folders.A!, 'shared.txt'), 'one\nA was here\nthree\n');
    const radar = await laneConflicts({ repoPath: repo, worktrees: found });
    expect(radar.conflicts).toEqual([{ a: 'A', b: 'B', against: 'lane', files: ['shared.txt'] }]);
  });

  it('refuses bad input naming what is wrong, before git runs', async () => {
    const { repo, folders } = await setup('bad-input', ['A']);
    await expect(laneConflicts({ repoPath: '', worktrees: [] })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/^repoPath: /) });
    await expect(laneConflicts({ repoPath: repo, worktrees: [{ lane: 'A', branch: '--output=x', folder: folders.A! }] })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('the branch of lane A "--output=x" starts with "-"'),
    });
    await expect(laneConflicts({ repoPath: repo, worktrees: [], userBranch: 'no-such-branch' })).rejects.toMatchObject({
      code: 'repo_unavailable',
      message: expect.stringContaining('"no-such-branch" is not a branch or commit'),
    });
    await expect(laneConflicts({ repoPath: repo, worktrees: [{ lane: 'Z', branch: 'ocr/none/Z' }] })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('lane Z: its branch ocr/none/Z is not in'),
    });
  });
});
