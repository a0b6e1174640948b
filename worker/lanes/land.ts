// Landing a lane: its work, committed and uncommitted, onto the user's current branch (squash or rebase) or onto the
// remote as a pull request; and Reset Lane, which starts the lane again from the user's branch afterwards.
//
// Everything is decided before anything changes. The lane's worktree becomes a throwaway commit (its uncommitted
// changes included; files copied in from the user's checkout and linked folders left out), which is merged with the
// user's branch in memory with `git merge-tree --write-tree`: a dirty working tree, a detached HEAD, a merge or rebase
// in progress, a conflict, files that would overwrite the user's untracked ones or a lane with nothing to land are
// refused at that point, with the files named, and no branch, index or file has been touched. Only then are refs and
// files moved, each step with the value it expects (update-ref old-value checks, two-tree read-tree -m -u, which
// refuses to overwrite local changes):
//
//   squash  the lane's uncommitted changes become a commit on its branch; one commit with the merged tree and the
//           message is made on top of the user's branch, which moves to it together with its working tree and index.
//   rebase  the same first step; then each lane commit the user's branch lacks is replayed onto it, in memory (three
//           throwaway commits and one merge-tree per commit: what `git rebase` does, without a checkout, hooks or an
//           editor, on git 2.38 as on newer ones); the user's branch fast-forwards to the last one and the lane's
//           branch and worktree move there too.
//   pr      the same first step; the lane's branch is pushed to its upstream's remote (else origin) and `gh pr create`
//           opens the pull request when gh is installed and signed in; otherwise the exact commands (and, for
//           GitHub, the compare URL) are returned for the person to run.
//
// Commits are made with commit-tree: no hooks and no signing program run (see worker/engine/git.ts); they carry the
// user's own name and email from their git config.
import { existsSync, lstatSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { laneName, oneLine, type Run, type Session, shortId } from '../../domain';
import { checkArgument, copyIndex, git, GitError, gitMaybe, repositoryGitDirs } from '../engine/git';
import { laneBranch, sessionShortId } from '../engine/worktree';
import { OcrError, type OcrErrorCode, parseInput } from '../store/errors';
import type { Store } from '../store/store';
import { type LaneWorktree, sessionLaneWorktrees } from './conflicts';
import { oneAtATime } from '../engine/repo-lock';

export const LandMode = z.enum(['squash', 'rebase', 'pr']);
export type LandMode = z.infer<typeof LandMode>;

/** Why a landing (or a reset) was refused; the files it is about are in `files`. */
export type LandRefusal =
  | 'no_lane'
  | 'detached_head'
  | 'operation_in_progress'
  | 'dirty_tree'
  | 'untracked_in_the_way'
  | 'conflict'
  | 'nothing_to_land'
  | 'copied_files_in_history'
  | 'branch_not_confirmed'
  | 'lane_busy'
  | 'no_remote'
  | 'unlanded_changes';

const refusalCodes: Record<LandRefusal, OcrErrorCode> = {
  no_lane: 'not_found',
  detached_head: 'invalid_state',
  operation_in_progress: 'invalid_state',
  dirty_tree: 'invalid_state',
  untracked_in_the_way: 'invalid_state',
  conflict: 'patch_conflict',
  nothing_to_land: 'invalid_state',
  copied_files_in_history: 'invalid_state',
  branch_not_confirmed: 'invalid_input',
  lane_busy: 'invalid_state',
  no_remote: 'repo_unavailable',
  unlanded_changes: 'invalid_state',
};

/** A landing or reset that did not happen, and changed nothing. */
export class LandRefused extends OcrError {
  constructor(
    readonly reason: LandRefusal,
    message: string,
    hint: string | undefined,
    readonly files: string[] = [],
  ) {
    super(refusalCodes[reason], message, hint);
    this.name = 'LandRefused';
  }
}

const storedText = z.string().refine((v) => !v.includes('\u0000'), 'no NUL characters');

const LaneTarget = z.object({
  repoPath: z.string().min(1, 'name the repository the lane was made from (repoPath)'),
  sessionId: z.string().min(1, 'name the session (sessionId)'),
  lane: laneName,
  /** folders linked into the lane's worktree (worktrees.linkDirs): never landed */
  linkDirs: z.array(z.string().min(1)).default([]),
});

const LandOptions = LaneTarget.extend({
  mode: LandMode,
  /** the commit message: of the squash commit, and of the commit that takes the lane's uncommitted changes */
  message: storedText.pipe(z.string().trim().min(1, 'a landing needs a commit message: pass the run\'s intent or your own words')),
  /** must be the name of the user's current branch for squash and rebase (the branch that will change) */
  confirmBranch: z.string().optional(),
  /** pr: the remote to push to (default: the lane branch's upstream remote, else origin, else the only remote) */
  remote: z.string().min(1).optional(),
  /** pr: the branch the pull request asks to merge into (default: the upstream of the user's branch, else its name) */
  base: z.string().min(1).optional(),
  /** pr: the GitHub CLI to run (default gh, found on PATH); null never runs it */
  gh: z.string().min(1).nullable().default('gh'),
  /** pr: the environment gh runs with (default this process's) */
  ghEnv: z.record(z.string(), z.string().optional()).optional(),
});
export type LandOptions = z.input<typeof LandOptions>;
type ParsedLand = z.output<typeof LandOptions>;

export interface LandFile {
  path: string;
  status: 'added' | 'modified' | 'deleted' | 'type-changed';
}

export interface LandPlan {
  mode: LandMode;
  sessionId: string;
  lane: string;
  laneBranch: string;
  /** the lane's worktree on this machine; absent when only its branch is left */
  folder?: string;
  /** the top-level folder of the user's checkout */
  repoPath: string;
  /** the user's branch (null on a detached HEAD, which only a pull request allows) and its commit */
  userBranch: { name: string | null; commit: string };
  /** the lane branch's commit now */
  laneTip: string;
  /** the lane's uncommitted files that the landing first commits on its branch (copied and linked ones left out) */
  uncommitted: string[];
  /** the lane's commits the user's branch does not have, the one for its uncommitted changes included */
  commits: number;
  /** what lands on the user's branch (for a pull request: what it would change on `base`) */
  files: LandFile[];
  /** a pull request only: files that conflict with the user's branch (GitHub shows them; the request still opens) */
  conflicts: string[];
  /** a pull request only: the remote the lane's branch is pushed to, and the branch the request is for (null: the remote's default) */
  pr?: { remote: string; base: string | null };
  message: string;
}

interface Prepared {
  plan: LandPlan;
  options: ParsedLand;
  identity: NodeJS.ProcessEnv;
  /** the commit with the lane's uncommitted changes (or the lane's tip when it has none) */
  snapshot: string;
  /** squash: the tree of the squash commit */
  tree?: string;
  /** rebase: the replayed lane commits, the last one the user's branch's new head */
  replayed?: string[];
  /** pr: where the lane's branch is pushed, and the branch the request is for (null: the remote's default) */
  remote?: string;
  base?: string | null;
  copied: string[];
}

export type LandResult =
  | {
      mode: 'squash' | 'rebase';
      plan: LandPlan;
      /** the user's branch before and after */
      branch: string;
      before: string;
      after: string;
      /** the commit that took the lane's uncommitted changes on its branch, if there were any */
      laneCommit?: string;
    }
  | {
      mode: 'pr';
      plan: LandPlan;
      laneCommit?: string;
      remote: string;
      /** the branch the request merges into; null lets the remote's default branch be it */
      base: string | null;
      /** the pull request, when gh opened it (or found it open already) */
      url?: string;
      /** what is left for the person to do: the exact commands, in order (empty when gh opened the request) */
      commands: string[];
      /** GitHub's page for opening the request in the browser, for a remote on github.com */
      compareUrl?: string;
      /** why gh did not open it, when it was not used */
      ghSkipped?: string;
    };

// ---- finding the lane -----------------------------------------------------------------------------------------------

async function findLane(repoPath: string, sessionId: string, lane: string): Promise<LaneWorktree> {
  const lanes = await sessionLaneWorktrees(repoPath, sessionId);
  const found = lanes.find((l) => l.lane === lane);
  if (!found) {
    throw new LandRefused('no_lane', `lane ${lane} of session ${sessionShortId(sessionId)} has no worktree or branch (${laneBranch(sessionId, lane)}) in ${repoPath}`,
      "a lane's worktree is made when its first run starts on this machine; pass the clone the lane was made from");
  }
  return found;
}

async function topLevel(repoPath: string): Promise<string> {
  const top = await gitMaybe(path.resolve(repoPath), ['rev-parse', '--show-toplevel']);
  if (!top) throw new OcrError('repo_unavailable', `${repoPath} is not inside a git repository`, "pass the clone the session's lanes were made from");
  return path.resolve(top);
}

async function userHead(repoPath: string): Promise<{ name: string | null; commit: string }> {
  const commit = await gitMaybe(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', 'HEAD^{commit}']);
  if (!commit) throw new OcrError('repo_unavailable', `${repoPath} has no commit checked out`, 'make a first commit, then try again');
  const name = await gitMaybe(repoPath, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  return { name: name || null, commit };
}

/** The user's name and email from their git config: the author and committer of what OCR commits for them. */
async function userIdentity(repoPath: string): Promise<NodeJS.ProcessEnv> {
  const [name, email] = await Promise.all([gitMaybe(repoPath, ['config', 'user.name']), gitMaybe(repoPath, ['config', 'user.email'])]);
  const env: NodeJS.ProcessEnv = {};
  if (name && !process.env.GIT_AUTHOR_NAME) env.GIT_AUTHOR_NAME = name;
  if (name && !process.env.GIT_COMMITTER_NAME) env.GIT_COMMITTER_NAME = name;
  if (email && !process.env.GIT_AUTHOR_EMAIL) env.GIT_AUTHOR_EMAIL = email;
  if (email && !process.env.GIT_COMMITTER_EMAIL) env.GIT_COMMITTER_EMAIL = email;
  return env;
}

const inProgress: Array<[string, string]> = [
  ['MERGE_HEAD', 'a merge'],
  ['CHERRY_PICK_HEAD', 'a cherry-pick'],
  ['REVERT_HEAD', 'a revert'],
  ['rebase-merge', 'a rebase'],
  ['rebase-apply', 'a rebase or git am'],
];

async function refuseInProgress(repoPath: string): Promise<void> {
  const own = (await repositoryGitDirs(repoPath)).own;
  for (const [file, what] of inProgress) {
    if (existsSync(path.join(own, file))) {
      throw new LandRefused('operation_in_progress', `${repoPath} is in the middle of ${what}`, 'finish it or abort it, then land again');
    }
  }
}

/** Tracked files of the user's checkout with staged or unstaged changes. */
async function dirtyFiles(repoPath: string): Promise<string[]> {
  const out = await git(repoPath, ['status', '--porcelain=v1', '-z', '--untracked-files=no', '--no-renames']);
  return out.split('\0').filter(Boolean).map((entry) => entry.slice(3));
}

const listFiles = (files: string[], max = 10): string =>
  files.length <= max ? files.join(', ') : `${files.slice(0, max).join(', ')} and ${files.length - max} more`;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

// ---- the lane as one commit -------------------------------------------------------------------------------------

// The worktree record worker/engine/worktree.ts keeps in the worktree's private git folder.
const LaneRecord = z.object({ copied: z.array(z.string()).default([]) }).passthrough();
const laneRecordName = 'ocr-lane.json';

async function readLaneRecord(gitDir: string): Promise<z.infer<typeof LaneRecord> | undefined> {
  try {
    return LaneRecord.parse(JSON.parse(await readFile(path.join(gitDir, laneRecordName), 'utf8')));
  } catch {
    return undefined;
  }
}

interface LaneSnapshot {
  tip: string;
  /** the tip, or a commit on top of it with the uncommitted changes (on no branch) */
  commit: string;
  uncommitted: string[];
  copied: string[];
  gitDir?: string;
}

const literal = (p: string): string => `:(literal)${p}`;

/**
 * The lane as one commit: its branch's tip, or (with uncommitted changes) a commit on top of it made through a
 * throwaway index, so that neither the worktree's index nor any ref changes. Files copied in from the user's checkout
 * and linked folders are put back as the tip has them: the landing never commits them.
 */
async function snapshotLane(repoPath: string, lane: LaneWorktree, message: string, linkDirs: string[], identity: NodeJS.ProcessEnv): Promise<LaneSnapshot> {
  if (!lane.folder) {
    const tip = await gitMaybe(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${lane.branch}^{commit}`]);
    if (!tip) throw new LandRefused('no_lane', `lane ${lane.lane}: its branch ${lane.branch} has no commit`, 'run something in the lane first');
    return { tip, commit: tip, uncommitted: [], copied: [] };
  }
  const folder = lane.folder;
  let answer: string[];
  try {
    answer = (await git(folder, ['rev-parse', '--path-format=absolute', '--git-path', 'index', '--git-dir', 'HEAD^{commit}', 'HEAD^{tree}'])).trim().split('\n');
  } catch (e) {
    throw new OcrError('workspace_failed', `lane ${lane.lane}: ${folder} is not a worktree with a commit`, 'run something in the lane, or remove the folder', { cause: e });
  }
  const [ownIndex, gitDir, tip, tipTree] = answer as [string, string, string, string];
  const copied = (await readLaneRecord(gitDir))?.copied ?? [];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ocr-land-'));
  try {
    const index = path.join(scratch, 'index');
    await copyIndex(ownIndex, index);
    const env = { GIT_INDEX_FILE: index };
    await git(folder, ['add', '--all', '--', '.'], { env });
    const keepOut = [...copied, ...linkDirs.map((d) => d.replace(/[\\/]+$/, ''))];
    // `reset` with paths changes only the throwaway index: each of these as the tip has it (for a linked folder: absent).
    if (keepOut.length > 0) await git(folder, ['reset', '--quiet', tip, '--', ...keepOut.map(literal)], { env });
    const tree = (await git(folder, ['write-tree'], { env })).trim();
    if (tree === tipTree) return { tip, commit: tip, uncommitted: [], copied, gitDir };
    const uncommitted = (await git(folder, ['diff-tree', '-r', '-z', '--name-only', '--no-renames', tipTree, tree])).split('\0').filter(Boolean);
    const commit = await commitTree(folder, tree, [tip], message, identity);
    return { tip, commit, uncommitted, copied, gitDir };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * A copy of a worktree's index with its modification time: git trusts an entry's cached stat only when the file is
 * older than the index, so a copy dated now would take a file changed in the second the index was written (with
 * the same size) for unchanged. No index yet: `add` builds one from nothing.
 */

async function commitTree(cwd: string, tree: string, parents: string[], message: string, env: NodeJS.ProcessEnv): Promise<string> {
  const args = ['commit-tree', '--no-gpg-sign', ...parents.flatMap((p) => ['-p', p]), '-F', '-', tree];
  return (await git(cwd, args, { env, input: message.endsWith('\n') ? message : `${message}\n` })).trim();
}

const treeOf = async (cwd: string, commit: string): Promise<string> => (await git(cwd, ['rev-parse', '--verify', '--end-of-options', `${commit}^{tree}`])).trim();

/** Exit 0: the merged tree; exit 1: the files in conflict. */
async function mergeTree(cwd: string, ours: string, theirs: string): Promise<{ tree: string; conflicts: string[] }> {
  let out: string;
  try {
    out = await git(cwd, ['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs], { answerExitCodes: [1] });
  } catch (e) {
    if (e instanceof GitError && /unrelated histories/.test(e.stderr)) {
      throw new OcrError('git_failed', 'the lane and your branch share no history', 'land onto a branch of the repository the session started from', { cause: e });
    }
    throw e;
  }
  const [tree, ...files] = out.split('\0').filter(Boolean);
  return { tree: tree!, conflicts: files };
}

/**
 * The tree a cherry-pick of `commit` onto `onto` would make, in memory. merge-tree takes its merge base from history
 * (git before 2.40 has no --merge-base), so the three trees go into three throwaway commits: a root with the commit's
 * parent's tree, and the two sides on top of it.
 */
async function pickTree(cwd: string, commit: string, onto: string): Promise<{ tree: string; conflicts: string[] }> {
  const [parentTree, commitTreeId, ontoTree] = await Promise.all([treeOf(cwd, `${commit}^`), treeOf(cwd, commit), treeOf(cwd, onto)]);
  const message = 'lane commit replayed (land)';
  const root = await commitTree(cwd, parentTree, [], message, {});
  const [ours, theirs] = await Promise.all([commitTree(cwd, ontoTree, [root], message, {}), commitTree(cwd, commitTreeId, [root], message, {})]);
  return mergeTree(cwd, ours, theirs);
}

/** The files `to` changes against `from` (trees or commits). */
async function changedFiles(cwd: string, from: string, to: string): Promise<LandFile[]> {
  const out = await git(cwd, ['diff-tree', '-r', '-z', '--name-status', '--no-renames', from, to]);
  const fields = out.split('\0').filter(Boolean);
  const statuses: Record<string, LandFile['status']> = { A: 'added', M: 'modified', D: 'deleted', T: 'type-changed' };
  const files: LandFile[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) files.push({ path: fields[i + 1]!, status: statuses[fields[i]!.charAt(0)] ?? 'modified' });
  return files;
}

/** Files the landing adds where the user's checkout has an untracked or ignored file (or a file where it needs a folder). */
function inTheWay(repoPath: string, files: LandFile[]): string[] {
  const blocked: string[] = [];
  for (const f of files) {
    if (f.status !== 'added') continue;
    const parts = f.path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const at = path.join(repoPath, ...parts.slice(0, i));
      let st;
      try {
        st = lstatSync(at);
      } catch {
        break;
      }
      if (i === parts.length || !st.isDirectory()) {
        blocked.push(parts.slice(0, i).join('/'));
        break;
      }
    }
  }
  return [...new Set(blocked)];
}

/** Lane commits the user's branch lacks, oldest first, merges left out and those already there by patch left out. */
async function laneCommits(cwd: string, userCommit: string, laneCommit: string): Promise<string[]> {
  const out = await git(cwd, ['rev-list', '--reverse', '--topo-order', '--no-merges', '--right-only', '--cherry-pick', `${userCommit}...${laneCommit}`]);
  return out.split('\n').filter(Boolean);
}

interface CommitInfo {
  author: NodeJS.ProcessEnv;
  message: string;
  subject: string;
}

async function commitInfo(cwd: string, commit: string): Promise<CommitInfo> {
  const raw = await git(cwd, ['cat-file', 'commit', commit]);
  const split = raw.indexOf('\n\n');
  const headers = split === -1 ? raw : raw.slice(0, split);
  const message = split === -1 ? '' : raw.slice(split + 2);
  const m = /^author (.*) <(.*)> (\d+ [+-]\d{4})$/m.exec(headers);
  const author: NodeJS.ProcessEnv = m ? { GIT_AUTHOR_NAME: m[1], GIT_AUTHOR_EMAIL: m[2], GIT_AUTHOR_DATE: m[3] } : {};
  return { author, message: message || '(no message)\n', subject: oneLine(message.split('\n')[0] ?? '', 72) };
}

// ---- planning ---------------------------------------------------------------------------------------------------

/**
 * What landing the lane would do, with every refusal a landing has (except the branch confirmation): nothing changes.
 * The throwaway commits it makes are unreferenced objects (`git gc` removes them in time).
 */
export async function planLand(input: LandOptions): Promise<LandPlan> {
  return (await prepare(parseInput(LandOptions, input))).plan;
}

async function prepare(options: ParsedLand): Promise<Prepared> {
  const repoPath = await topLevel(options.repoPath);
  const { sessionId, lane: laneLetter, mode } = options;
  const lane = await findLane(repoPath, sessionId, laneLetter);
  const user = await userHead(repoPath);
  const identity = await userIdentity(repoPath);
  const moving = mode !== 'pr';
  if (moving) {
    if (!user.name) {
      throw new LandRefused('detached_head', `${repoPath} is on a detached HEAD (${user.commit.slice(0, 12)}): there is no branch to land lane ${laneLetter} on`,
        'check out the branch to land on (git switch BRANCH), or open a pull request instead');
    }
    await refuseInProgress(repoPath);
    const dirty = await dirtyFiles(repoPath);
    if (dirty.length > 0) {
      throw new LandRefused('dirty_tree', `your working tree in ${repoPath} has uncommitted changes: ${listFiles(dirty)}`,
        'commit or stash them, then land again', dirty);
    }
  }
  const snap = await snapshotLane(repoPath, lane, options.message, options.linkDirs, identity);
  const base: LandPlan = {
    mode,
    sessionId,
    lane: laneLetter,
    laneBranch: lane.branch,
    ...(lane.folder ? { folder: lane.folder } : {}),
    repoPath,
    userBranch: user,
    laneTip: snap.tip,
    uncommitted: snap.uncommitted,
    commits: 0,
    files: [],
    conflicts: [],
    message: options.message,
  };
  const nothing = () =>
    new LandRefused('nothing_to_land', `lane ${laneLetter} has nothing to land on ${user.name ?? user.commit.slice(0, 12)}: ${user.name ? 'your branch' : 'HEAD'} already has all of its changes`,
      'run something in the lane first; Reset Lane starts it again from your branch');
  const userTree = await treeOf(repoPath, user.commit);

  if (mode === 'squash') {
    const merged = await mergeTree(repoPath, user.commit, snap.commit);
    if (merged.conflicts.length > 0) throw conflictRefusal(laneLetter, user.name!, merged.conflicts);
    // Files copied in from the user's checkout never land, even when a run committed them on the lane's branch.
    const tree = snap.copied.length > 0 ? await withPaths(repoPath, merged.tree, user.commit, snap.copied) : merged.tree;
    if (tree === userTree) throw nothing();
    const files = await changedFiles(repoPath, user.commit, tree);
    refuseInTheWay(repoPath, files);
    const commits = (await laneCommits(repoPath, user.commit, snap.commit)).length;
    return { plan: { ...base, commits, files }, options, identity, snapshot: snap.commit, tree, copied: snap.copied };
  }

  const commits = await laneCommits(repoPath, user.commit, snap.commit);
  if (snap.copied.length > 0 && commits.length > 0) {
    const touching = (await git(repoPath, ['log', '--format=%h %s', '--no-walk', ...commits, '--', ...snap.copied.map(literal)])).trim().split('\n').filter(Boolean);
    if (touching.length > 0) {
      throw new LandRefused('copied_files_in_history',
        `lane ${laneLetter} has commits that change files copied in from your checkout (${listFiles(snap.copied)}): ${listFiles(touching, 3)}`,
        mode === 'rebase' ? 'land it with squash, which leaves those files out' : 'land it with squash, which leaves those files out, or take them out of its branch first', snap.copied);
    }
  }

  if (mode === 'rebase') {
    if (commits.length === 0) throw nothing();
    let onto = user.commit;
    const replayed: string[] = [];
    for (const commit of commits) {
      const picked = await pickTree(repoPath, commit, onto);
      if (picked.conflicts.length > 0) {
        const info = await commitInfo(repoPath, commit);
        throw new LandRefused('conflict',
          `rebasing lane ${laneLetter} onto ${user.name} conflicts at its commit ${commit.slice(0, 12)} "${info.subject}" in ${plural(picked.conflicts.length, 'file')}: ${listFiles(picked.conflicts)}`,
          'land it with squash (one merge of the whole lane), or resolve it in the lane first', picked.conflicts);
      }
      // A commit whose changes the branch already has becomes empty: dropped, as git rebase does.
      if (picked.tree === (await treeOf(repoPath, onto))) continue;
      const info = await commitInfo(repoPath, commit);
      onto = await commitTree(repoPath, picked.tree, [onto], info.message, { ...identity, ...info.author });
      replayed.push(onto);
    }
    if (replayed.length === 0) throw nothing();
    const files = await changedFiles(repoPath, user.commit, onto);
    refuseInTheWay(repoPath, files);
    return { plan: { ...base, commits: replayed.length, files }, options, identity, snapshot: snap.commit, replayed, copied: snap.copied };
  }

  // A pull request: the user's checkout stays as it is; conflicts are for the review to see.
  if (commits.length === 0) throw nothing();
  const remote = await pushRemote(repoPath, lane.branch, options.remote);
  const prBase = options.base !== undefined ? checkArgument(options.base, 'the base branch', 'name a branch of the remote') : await defaultBase(repoPath, user.name);
  const merged = await mergeTree(repoPath, user.commit, snap.commit).catch((e: unknown) => {
    if (e instanceof OcrError) return { tree: '', conflicts: [] };
    throw e;
  });
  const files = await changedFiles(repoPath, user.commit, snap.commit);
  return { plan: { ...base, commits: commits.length, files, conflicts: merged.conflicts, pr: { remote, base: prBase } }, options, identity, snapshot: snap.commit, copied: snap.copied, remote, base: prBase };
}

function conflictRefusal(lane: string, branch: string, files: string[]): LandRefused {
  return new LandRefused('conflict', `lane ${lane} conflicts with ${branch} in ${plural(files.length, 'file')}: ${listFiles(files)}`,
    `nothing was changed; merge ${branch} into the lane (or ask its agent to) and land again, or open a pull request`, files);
}

function refuseInTheWay(repoPath: string, files: LandFile[]): void {
  const blocked = inTheWay(repoPath, files);
  if (blocked.length > 0) {
    throw new LandRefused('untracked_in_the_way', `landing would overwrite files of your checkout that git does not track: ${listFiles(blocked)}`,
      'move them away (or commit them), then land again', blocked);
  }
}

/** `tree` with `paths` as `from` has them (absent where it has none), through a throwaway index. */
async function withPaths(cwd: string, tree: string, from: string, paths: string[]): Promise<string> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ocr-land-'));
  try {
    const env = { GIT_INDEX_FILE: path.join(scratch, 'index') };
    await git(cwd, ['read-tree', tree], { env });
    await git(cwd, ['reset', '--quiet', from, '--', ...paths.map(literal)], { env });
    return (await git(cwd, ['write-tree'], { env })).trim();
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ---- landing ----------------------------------------------------------------------------------------------------


/**
 * Lands the lane: see the top of this file. Squash and rebase change the user's branch only when `confirmBranch`
 * names it; every refusal leaves the user's branch, working tree and index and the lane's branch and worktree as they
 * were.
 */
export async function landLane(input: LandOptions): Promise<LandResult> {
  const options = parseInput(LandOptions, input);
  return oneAtATime(options.repoPath, async () => {
    const prepared = await prepare(options);
    const { plan } = prepared;
    if (plan.mode !== 'pr') {
      const branch = plan.userBranch.name!;
      if (options.confirmBranch !== branch) {
        throw new LandRefused('branch_not_confirmed',
          options.confirmBranch === undefined
            ? `landing lane ${plan.lane} (${plan.mode}) changes your branch ${branch}: it needs your confirmation naming it`
            : `landing lane ${plan.lane} would change your branch ${branch}, not ${options.confirmBranch}`,
          `confirm with the branch's name, ${branch}`);
      }
    }
    const laneCommit = await commitUncommitted(prepared);
    const extra = laneCommit ? { laneCommit } : {};
    if (plan.mode === 'squash') {
      const after = await commitTree(plan.repoPath, prepared.tree!, [plan.userBranch.commit], plan.message, prepared.identity);
      await moveUserBranch(plan, after, `squash lane ${plan.lane} of session ${sessionShortId(plan.sessionId)}`);
      return { mode: 'squash', plan, branch: plan.userBranch.name!, before: plan.userBranch.commit, after, ...extra };
    }
    if (plan.mode === 'rebase') {
      const after = prepared.replayed!.at(-1)!;
      await moveUserBranch(plan, after, `rebase lane ${plan.lane} of session ${sessionShortId(plan.sessionId)}`);
      await moveLane(plan, prepared.snapshot, after, `rebased onto ${plan.userBranch.name}`);
      return { mode: 'rebase', plan, branch: plan.userBranch.name!, before: plan.userBranch.commit, after, ...extra };
    }
    return { ...(await openPullRequest(prepared)), ...extra };
  });
}

/** The lane's uncommitted changes become the commit its snapshot made, on its branch; its files stay as they are. */
async function commitUncommitted(prepared: Prepared): Promise<string | undefined> {
  const { plan, snapshot } = prepared;
  if (snapshot === plan.laneTip || !plan.folder) return undefined;
  await git(plan.folder, ['update-ref', '-m', 'ocr land: the lane\'s uncommitted changes', `refs/heads/${plan.laneBranch}`, snapshot, plan.laneTip]);
  // The worktree's index follows its HEAD; files not in the commit (copied in, linked, ignored) stay untracked.
  await git(plan.folder, ['reset', '--quiet']);
  return snapshot;
}

/**
 * The user's branch, index and working tree from the commit they were on to `to`: files first (read-tree refuses,
 * changing nothing, when a local change or an untracked file is in the way), then the branch, only if it is still
 * where it was; otherwise the files go back.
 */
async function moveUserBranch(plan: LandPlan, to: string, why: string): Promise<void> {
  const from = plan.userBranch.commit;
  const repo = plan.repoPath;
  try {
    await git(repo, ['read-tree', '-m', '-u', from, to]);
  } catch (e) {
    throw new OcrError('invalid_state', `could not update the files of ${repo}: ${(e as Error).message}`, 'nothing was changed on your branch; commit or move the files named, then land again', { cause: e });
  }
  try {
    await git(repo, ['update-ref', '-m', `ocr land: ${why}`, `refs/heads/${plan.userBranch.name}`, to, from]);
  } catch (e) {
    await git(repo, ['read-tree', '-m', '-u', to, from]).catch(() => undefined);
    throw new OcrError('invalid_state', `${plan.userBranch.name} moved while lane ${plan.lane} was landing`, 'nothing was changed on your branch; land again', { cause: e });
  }
}

/** The lane's branch (and its worktree's files and index, when it has one) from `from` to `to`. */
async function moveLane(plan: LandPlan, from: string, to: string, why: string): Promise<void> {
  if (plan.folder) await git(plan.folder, ['read-tree', '-m', '-u', from, to]);
  await git(plan.folder ?? plan.repoPath, ['update-ref', '-m', `ocr land: ${why}`, `refs/heads/${plan.laneBranch}`, to, from]);
}

// ---- pull requests ----------------------------------------------------------------------------------------------

const shellQuote = (text: string): string => (/^[A-Za-z0-9_./:@=+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);
const commandLine = (argv: string[]): string => argv.map(shellQuote).join(' ');

async function pushRemote(repoPath: string, branch: string, named: string | undefined): Promise<string> {
  const hint = 'pass the remote to push to, or add one (git remote add origin URL)';
  if (named) return checkArgument(named, 'the remote', hint);
  const upstream = await gitMaybe(repoPath, ['for-each-ref', '--format=%(upstream:remotename)', '--end-of-options', `refs/heads/${branch}`]);
  const remotes = (await git(repoPath, ['remote'])).split('\n').filter((r) => r && !r.startsWith('-'));
  if (upstream && remotes.includes(upstream)) return upstream;
  if (remotes.includes('origin')) return 'origin';
  if (remotes.length === 1) return remotes[0]!;
  throw new LandRefused('no_remote', remotes.length === 0 ? `${repoPath} has no remote to push lane ${branch} to` : `${repoPath} has several remotes (${remotes.join(', ')}) and none is origin`, hint);
}

/** The branch the user's branch tracks, by its name on the remote; else the user's branch's own name. */
async function defaultBase(repoPath: string, userBranch: string | null): Promise<string | null> {
  if (!userBranch) return null;
  const merge = await gitMaybe(repoPath, ['for-each-ref', '--format=%(upstream)', '--end-of-options', `refs/heads/${userBranch}`]);
  const tracked = merge ? /^refs\/remotes\/[^/]+\/(.+)$/.exec(merge)?.[1] : undefined;
  return tracked ?? userBranch;
}

/** owner/name of a GitHub remote URL (https, ssh or scp-like), else undefined. */
export function githubRepo(url: string): string | undefined {
  const m = /^(?:https?:\/\/(?:[^@/]+@)?github\.com\/|ssh:\/\/git@github\.com(?::\d+)?\/|git@github\.com:)([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  missing: boolean;
}

function runProgram(program: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(program, args, { cwd, env, timeout: timeoutMs, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr, missing: (error as NodeJS.ErrnoException | null)?.code === 'ENOENT' });
    });
  });
}

