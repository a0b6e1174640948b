// Landing lanes in real git repositories, with lane worktrees made the way the worker makes them.
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo, sh, tempDir } from '../engine/git.test-support';
import { laneBranch, prepareLaneWorkspace } from '../engine/worktree';
import { archiveBranch, githubRepo, landLane, LandRefused, pickLane, planLand, resetLane } from './land';

const dir = tempDir('ocr-land-');
afterAll(() => dir.remove());

/** A repository with lane worktrees made as the worker makes them; .env.local is copied into each (and not ignored). */
async function setup(name: string, lanes: string[]) {
  const repo = path.join(dir.path, name);
  mkdirSync(repo, { recursive: true });
  const base = makeRepo(repo, {
    'shared.txt': 'one\ntwo\nthree\n',
    'a.txt': 'a\n',
    'b.txt': 'b\n',
    '.gitignore': 'node_modules/\n',
  });
  sh(repo, 'git config user.name "Pat Doe" && git config user.email pat@example.com');
  writeFileSync(path.join(repo, '.env.local'), 'SECRET=1\n');
  const session = { id: randomUUID(), base_ref: base, repo_url: null, repo_path: repo };
  const root = path.join(dir.path, `${name}-worktrees`);
  const folders: Record<string, string> = {};
  for (const lane of lanes) {
    const w = await prepareLaneWorkspace({ root, session, lane, repoPath: repo, hasSetupCommand: true });
    await w.markSetupDone();
    folders[lane] = w.folder;
  }
  return { repo, base, session, folders, root };
}

/** Commits everything but the copied-in .env.local (not ignored here), as a run that takes care would. */
const commitAll = (folder: string, message: string) => sh(folder, `git add -A -- . ':(exclude).env.local' && git commit -q -m '${message}'`);
const rev = (folder: string, ref: string) => sh(folder, `git rev-parse ${ref}`).trim();
const read = (folder: string, file: string) => readFileSync(path.join(folder, file), 'utf8');

/** Everything a person could see change: each checkout's status and files' index, every ref, the worktrees. */
function picture(repo: string, folders: string[]) {
  return {
    status: [repo, ...folders].map((f) => sh(f, 'git status --porcelain=v2 --branch --untracked-files=all')),
    refs: sh(repo, 'git for-each-ref --format="%(refname) %(objectname)"'),
    worktrees: sh(repo, 'git worktree list --porcelain'),
    indexes: [repo, ...folders].map((f) => readFileSync(sh(f, 'git rev-parse --path-format=absolute --git-path index').trim()).toString('base64')),
  };
}

/** The picture before and after `act`, which must be refused with `reason`; returns the refusal. */
async function refusedUnchanged(repo: string, folders: string[], act: () => Promise<unknown>, reason: string): Promise<LandRefused> {
  // git status may rewrite an index whose files changed in the second it was written (racy-clean): let that pass first
  await new Promise((r) => setTimeout(r, 1100));
  picture(repo, folders);
  const before = picture(repo, folders);
  const error = await act().then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(LandRefused);
  expect((error as LandRefused).reason).toBe(reason);
  expect(picture(repo, folders)).toEqual(before);
  return error as LandRefused;
}

