// Conflict radar: would the lanes' work merge, with each other and with the user's branch? Answered without a checkout
// and without changing anything a person or a run sees: no worktree file, no index, no ref is written.
//
// How a lane's state becomes something git can merge: a throwaway commit of its worktree as it is now, committed and
// uncommitted changes and untracked files alike. Made like the lane's diff (worker/engine/diff.ts): the worktree's index
// is copied to a temporary file (git's stat cache comes along, so only changed files are hashed again), `git add --all`
// fills that copy through GIT_INDEX_FILE, `write-tree` turns it into a tree and `commit-tree` into a commit whose parent
// is the lane's HEAD. Only objects are written (unreferenced, so `git gc` removes them in time). `git stash create` was
// the other choice: it leaves untracked files out, and refreshes the worktree's own index.
//
// Then `git merge-tree --write-tree` (git 2.38 or newer) merges every pair of lanes, and each lane with the user's
// branch, in memory: it writes the merged tree's objects and names the files that conflict. An older git has no
// --write-tree; it is refused up front with a line that says which version is needed.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { checkArgument, copyIndex, git, gitMaybe } from '../engine/git';
import { laneBranch, listWorktrees } from '../engine/worktree';
import { OcrError, parseInput } from '../store/errors';

const LaneWorktree = z.object({
  lane: z.string().min(1, 'name the lane'),
  /** the lane's branch: what is compared when the lane has no worktree here */
  branch: z.string().min(1, "name the lane's branch"),
  /** the lane's worktree; absent when only its branch is on this machine */
  folder: z.string().min(1).optional(),
});
export type LaneWorktree = z.infer<typeof LaneWorktree>;

const ConflictOptions = z.object({
  repoPath: z.string().min(1, 'name the repository the lanes were made from'),
  worktrees: z.array(LaneWorktree),
  /** what the lanes are also checked against; default: the branch (or commit) checked out in repoPath */
  userBranch: z.string().min(1).optional(),
});
export type ConflictOptions = z.input<typeof ConflictOptions>;

export interface LaneState {
  lane: string;
  branch: string;
  /** the commit that stands for the lane: its HEAD, or a throwaway commit of HEAD plus its uncommitted changes */
  commit: string;
  uncommitted: boolean;
}

export interface Conflict {
  /** a lane */
  a: string;
  /** another lane, or the user's branch (see `against`) */
  b: string;
  against: 'lane' | 'user-branch';
  files: string[];
}

export interface LaneConflicts {
  /** the user's branch as named (or the commit when HEAD is detached) and its commit */
  userBranch: { name: string; commit: string };
  lanes: LaneState[];
  /** only the pairs that conflict, lane pairs first, in lane order */
  conflicts: Conflict[];
  /** how many merges were tried */
  checked: number;
}

const minimumGit = [2, 38] as const;
let gitVersionChecked: Promise<void> | undefined;

/** Refuses a git without `merge-tree --write-tree` (2.38) with a line that names both versions. */
function requireMergeTree(repoPath: string): Promise<void> {
  gitVersionChecked ??= (async () => {
    const answer = await git(repoPath, ['version']);
    const m = /(\d+)\.(\d+)/.exec(answer);
    const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
    if (major < minimumGit[0] || (major === minimumGit[0] && minor < minimumGit[1])) {
      throw new OcrError('git_failed', `the conflict radar needs git ${minimumGit.join('.')} or newer (merge-tree --write-tree); this machine has ${answer.trim()}`,
        'install a newer git');
    }
  })();
  gitVersionChecked.catch(() => (gitVersionChecked = undefined));
  return gitVersionChecked;
}

/** Every pair of lanes, and every lane with the user's branch: which would conflict, and in which files. */
export async function laneConflicts(input: ConflictOptions): Promise<LaneConflicts> {
  const options = parseInput(ConflictOptions, input);
  const hint = 'name a branch or a commit of the repository';
  for (const w of options.worktrees) checkArgument(w.branch, `the branch of lane ${w.lane}`, hint);
  if (options.userBranch !== undefined) checkArgument(options.userBranch, 'the branch to compare with', hint);
  const repoPath = path.resolve(options.repoPath);
  await requireMergeTree(repoPath);
  const userBranch = await resolveUserBranch(repoPath, options.userBranch);
  const lanes = await Promise.all(options.worktrees.map((w) => laneState(repoPath, w)));

  const merges: Array<Omit<Conflict, 'files'> & { left: string; right: string }> = [];
  for (let i = 0; i < lanes.length; i++) {
    for (let j = i + 1; j < lanes.length; j++) {
      merges.push({ a: lanes[i]!.lane, b: lanes[j]!.lane, against: 'lane', left: lanes[i]!.commit, right: lanes[j]!.commit });
    }
  }
  for (const l of lanes) merges.push({ a: l.lane, b: userBranch.name, against: 'user-branch', left: l.commit, right: userBranch.commit });
  // Each merge is one git process reading trees; a few at once keep the machine's cores busy without queueing dozens.
  const files = await inBatches(merges, Math.max(2, os.availableParallelism?.() ?? 2), (m) => conflictingFiles(repoPath, m.left, m.right, m));
  const conflicts = merges
    .map(({ a, b, against }, i) => ({ a, b, against, files: files[i]! }))
    .filter((c) => c.files.length > 0);
  return { userBranch, lanes, conflicts, checked: merges.length };
}