async function openPullRequest(prepared: Prepared): Promise<Extract<LandResult, { mode: 'pr' }>> {
  const { plan, options } = prepared;
  const repo = plan.repoPath;
  const remote = prepared.remote!;
  const base = prepared.base ?? null;
  const refspec = `refs/heads/${plan.laneBranch}:refs/heads/${plan.laneBranch}`;
  const push = ['git', 'push', '--set-upstream', '--force-with-lease', remote, refspec];
  try {
    // The lane's branch is OCR's own: after a Reset Lane it is pushed again over what it was, unless someone else
    // moved it on the remote since it was last fetched or pushed (--force-with-lease).
    await git(repo, ['push', '--porcelain', ...push.slice(2)]);
  } catch (e) {
    throw new OcrError('git_failed', `could not push lane ${plan.lane} to ${remote}: ${(e as Error).message}`, `run it yourself in ${repo}: ${commandLine(push)}`, { cause: e });
  }
  const url = await gitMaybe(repo, ['remote', 'get-url', '--end-of-options', remote]);
  const github = url ? githubRepo(url) : undefined;
  const [subject, ...rest] = plan.message.split('\n');
  const body = [
    rest.join('\n').trim(),
    `Landed from lane ${plan.lane} of session ${sessionShortId(plan.sessionId)} (Ops Control Room): ${plural(plan.commits, 'commit')}, ${plural(plan.files.length, 'file')}.`,
  ].filter(Boolean).join('\n\n');
  const create = ['gh', 'pr', 'create', ...(github ? ['--repo', github] : []), '--head', plan.laneBranch, ...(base ? ['--base', base] : []), '--title', subject!.trim(), '--body', body];
  const compareUrl = github ? `https://github.com/${github}/compare/${base ? `${encodeURIComponent(base)}...` : ''}${encodeURIComponent(plan.laneBranch)}?expand=1` : undefined;
  const left = (ghSkipped: string) => ({
    mode: 'pr' as const, plan, remote, base, commands: [commandLine(create)], ghSkipped, ...(compareUrl ? { compareUrl } : {}),
  });
  if (options.gh === null) return left('gh was not to be used');
  const env = { ...process.env, ...(options.ghEnv ?? {}), GH_PROMPT_DISABLED: '1', GH_NO_UPDATE_NOTIFIER: '1' };
  const auth = await runProgram(options.gh, ['auth', 'status'], repo, env, 20_000);
  if (auth.missing) return left('gh (the GitHub CLI) is not installed');
  if (auth.code !== 0) return left(`gh is not signed in (gh auth login): ${oneLine((auth.stderr || auth.stdout).trim(), 200)}`);
  const created = await runProgram(options.gh, create.slice(1), repo, env, 120_000);
  const prUrl = /https?:\/\/\S+\/pull\/\d+/.exec(`${created.stdout}\n${created.stderr}`)?.[0];
  if (created.code === 0 || (prUrl && /already exists/.test(created.stderr))) {
    return { mode: 'pr', plan, remote, base, ...(prUrl ? { url: prUrl } : {}), commands: [], ...(compareUrl ? { compareUrl } : {}) };
  }
  return left(`gh pr create failed: ${oneLine((created.stderr || created.stdout).trim(), 300)}`);
}