describe('landLane: squash', () => {
  it("lands the lane's committed and uncommitted work as one commit with the message on the user's branch, leaving copied files out", async () => {
    const { repo, base, session, folders } = await setup('squash', ['A']);
    const lane = folders.A!;
    writeFileSync(path.join(lane, 'a.txt'), 'a from lane A\n');
    commitAll(lane, 'run 1 edits a');
    writeFileSync(path.join(lane, 'b.txt'), 'b, uncommitted\n');
    writeFileSync(path.join(lane, 'new.txt'), 'an untracked file of the lane\n');
    writeFileSync(path.join(lane, '.env.local'), 'SECRET=changed by the lane\n');
    mkdirSync(path.join(lane, 'node_modules'));
    writeFileSync(path.join(lane, 'node_modules', 'x.js'), 'ignored\n');
    // the user moved on meanwhile, elsewhere in the tree
    writeFileSync(path.join(repo, 'shared.txt'), 'one\ntwo\nthree\nfour\n');
    commitAll(repo, 'user adds four');
    const userHead = rev(repo, 'HEAD');

    const plan = await planLand({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash', message: 'Edit a and b' });
    expect(plan.files).toEqual([
      { path: 'a.txt', status: 'modified' },
      { path: 'b.txt', status: 'modified' },
      { path: 'new.txt', status: 'added' },
    ]);
    expect(plan.uncommitted).toEqual(['b.txt', 'new.txt']);
    expect(plan.userBranch).toEqual({ name: 'main', commit: userHead });

    const landed = await landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash', message: 'Edit a and b\n\nfrom lane A', confirmBranch: 'main' });
    expect(landed.mode).toBe('squash');
    if (landed.mode === 'pr') throw new Error('not a pr');
    expect(landed.before).toBe(userHead);
    expect(rev(repo, 'main')).toBe(landed.after);
    // one commit, on top of the user's, with the message and the user's identity
    expect(rev(repo, 'main~1')).toBe(userHead);
    expect(sh(repo, 'git log -1 --format=%B main')).toBe('Edit a and b\n\nfrom lane A\n\n');
    expect(sh(repo, 'git log -1 --format="%an <%ae>|%cn" main').trim()).toBe('Pat Doe <pat@example.com>|Pat Doe');
    expect(sh(repo, 'git diff --name-status main~1 main')).toBe('M\ta.txt\nM\tb.txt\nA\tnew.txt\n');
    // the user's working tree and index follow, clean; their own .env.local untouched
    expect(sh(repo, 'git status --porcelain --untracked-files=no')).toBe('');
    expect(read(repo, 'a.txt')).toBe('a from lane A\n');
    expect(read(repo, 'new.txt')).toBe('an untracked file of the lane\n');
    expect(read(repo, 'shared.txt')).toBe('one\ntwo\nthree\nfour\n');
    expect(read(repo, '.env.local')).toBe('SECRET=1\n');
    // the lane's uncommitted changes are a commit on its branch now, without the copied file or node_modules
    expect(rev(lane, 'HEAD')).toBe(landed.laneCommit);
    expect(rev(repo, laneBranch(session.id, 'A'))).toBe(landed.laneCommit);
    expect(sh(lane, 'git show --name-only --format= HEAD')).toBe('b.txt\nnew.txt\n');
    expect(sh(lane, 'git status --porcelain --untracked-files=all')).toBe('?? .env.local\n');
    expect(rev(lane, 'HEAD~2')).toBe(base);
  });

  it('sees a change made in the second its worktree index was written, with the same size (git racy-clean entries)', async () => {
    const { repo, session, folders } = await setup('racy', ['A']);
    const lane = folders.A!;
    const [, sec, nsec] = /mtime: (\d+):(\d+)/.exec(sh(lane, 'git ls-files --debug a.txt'))!;
    writeFileSync(path.join(lane, 'a.txt'), 'A\n'); // 'a\n' before: same size
    // The file and the index dated as the index entry, the change time not compared (it cannot be set): as if the
    // file had changed in the second the index was written. Only the index's own date tells git to look again.
    sh(repo, 'git config core.trustctime false');
    const index = sh(lane, 'git rev-parse --path-format=absolute --git-path index').trim();
    sh(lane, `touch -d @${sec}.${nsec!.padStart(9, '0')} a.txt '${index}'`);
    await new Promise((r) => setTimeout(r, 1100)); // a copy of the index made now is a second younger than the file
    const plan = await planLand({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash', message: 'm' });
    expect(plan.files).toEqual([{ path: 'a.txt', status: 'modified' }]);
  });

  it('refuses without a confirmation naming the branch, or with another name, and changes nothing', async () => {
    const { repo, session, folders } = await setup('confirm', ['A']);
    writeFileSync(path.join(folders.A!, 'a.txt'), 'lane\n');
    const options = { repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash' as const, message: 'm' };
    const none = await refusedUnchanged(repo, [folders.A!], () => landLane(options), 'branch_not_confirmed');
    expect(none.line).toBe('landing lane A (squash) changes your branch main: it needs your confirmation naming it (confirm with the branch\'s name, main)');
    const other = await refusedUnchanged(repo, [folders.A!], () => landLane({ ...options, confirmBranch: 'develop' }), 'branch_not_confirmed');
    expect(other.message).toBe('landing lane A would change your branch main, not develop');
    expect(other.code).toBe('invalid_input');
  });

  it("refuses a dirty working tree, naming its files, and changes nothing (the lane's uncommitted work stays uncommitted)", async () => {
    const { repo, session, folders } = await setup('dirty', ['A']);
    writeFileSync(path.join(folders.A!, 'a.txt'), 'lane\n');
    writeFileSync(path.join(repo, 'b.txt'), 'the user is editing b\n');
    sh(repo, 'echo staged > shared.txt && git add shared.txt');
    const e = await refusedUnchanged(repo, [folders.A!], () => landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash', message: 'm', confirmBranch: 'main' }), 'dirty_tree');
    expect(e.files).toEqual(['b.txt', 'shared.txt']);
    expect(e.line).toMatch(/^your working tree in .*dirty has uncommitted changes: b\.txt, shared\.txt \(commit or stash them, then land again\)$/);
    expect(read(folders.A!, 'a.txt')).toBe('lane\n');
    expect(sh(folders.A!, 'git status --porcelain')).toBe(' M a.txt\n?? .env.local\n');
  });

  it('refuses a conflict, naming its files, and changes nothing', async () => {
    const { repo, session, folders } = await setup('conflict', ['A']);
    writeFileSync(path.join(folders.A!, 'shared.txt'), 'one\nTWO from the lane\nthree\n');
    commitAll(folders.A!, 'lane edits two');
    writeFileSync(path.join(folders.A!, 'a.txt'), 'uncommitted\n');
    writeFileSync(path.join(repo, 'shared.txt'), 'one\ntwo from the user\nthree\n');
    commitAll(repo, 'user edits two');
    for (const mode of ['squash', 'rebase'] as const) {
      const e = await refusedUnchanged(repo, [folders.A!], () => landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode, message: 'm', confirmBranch: 'main' }), 'conflict');
      expect(e.files).toEqual(['shared.txt']);
      expect(e.code).toBe('patch_conflict');
      expect(e.message).toMatch(mode === 'squash' ? /^lane A conflicts with main in 1 file: shared\.txt$/ : /^rebasing lane A onto main conflicts at its commit [0-9a-f]{12} "lane edits two" in 1 file: shared\.txt$/);
    }
  });

  it('refuses a detached HEAD, a lane with nothing to land, and an untracked file the landing would overwrite', async () => {
    const { repo, session, folders } = await setup('refusals', ['A']);
    const options = { repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash' as const, message: 'm', confirmBranch: 'main' };
    const nothing = await refusedUnchanged(repo, [folders.A!], () => landLane(options), 'nothing_to_land');
    expect(nothing.message).toBe('lane A has nothing to land on main: your branch already has all of its changes');
    // only a copied-in file changed: still nothing
    writeFileSync(path.join(folders.A!, '.env.local'), 'SECRET=2\n');
    await refusedUnchanged(repo, [folders.A!], () => landLane(options), 'nothing_to_land');

    writeFileSync(path.join(folders.A!, 'lane-made.txt'), 'from the lane\n');
    writeFileSync(path.join(repo, 'lane-made.txt'), "the user's own, untracked\n");
    const way = await refusedUnchanged(repo, [folders.A!], () => landLane(options), 'untracked_in_the_way');
    expect(way.files).toEqual(['lane-made.txt']);
    expect(read(repo, 'lane-made.txt')).toBe("the user's own, untracked\n");

    sh(repo, 'git checkout -q --detach HEAD');
    const detached = await refusedUnchanged(repo, [folders.A!], () => landLane(options), 'detached_head');
    expect(detached.message).toMatch(/is on a detached HEAD \([0-9a-f]{12}\): there is no branch to land lane A on$/);
  });

  it('refuses a lane this repository has no worktree or branch for', async () => {
    const { repo, session } = await setup('no-lane', ['A']);
    await expect(landLane({ repoPath: repo, sessionId: session.id, lane: 'B', mode: 'squash', message: 'm', confirmBranch: 'main' }))
      .rejects.toMatchObject({ reason: 'no_lane', code: 'not_found', message: expect.stringMatching(/^lane B of session [0-9a-f]{8} has no worktree or branch \(ocr\/[0-9a-f]{8}\/B\) in /) });
    await expect(landLane({ repoPath: repo, sessionId: session.id, lane: '../B', mode: 'squash', message: 'm' })).rejects.toThrow(/^lane: a lane name is 1 to 16 letters/);
    await expect(landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash', message: '  ' })).rejects.toThrow(/^message: a landing needs a commit message/);
  });
});

describe('landLane: rebase', () => {
  it("replays the lane's commits onto the user's branch, fast-forwards it, and moves the lane there too", async () => {
    const { repo, session, folders } = await setup('rebase', ['A']);
    const lane = folders.A!;
    writeFileSync(path.join(lane, 'a.txt'), 'a, first lane commit\n');
    commitAll(lane, 'lane: first');
    writeFileSync(path.join(lane, 'b.txt'), 'b, second lane commit\n');
    sh(lane, "git add -A -- . ':(exclude).env.local' && GIT_AUTHOR_NAME='Agent' GIT_AUTHOR_EMAIL=agent@example.com git commit -q -m 'lane: second'");
    writeFileSync(path.join(lane, 'new.txt'), 'uncommitted\n');
    writeFileSync(path.join(repo, 'shared.txt'), 'one\ntwo\nthree\nfour\n');
    commitAll(repo, 'user: four');
    const userHead = rev(repo, 'HEAD');

    const landed = await landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'rebase', message: 'lane: its uncommitted work', confirmBranch: 'main' });
    if (landed.mode === 'pr') throw new Error('not a pr');
    expect(landed.plan.commits).toBe(3);
    expect(sh(repo, `git log --format="%s|%an" ${userHead}..main`)).toBe('lane: its uncommitted work|Pat Doe\nlane: second|Agent\nlane: first|Test\n');
    expect(rev(repo, 'main~3')).toBe(userHead);
    expect(rev(repo, 'main')).toBe(landed.after);
    expect(sh(repo, 'git status --porcelain --untracked-files=no')).toBe('');
    expect(read(repo, 'new.txt')).toBe('uncommitted\n');
    // the lane's branch and worktree are where the user's branch is, with the user's change, clean but for its copy
    expect(rev(repo, laneBranch(session.id, 'A'))).toBe(landed.after);
    expect(read(lane, 'shared.txt')).toBe('one\ntwo\nthree\nfour\n');
    expect(sh(lane, 'git status --porcelain --untracked-files=all')).toBe('?? .env.local\n');
  });

  it('refuses to rebase commits that include a file copied in from the user; squash leaves it out', async () => {
    const { repo, session, folders } = await setup('rebase-copied', ['A']);
    writeFileSync(path.join(folders.A!, 'a.txt'), 'lane\n');
    sh(folders.A!, "git add -A && git commit -q -m 'lane commits everything, .env.local too'");
    const e = await refusedUnchanged(repo, [folders.A!], () => landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'rebase', message: 'm', confirmBranch: 'main' }), 'copied_files_in_history');
    expect(e.line).toMatch(/^lane A has commits that change files copied in from your checkout \(\.env\.local\): [0-9a-f]+ lane commits everything, \.env\.local too \(land it with squash, which leaves those files out\)$/);
    await landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash', message: 'only a', confirmBranch: 'main' });
    expect(sh(repo, 'git show --name-only --format= main')).toBe('a.txt\n');
    expect(sh(repo, 'git ls-files .env.local')).toBe('');
  });
});

describe('landLane: pull request', () => {
  /** A repository whose origin is a bare repository in a folder. */
  async function withRemote(name: string) {
    const s = await setup(name, ['A']);
    const remote = path.join(dir.path, `${name}-remote.git`);
    sh(dir.path, `git init -q --bare ${remote}`);
    sh(s.repo, `git remote add origin ${remote} && git push -q -u origin main`);
    writeFileSync(path.join(s.folders.A!, 'a.txt'), 'a for review\n');
    commitAll(s.folders.A!, 'lane edits a');
    writeFileSync(path.join(s.folders.A!, 'b.txt'), 'b for review\n');
    return { ...s, remote };
  }

  it('without gh: pushes the lane branch to origin and returns the gh command to open the request; the user branch is untouched', async () => {
    const { repo, session, folders, remote } = await withRemote('pr-no-gh');
    const userHead = rev(repo, 'HEAD');
    const branch = laneBranch(session.id, 'A');
    // PATH without gh
    const landed = await landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'pr', message: 'Review a and b\n\nWhy: tests', ghEnv: { PATH: path.join(dir.path, 'no-such-bin') } });
    if (landed.mode !== 'pr') throw new Error('a pr');
    expect(landed.remote).toBe('origin');
    expect(landed.base).toBe('main');
    expect(landed.ghSkipped).toBe('gh (the GitHub CLI) is not installed');
    expect(landed.url).toBeUndefined();
    expect(landed.commands).toEqual([
      `gh pr create --head ${branch} --base main --title 'Review a and b' --body 'Why: tests\n\nLanded from lane A of session ${session.id.replace(/-/g, '').slice(0, 8)} (Ops Control Room): 2 commits, 2 files.'`,
    ]);
    // the remote has the lane's branch with its uncommitted work committed
    expect(sh(remote, `git rev-parse refs/heads/${branch}`).trim()).toBe(landed.laneCommit);
    expect(sh(remote, `git show --name-only --format=%s ${branch}`)).toBe('Review a and b\n\nb.txt\n');
    expect(rev(folders.A!, 'HEAD')).toBe(landed.laneCommit);
    expect(sh(repo, `git rev-parse --abbrev-ref ${branch}@{upstream}`).trim()).toBe(`origin/${branch}`);
    expect(rev(repo, 'main')).toBe(userHead);
    expect(sh(repo, 'git status --porcelain --untracked-files=no')).toBe('');
  });

  it('with gh signed in: opens the request with gh pr create and returns its URL', async () => {
    const { repo, session } = await withRemote('pr-gh');
    const bin = path.join(dir.path, 'fake-gh-bin');
    mkdirSync(bin, { recursive: true });
    const calls = path.join(dir.path, 'gh-calls.txt');
    writeFileSync(path.join(bin, 'gh'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${calls}\nif [ "$1" = auth ]; then exit 0; fi\necho https://github.com/pat/repo/pull/7\n`);
    chmodSync(path.join(bin, 'gh'), 0o755);
    const landed = await landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'pr', message: 'Review', ghEnv: { PATH: `${bin}:${process.env.PATH}` } });
    if (landed.mode !== 'pr') throw new Error('a pr');
    expect(landed.url).toBe('https://github.com/pat/repo/pull/7');
    expect(landed.commands).toEqual([]);
    const [auth, create] = readFileSync(calls, 'utf8').trim().split('\n');
    expect(auth).toBe('auth status');
    expect(create).toMatch(new RegExp(`^pr create --head ${laneBranch(session.id, 'A')} --base main --title Review --body `));
  });

  it('refuses when there is no remote; recognises GitHub remotes for the compare URL', async () => {
    const { repo, session, folders } = await setup('pr-no-remote', ['A']);
    writeFileSync(path.join(folders.A!, 'a.txt'), 'x\n');
    await expect(landLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'pr', message: 'm', gh: null })).rejects.toMatchObject({ reason: 'no_remote' });
    expect(sh(folders.A!, 'git status --porcelain')).toBe(' M a.txt\n?? .env.local\n');
    expect(githubRepo('git@github.com:pat/repo.git')).toBe('pat/repo');
    expect(githubRepo('https://github.com/pat/repo')).toBe('pat/repo');
    expect(githubRepo('ssh://git@github.com/pat/repo.git')).toBe('pat/repo');
    expect(githubRepo('https://gitlab.com/pat/repo.git')).toBeUndefined();
  });
});