async function resolveUserBranch(repoPath: string, named: string | undefined): Promise<{ name: string; commit: string }> {
  const ref = named ?? 'HEAD';
  const commit = await gitMaybe(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  if (!commit) {
    throw new OcrError('repo_unavailable', named ? `"${named}" is not a branch or commit of ${repoPath}` : `${repoPath} has no commit checked out`,
      named ? 'name a branch or a commit of the repository' : 'make a first commit, then try again');
  }
  if (named) return { name: named, commit };
  const branch = await gitMaybe(repoPath, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  return { name: branch || commit.slice(0, 12), commit };
}

// The worktree record worker/engine/worktree.ts keeps in the worktree's private git folder: changes to the files copied
// in from the user's tree (.env…) are no lane's work, so they are left out of its snapshot, as they are of its diff.
const LaneRecord = z.object({ copied: z.array(z.string()).default([]) });
const laneRecordName = 'ocr-lane.json';

async function copiedFiles(gitDir: string): Promise<string[]> {
  try {
    return LaneRecord.parse(JSON.parse(await readFile(path.join(gitDir, laneRecordName), 'utf8'))).copied;
  } catch {
    return [];
  }
}

/** The commit that stands for a lane: see the top of this file. */
async function laneState(repoPath: string, w: LaneWorktree): Promise<LaneState> {
  if (!w.folder) {
    const commit = await gitMaybe(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${w.branch}^{commit}`]);
    if (!commit) throw new OcrError('not_found', `lane ${w.lane}: its branch ${w.branch} is not in ${repoPath}`, 'run something in the lane first, or leave it out');
    return { lane: w.lane, branch: w.branch, commit, uncommitted: false };
  }
  const folder = w.folder;
  let answer: string[];
  try {
    answer = (await git(folder, ['rev-parse', '--path-format=absolute', '--git-path', 'index', 'HEAD^{commit}', 'HEAD^{tree}'])).trim().split('\n');
  } catch (e) {
    throw new OcrError('workspace_failed', `lane ${w.lane}: ${folder} is not a worktree with a commit`, 'run something in the lane, or remove the folder', { cause: e });
  }
  const [ownIndex, head, headTree] = answer as [string, string, string];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ocr-conflicts-'));
  try {
    const index = path.join(scratch, 'index');
    await copyIndex(ownIndex, index);
    const env = { GIT_INDEX_FILE: index };
    await git(folder, ['add', '--all', '--', '.'], { env });
    const copied = await copiedFiles(path.dirname(ownIndex));
    // Put back as the lane's HEAD has them: out of the snapshot unless the lane committed them (then they would land).
    // `reset` with paths changes only the (throwaway) index: no ref moves, no ORIG_HEAD is written.
    if (copied.length > 0) await git(folder, ['reset', '--quiet', head, '--', ...copied.map((p) => `:(literal)${p}`)], { env });
    const tree = (await git(folder, ['write-tree'], { env })).trim();
    if (tree === headTree) return { lane: w.lane, branch: w.branch, commit: head, uncommitted: false };
    const commit = (await git(folder, ['commit-tree', '--no-gpg-sign', '-p', head, '-m', `lane ${w.lane} as it is now (conflict radar)`, tree])).trim();
    return { lane: w.lane, branch: w.branch, commit, uncommitted: true };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The files a merge of two commits leaves in conflict; none when it merges cleanly. */
async function conflictingFiles(repoPath: string, left: string, right: string, what: { a: string; b: string }): Promise<string[]> {
  let out: string;
  try {
    // Exit 0: clean, 1: conflicts (the output names them); anything else is a failure (e.g. unrelated histories).
    out = await git(repoPath, ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', left, right], { answerExitCodes: [1] });
  } catch (e) {
    throw new OcrError('git_failed', `cannot merge ${what.a} with ${what.b}: ${(e as Error).message}`, 'check that both come from the same repository history', { cause: e });
  }
  // -z: the merged tree's id, then each conflicted file once, each ended by NUL.
  return out.split('\0').slice(1).filter(Boolean);
}

async function inBatches<T, R>(items: T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * A session's lanes on this machine: every worktree of `repoPath` on a branch ocr/<session>/<lane>, wherever its
 * folder is (each worker may have its own worktree root), and lane branches with no worktree left. Sorted by lane.
 */
export async function sessionLaneWorktrees(repoPath: string, sessionId: string): Promise<LaneWorktree[]> {
  await requireMergeTree(repoPath);
  const prefix = laneBranch(sessionId, '');
  const lanes = new Map<string, LaneWorktree>();
  for (const { folder, branch, prunable } of await listWorktrees(repoPath)) {
    if (!branch?.startsWith(prefix) || prunable) continue;
    const lane = branch.slice(prefix.length);
    lanes.set(lane, { lane, branch, folder });
  }
  const branches = (await git(repoPath, ['for-each-ref', '--format=%(refname:short)', '--end-of-options', `refs/heads/${prefix}`])).split('\n').filter(Boolean);
  for (const branch of branches) {
    const lane = branch.slice(prefix.length);
    if (branch.startsWith(prefix) && lane && !lanes.has(lane)) lanes.set(lane, { lane, branch });
  }
  return [...lanes.values()].sort((x, y) => x.lane.localeCompare(y.lane));
}