// ---- Reset Lane -------------------------------------------------------------------------------------------------

const ResetOptions = LaneTarget.extend({
  /** discard changes of the lane that the user's branch does not have */
  force: z.boolean().default(false),
});
export type ResetOptions = z.input<typeof ResetOptions>;

export interface ResetResult {
  lane: string;
  laneBranch: string;
  folder?: string;
  /** the lane branch's commit before, and the user's commit it is on now */
  from: string;
  to: string;
  /** the user's branch (null on a detached HEAD) */
  userBranch: string | null;
  /** files whose changes were discarded (forced) */
  discarded: string[];
  /** the lane as it was, uncommitted changes included: a commit on no branch, until git gc removes it */
  was: string;
}

/**
 * Starts the lane again from the user's current commit: its branch and worktree move there and its worktree is clean
 * (files copied in, linked folders and ignored files such as installed dependencies stay, and so does its record that
 * setup ran). Refused while the lane has changes the user's branch does not have, unless forced.
 */
export async function resetLane(input: ResetOptions): Promise<ResetResult> {
  const options = parseInput(ResetOptions, input);
  const repoPath = await topLevel(options.repoPath);
  return oneAtATime(options.repoPath, async () => {
    const lane = await findLane(repoPath, options.sessionId, options.lane);
    const user = await userHead(repoPath);
    const snap = await snapshotLane(repoPath, lane, `lane ${options.lane} as it was before Reset Lane`, options.linkDirs, await userIdentity(repoPath));
    // Files copied in from the user's checkout never land, so they are nothing to lose here either.
    const unlanded = (await unlandedFiles(repoPath, user.commit, snap.commit)).filter((f) => !snap.copied.includes(f));
    if (unlanded.length > 0 && !options.force) {
      const where = user.name ?? user.commit.slice(0, 12);
      throw new LandRefused('unlanded_changes', `lane ${options.lane} has changes ${where} does not have: ${listFiles(unlanded)}`,
        'land them first, or reset anyway to discard them', unlanded);
    }
    const result: ResetResult = {
      lane: options.lane,
      laneBranch: lane.branch,
      ...(lane.folder ? { folder: lane.folder } : {}),
      from: snap.tip,
      to: user.commit,
      userBranch: user.name,
      discarded: unlanded,
      was: snap.commit,
    };
    if (!lane.folder) {
      await git(repoPath, ['update-ref', '-m', `ocr reset lane onto ${user.name ?? user.commit}`, `refs/heads/${lane.branch}`, user.commit, snap.tip]);
      return result;
    }
    const folder = lane.folder;
    // Moves the lane's branch with it; untracked files are cleaned next, ignored ones (dependencies) are left.
    await git(folder, ['reset', '--quiet', '--hard', user.commit]);
    const keep = new Set([...snap.copied, ...options.linkDirs.map((d) => d.replace(/[\\/]+$/, ''))]);
    const untracked = (await git(folder, ['ls-files', '-z', '--others', '--exclude-standard', '--directory', '--no-empty-directory'])).split('\0').filter(Boolean);
    const clean = untracked.filter((p) => !keep.has(p.replace(/\/$/, '')) && ![...keep].some((k) => k.startsWith(p)));
    if (clean.length > 0) await git(folder, ['clean', '--force', '-d', '--quiet', '--', ...clean.map(literal)]);
    if (snap.gitDir) await recordBase(snap.gitDir, user.commit);
    return result;
  });
}