describe('resetLane', () => {
  it('refuses while the lane has un-landed changes; after landing it moves the lane to the user branch, clean, keeping its setup', async () => {
    const { repo, session, folders } = await setup('reset', ['A']);
    const lane = folders.A!;
    writeFileSync(path.join(lane, 'a.txt'), 'a from the lane\n');
    commitAll(lane, 'lane a');
    writeFileSync(path.join(lane, 'scratch.txt'), 'untracked\n');
    mkdirSync(path.join(lane, 'node_modules'));
    writeFileSync(path.join(lane, 'node_modules', 'dep.js'), 'installed\n');
    const target = { repoPath: repo, sessionId: session.id, lane: 'A' };
    const e = await refusedUnchanged(repo, [lane], () => resetLane(target), 'unlanded_changes');
    expect(e.line).toBe('lane A has changes main does not have: a.txt, scratch.txt (land them first, or reset anyway to discard them)');

    await landLane({ ...target, mode: 'squash', message: 'land', confirmBranch: 'main' });
    writeFileSync(path.join(repo, 'b.txt'), 'the user goes on\n');
    commitAll(repo, 'user b');
    const reset = await resetLane(target);
    expect(reset.to).toBe(rev(repo, 'main'));
    expect(reset.discarded).toEqual([]);
    expect(rev(repo, laneBranch(session.id, 'A'))).toBe(rev(repo, 'main'));
    expect(sh(lane, 'git status --porcelain --untracked-files=all')).toBe('?? .env.local\n');
    expect(read(lane, 'b.txt')).toBe('the user goes on\n');
    expect(read(lane, 'node_modules/dep.js')).toBe('installed\n');
    const record = JSON.parse(readFileSync(path.join(sh(lane, 'git rev-parse --absolute-git-dir').trim(), 'ocr-lane.json'), 'utf8')) as { setupDone: boolean; baseRef: string; copied: string[] };
    expect(record).toMatchObject({ setupDone: true, baseRef: rev(repo, 'main'), copied: ['.env.local'] });
    // the worker uses the same worktree again, setup done
    const again = await prepareLaneWorkspace({ root: path.dirname(path.dirname(lane)), session, lane: 'A', repoPath: repo, hasSetupCommand: true });
    expect(again).toMatchObject({ folder: lane, created: false, needsSetup: false });
    // and takes the lane's next diff against where it was reset to, not against where the session started
    expect(again.git?.baseRef).toBe(rev(repo, 'main'));
  });

  it('with force, discards what was not landed', async () => {
    const { repo, session, folders } = await setup('reset-force', ['A']);
    writeFileSync(path.join(folders.A!, 'a.txt'), 'not landed\n');
    writeFileSync(path.join(folders.A!, 'extra.txt'), 'not landed either\n');
    const reset = await resetLane({ repoPath: repo, sessionId: session.id, lane: 'A', force: true });
    expect(reset.discarded).toEqual(['a.txt', 'extra.txt']);
    expect(read(folders.A!, 'a.txt')).toBe('a\n');
    expect(existsSync(path.join(folders.A!, 'extra.txt'))).toBe(false);
    expect(read(folders.A!, '.env.local')).toBe('SECRET=1\n');
  });
});