/** What the lane (as a commit) would still change on `userCommit`: nothing once it has landed. */
async function unlandedFiles(repoPath: string, userCommit: string, laneCommit: string): Promise<string[]> {
  const merged = await mergeTree(repoPath, userCommit, laneCommit).catch((e: unknown) => {
    if (e instanceof OcrError && e.code === 'git_failed') return undefined;
    throw e;
  });
  if (!merged) return (await changedFiles(repoPath, userCommit, laneCommit)).map((f) => f.path);
  if (merged.conflicts.length > 0) return merged.conflicts;
  return (await changedFiles(repoPath, userCommit, merged.tree)).map((f) => f.path);
}

/** The lane's record names the commit its diff is taken against when the session names none. */
async function recordBase(gitDir: string, commit: string): Promise<void> {
  const record = await readLaneRecord(gitDir);
  if (record) await writeFile(path.join(gitDir, laneRecordName), JSON.stringify({ ...record, baseRef: commit }));
}

// ---- Pick -------------------------------------------------------------------------------------------------------

export interface ArchivedLane {
  lane: string;
  /** the lane's branch before, and its new name under ocr/archive/ */
  from: string;
  to: string;
  commit: string;
  /** the worktree that was removed, if the lane had one here */
  removedWorktree?: string;
}

export interface PickResult {
  landed: LandResult;
  archived: ArchivedLane[];
  /** lanes named that have no worktree or branch here */
  skipped: string[];
}

export const archiveBranch = (sessionId: string, lane: string): string => `ocr/archive/${sessionShortId(sessionId)}/${lane}`;

/**
 * "Compare attempts → Pick": lands the picked lane (as landLane does), then archives the other attempts' lanes: each
 * one's uncommitted changes are committed on its branch, its worktree is removed, and its branch is renamed to
 * ocr/archive/<session>/<lane> (…-2, -3 when that name is taken), so nothing an attempt did is lost and its lane can
 * start afresh. Archiving happens only after the landing succeeded.
 */
export async function pickLane(input: LandOptions & { archive: string[] }): Promise<PickResult> {
  const archive = parseInput(z.array(laneName), input.archive, 'archive').filter((l) => l !== input.lane);
  const landed = await landLane(input);
  const options = parseInput(LandOptions, input);
  const repoPath = landed.plan.repoPath;
  const result: PickResult = { landed, archived: [], skipped: [] };
  await oneAtATime(options.repoPath, async () => {
    const lanes = await sessionLaneWorktrees(repoPath, options.sessionId);
    const identity = await userIdentity(repoPath);
    for (const letter of archive) {
      const lane = lanes.find((l) => l.lane === letter);
      if (!lane) {
        result.skipped.push(letter);
        continue;
      }
      result.archived.push(await archiveLane(repoPath, options.sessionId, lane, options.linkDirs, identity));
    }
  });
  return result;
}