describe('pickLane', () => {
  it("lands the picked lane and archives the others' branches under ocr/archive, with their uncommitted work, removing their worktrees", async () => {
    const { repo, session, folders } = await setup('pick', ['A', 'B', 'C']);
    writeFileSync(path.join(folders.A!, 'a.txt'), 'attempt A\n');
    writeFileSync(path.join(folders.B!, 'a.txt'), 'attempt B\n');
    writeFileSync(path.join(folders.C!, 'a.txt'), 'attempt C\n');
    commitAll(folders.C!, 'C committed');
    const picked = await pickLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash', message: 'attempt A wins', confirmBranch: 'main', archive: ['B', 'C', 'D'] });
    expect(read(repo, 'a.txt')).toBe('attempt A\n');
    expect(picked.skipped).toEqual(['D']);
    expect(picked.archived.map((a) => [a.lane, a.to])).toEqual([['B', archiveBranch(session.id, 'B')], ['C', archiveBranch(session.id, 'C')]]);
    expect(sh(repo, `git show ${archiveBranch(session.id, 'B')}:a.txt`)).toBe('attempt B\n');
    expect(sh(repo, `git show ${archiveBranch(session.id, 'C')}:a.txt`)).toBe('attempt C\n');
    expect(existsSync(folders.B!)).toBe(false);
    expect(sh(repo, `git branch --list 'ocr/*' --format='%(refname:short)'`).split('\n').filter(Boolean).sort()).toEqual(
      [archiveBranch(session.id, 'B'), archiveBranch(session.id, 'C'), laneBranch(session.id, 'A')].sort(),
    );
    // a second pick of the same lanes keeps the first archive
    const b2 = await prepareLaneWorkspace({ root: path.join(dir.path, 'pick-worktrees'), session, lane: 'B', repoPath: repo });
    writeFileSync(path.join(b2.folder, 'b.txt'), 'B again\n');
    writeFileSync(path.join(folders.A!, 'b.txt'), 'A again\n');
    const second = await pickLane({ repoPath: repo, sessionId: session.id, lane: 'A', mode: 'squash', message: 'A again', confirmBranch: 'main', archive: ['B'] });
    expect(second.archived[0]!.to).toBe(`${archiveBranch(session.id, 'B')}-2`);
  });
});