async function archiveLane(repoPath: string, sessionId: string, lane: LaneWorktree, linkDirs: string[], identity: NodeJS.ProcessEnv): Promise<ArchivedLane> {
  const snap = await snapshotLane(repoPath, lane, `lane ${lane.lane} as it was when another attempt was picked`, linkDirs, identity);
  if (snap.commit !== snap.tip) await git(repoPath, ['update-ref', '-m', 'ocr pick: the lane\'s uncommitted changes', `refs/heads/${lane.branch}`, snap.commit, snap.tip]);
  let removedWorktree: string | undefined;
  if (lane.folder) {
    await git(repoPath, ['worktree', 'remove', '--force', '--force', '--end-of-options', lane.folder]).catch(async (e: unknown) => {
      if (!(e instanceof GitError)) throw e;
      await rm(lane.folder!, { recursive: true, force: true });
      await git(repoPath, ['worktree', 'prune']);
    });
    removedWorktree = lane.folder;
  }
  let to = archiveBranch(sessionId, lane.lane);
  for (let n = 2; (await gitMaybe(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${to}`])) !== undefined; n++) {
    to = `${archiveBranch(sessionId, lane.lane)}-${n}`;
  }
  await git(repoPath, ['branch', '-m', '--end-of-options', lane.branch, to]);
  return { lane: lane.lane, from: lane.branch, to, commit: snap.commit, ...(removedWorktree ? { removedWorktree } : {}) };
}

// ---- for the CLI and the editor ---------------------------------------------------------------------------------

/** The commit message a landing proposes: the run's intent, its first line as the subject. */
export function defaultLandMessage(run: Pick<Run, 'intent' | 'lane'> | undefined, session: Pick<Session, 'id' | 'title'>, lane: string): string {
  const intent = run?.intent.trim() ?? '';
  if (!intent) return `${session.title}: lane ${lane}`;
  const [first, ...rest] = intent.split('\n');
  const subject = first!.trim();
  if (subject.length <= 72 && rest.join('').trim() === '') return subject;
  return `${oneLine(subject, 72)}\n\n${intent}`;
}

/** The lane's newest run, finished ones first: what a landing of the lane takes its message from. */
export async function laneRunForMessage(store: Store, sessionId: string, lane: string): Promise<Run | undefined> {
  const [finished] = await store.listRuns({ sessionId, lane, status: ['succeeded', 'failed', 'canceled'], limit: 1 });
  return finished ?? (await store.listRuns({ sessionId, lane, limit: 1 }))[0];
}

/** Refuses while a run is running in the lane: its worktree is changing under it. */
export async function refuseBusyLane(store: Store, sessionId: string, lane: string): Promise<void> {
  const [running] = await store.listRuns({ sessionId, lane, status: ['running'], limit: 1 });
  if (running) {
    throw new LandRefused('lane_busy', `lane ${lane} has a running run (${shortId(running.id)}); its worktree is changing`, 'wait for it to end, or cancel it, then try again');
  }
}
