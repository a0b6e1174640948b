// Where a lane's runs happen: one git worktree per (session, lane) on branch ocr/<session-short-id>/<lane>, outside
// the user's working tree, shared by the lane's runs one after another. Sessions without a repository get a plain
// scratch folder in the same place.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { OcrError } from '../store/errors';
import { defaultDataFolder } from '../store/embedded';
import type { Session } from '../../domain';
import { checkArgument, git, GitError, gitMaybe, repositoryGitDirs } from './git';
import { checkLinkDirs, linkDirs, type LinkMode } from './link-dirs';
import { oneAtATime } from './repo-lock';

export const defaultCopyFiles = ['.env', '.env.local'];

/** Next to the embedded database's folder, so one place holds everything OCR keeps for the user. */
export function defaultWorktreeRoot(): string {
  return process.env.OCR_WORKTREES || path.join(path.dirname(defaultDataFolder()), 'worktrees');
}

export const sessionShortId = (sessionId: string): string => sessionId.replace(/-/g, '').slice(0, 8);
export const laneBranch = (sessionId: string, lane: string): string => `ocr/${sessionShortId(sessionId)}/${lane}`;
export const laneFolder = (root: string, sessionId: string, lane: string): string =>
  path.join(root, sessionShortId(sessionId), lane);

export interface LaneWorkspace {
  folder: string;
  /** absent for a scratch folder */
  git?: {
    repoPath: string;
    branch: string;
    /** what the lane's diff is taken against */
    baseRef: string;
    /** files copied in from the user's tree; never part of the diff */
    copied: string[];
  };
  /** this call created it */
  created: boolean;
  /** the setup command has not run to success in it yet */
  needsSetup: boolean;
  /** records that the setup command succeeded */
  markSetupDone(): Promise<void>;
}

const LaneRecord = z.object({
  baseRef: z.string(),
  copied: z.array(z.string()).default([]),
  setupDone: z.boolean().default(false),
});
type LaneRecord = z.infer<typeof LaneRecord>;
// Kept in the worktree's private git folder: invisible to the diff, removed with the worktree.
const recordName = 'ocr-lane.json';

export interface PrepareOptions {
  root: string;
  session: Pick<Session, 'id' | 'base_ref' | 'repo_url'>;
  lane: string;
  /** the local clone; absent for sessions without a repository */
  repoPath?: string;
  copyFiles?: string[];
  /** folders of the user's checkout a new worktree gets without installing them again (node_modules, .venv) */
  linkDirs?: string[];
  /** how they get there; default auto */
  linkMode?: LinkMode;
  hasSetupCommand?: boolean;
  /** a line for the run's log: what was created, fetched, copied */
  note?: (text: string) => void;
}

export async function prepareLaneWorkspace(options: PrepareOptions): Promise<LaneWorkspace> {
  const folder = laneFolder(options.root, options.session.id, options.lane);
  if (options.repoPath) checkSessionRefs(options.session);
  if (!options.repoPath) {
    const created = !existsSync(folder);
    await mkdir(folder, { recursive: true });
    return { folder, created, needsSetup: false, markSetupDone: async () => undefined };
  }
  const repoPath = options.repoPath;
  // git keeps one worktree list per repository; two lanes creating theirs at once would race on it.
  return oneAtATime(repoPath, () => prepareWorktree(folder, repoPath, options));
}

const refHint = 'start the session again from a commit hash or a branch name of the repository';

/**
 * The session's base ref and URL reach git as arguments: refused here, before any git runs and before anything is
 * made, when git could read them as options.
 */
function checkSessionRefs(session: Pick<Session, 'base_ref' | 'repo_url'>): void {
  if (session.base_ref !== null && session.base_ref !== undefined) checkArgument(session.base_ref, "the session's base ref", refHint);
  if (session.repo_url !== null && session.repo_url !== undefined) {
    checkArgument(session.repo_url, "the session's repository URL", 'start the session again from a clone whose origin is a URL or a path');
  }
}

async function prepareWorktree(laneRoot: string, repoPath: string, options: PrepareOptions): Promise<LaneWorkspace> {
  const branch = laneBranch(options.session.id, options.lane);
  const note = options.note ?? (() => undefined);
  let folder = laneRoot;
  let created = false;
  let record: LaneRecord | undefined;
  let gitDir = await worktreeGitDir(folder, repoPath);
  if (!gitDir) {
    // Another worker of this machine (the editor's, or one with another worktree root) may have made the lane's
    // worktree already. git lets a branch be checked out once, and the lane runs one run at a time, so use that one.
    const existing = await worktreeOfBranch(repoPath, branch);
    if (existing && existsSync(existing)) {
      gitDir = await worktreeGitDir(existing, repoPath);
      if (gitDir) {
        folder = existing;
        note(`using the lane's worktree ${existing}`);
      }
    }
  }
  if (gitDir) {
    record = await readRecord(gitDir);
  } else {
    if (existsSync(folder) && (await stat(folder)).isDirectory() && !(await isEmptyFolder(folder))) {
      throw new OcrError(
        'workspace_failed',
        `the lane folder ${folder} exists but is not a worktree of ${repoPath}`,
        'move it away or delete it; the worker creates the worktree there',
      );
    }
    // Refused before anything is made: a wrong folder name leaves no worktree behind.
    const toLink = await checkLinkDirs(repoPath, options.linkDirs ?? []);
    const baseRef = options.session.base_ref ?? (await git(repoPath, ['rev-parse', '--verify', '--end-of-options', 'HEAD^{commit}'])).trim();
    await ensureCommit(repoPath, baseRef, options.session.repo_url, note);
    await mkdir(path.dirname(folder), { recursive: true });
    await git(repoPath, ['worktree', 'prune']);
    const branchExists = (await gitMaybe(repoPath, ['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}`])) !== undefined;
    // A branch left from an earlier worktree (its folder deleted) keeps the lane's work: check it out again.
    if (branchExists) await git(repoPath, ['worktree', 'add', '--end-of-options', folder, branch]);
    else await git(repoPath, ['worktree', 'add', '-b', branch, '--end-of-options', folder, baseRef]);
    gitDir = await worktreeGitDir(folder, repoPath);
    if (!gitDir) throw new OcrError('workspace_failed', `git created no worktree at ${folder}`);
    const copied = await copyUserFiles(repoPath, folder, options.copyFiles ?? defaultCopyFiles);
    note(`created worktree ${folder} on branch ${branch}${branchExists ? '' : ` from ${baseRef.slice(0, 12)}`}`);
    if (copied.length > 0) note(`copied ${copied.join(', ')} from ${repoPath}`);
    if (toLink.length > 0) {
      try {
        await linkDirs(folder, toLink, options.linkMode ?? 'auto', note);
      } catch (e) {
        // Without its record the half-linked worktree would be taken as ready by the next run: it goes, with a
        // branch this call made.
        await git(repoPath, ['worktree', 'remove', '--force', '--force', '--end-of-options', folder]).catch(() => rm(folder, { recursive: true, force: true }));
        await gitMaybe(repoPath, ['worktree', 'prune']);
        if (!branchExists) await gitMaybe(repoPath, ['branch', '-D', '--end-of-options', branch]);
        throw e;
      }
    }
    record = { baseRef, copied, setupDone: false };
    await writeRecord(gitDir, record);
    created = true;
  }
  const lane = record ?? { baseRef: options.session.base_ref ?? '', copied: [], setupDone: false };
  const recordDir = gitDir;
  return {
    folder,
    // the lane's own record first: Reset Lane moves its base to the branch it was reset to
    git: { repoPath, branch, baseRef: lane.baseRef || options.session.base_ref || '', copied: lane.copied },
    created,
    needsSetup: Boolean(options.hasSetupCommand) && !lane.setupDone,
    markSetupDone: () => writeRecord(recordDir, { ...lane, setupDone: true }),
  };
}

/** One worktree of a repository, as `git worktree list` tells it. */
export interface ListedWorktree {
  folder: string;
  /** the branch checked out there, without refs/heads/; none for a detached HEAD */
  branch?: string;
  /** git would prune it: its folder is gone */
  prunable: boolean;
}

/** Every worktree of `repoPath` (the main checkout first). Rejects with a GitError when it is not a repository. */
export async function listWorktrees(repoPath: string): Promise<ListedWorktree[]> {
  const listing = await git(repoPath, ['worktree', 'list', '--porcelain', '-z']);
  // -z: one attribute per NUL-ended field, a worktree's fields ended by an empty one (a folder may hold a newline).
  const worktrees: ListedWorktree[] = [];
  let current: Partial<ListedWorktree> = {};
  for (const field of listing.split('\0')) {
    if (field === '') {
      if (current.folder) worktrees.push({ folder: current.folder, ...(current.branch ? { branch: current.branch } : {}), prunable: current.prunable ?? false });
      current = {};
    } else if (field.startsWith('worktree ')) current.folder = field.slice('worktree '.length);
    else if (field.startsWith('branch refs/heads/')) current.branch = field.slice('branch refs/heads/'.length);
    else if (field === 'prunable' || field.startsWith('prunable ')) current.prunable = true;
  }
  return worktrees;
}

/** Where `branch` is checked out in a worktree of `repoPath`, if anywhere. */
async function worktreeOfBranch(repoPath: string, branch: string): Promise<string | undefined> {
  try {
    return (await listWorktrees(repoPath)).find((w) => w.branch === branch)?.folder;
  } catch (e) {
    if (e instanceof GitError) return undefined;
    throw e;
  }
}

/**
 * The worktree's private git folder when `folder` is a worktree of `repoPath`, else undefined. Read from the files git
 * keeps for it (`folder/.git` names the private folder, whose `commondir` names the repository's), not asked of git:
 * every run of a lane passes here before its command starts, and git would be two processes per question.
 */
async function worktreeGitDir(folder: string, repoPath: string): Promise<string | undefined> {
  let pointer: string;
  try {
    pointer = await readFile(path.join(folder, '.git'), 'utf8'); // a folder (a clone, not a worktree) fails here too
  } catch {
    return undefined;
  }
  const named = /^gitdir: (.+)$/m.exec(pointer)?.[1]?.trim();
  if (!named) return undefined;
  const gitDir = path.resolve(folder, named);
  let common: string;
  try {
    if (!existsSync(path.join(gitDir, 'HEAD'))) return undefined;
    common = await realpath(path.resolve(gitDir, (await readFile(path.join(gitDir, 'commondir'), 'utf8')).trim()));
  } catch {
    return undefined;
  }
  let own: string;
  try {
    own = (await repositoryGitDirs(repoPath)).common;
  } catch (e) {
    if (e instanceof GitError) return undefined;
    throw e;
  }
  return common === own ? gitDir : undefined;
}

/** A machine that never had the session's base commit fetches it: by hash first, then everything. */
async function ensureCommit(repoPath: string, ref: string, repoUrl: string | null, note: (text: string) => void): Promise<void> {
  checkArgument(ref, "the session's base ref", refHint);
  const has = async () => (await gitMaybe(repoPath, ['cat-file', '-e', '--end-of-options', `${ref}^{commit}`])) !== undefined;
  if (await has()) return;
  // A remote whose name git could read as an option is not one a person made; it is skipped.
  const remotes = (await git(repoPath, ['remote'])).split('\n').filter((r) => r && !r.startsWith('-'));
  const sources = [...new Set([...(remotes.includes('origin') ? ['origin'] : []), ...(repoUrl ? [repoUrl] : []), ...remotes])];
  for (const source of sources) {
    note(`fetching ${ref.slice(0, 12)} from ${source}`);
    for (const args of [['fetch', '--quiet', '--end-of-options', source, ref], ['fetch', '--quiet', '--end-of-options', source]]) {
      try {
        await git(repoPath, args);
      } catch (e) {
        if (!(e instanceof GitError)) throw e;
      }
      if (await has()) return;
    }
  }
  throw new OcrError(
    'repo_unavailable',
    `the session's base commit ${ref} is not in ${repoPath}${sources.length ? ` and could not be fetched from ${sources.join(', ')}` : ', which has no remote to fetch it from'}`,
    'push the commit the session started from, or serve this session from a machine that has it',
  );
}

async function copyUserFiles(from: string, to: string, names: string[]): Promise<string[]> {
  const copied: string[] = [];
  for (const name of names) {
    const source = path.resolve(from, name);
    const target = path.resolve(to, name);
    // Only files inside the tree, and never over what the checkout itself brought.
    if (!source.startsWith(from + path.sep) || !target.startsWith(to + path.sep) || existsSync(target)) continue;
    try {
      if (!(await stat(source)).isFile()) continue;
    } catch {
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(source, target);
    copied.push(path.relative(to, target));
  }
  return copied;
}

async function readRecord(gitDir: string): Promise<LaneRecord | undefined> {
  try {
    return LaneRecord.parse(JSON.parse(await readFile(path.join(gitDir, recordName), 'utf8')));
  } catch {
    return undefined;
  }
}

async function writeRecord(gitDir: string, record: LaneRecord): Promise<void> {
  await writeFile(path.join(gitDir, recordName), JSON.stringify(record));
}

async function isEmptyFolder(folder: string): Promise<boolean> {
  return (await readdir(folder)).length === 0;
}


export interface CleanResult {
  removedWorktrees: string[];
  deletedBranches: string[];
  removedFolders: string[];
}

/**
 * Removes a session's worktrees (changes in them are discarded) and, unless kept, their branches; then its folder
 * under the root (scratch folders included). Safe to call twice. With `dryRun`, answers what it would remove and
 * changes nothing. The session's id may be its short id alone (all a worktree's folder and branch tell of it).
 */
export async function cleanSessionWorktrees(
  session: Pick<Session, 'id' | 'repo_path'>,
  options: { keepBranches?: boolean; worktreeRoot?: string; repoPath?: string; dryRun?: boolean } = {},
): Promise<CleanResult> {
  const dryRun = Boolean(options.dryRun);
  const result: CleanResult = { removedWorktrees: [], deletedBranches: [], removedFolders: [] };
  const prefix = `ocr/${sessionShortId(session.id)}/`;
  const repoPath = options.repoPath ?? session.repo_path ?? undefined;
  if (repoPath && existsSync(repoPath) && (await gitMaybe(repoPath, ['rev-parse', '--git-dir']))) {
    for (const { folder: worktree, branch } of await listWorktrees(repoPath)) {
      if (!branch?.startsWith(prefix)) continue;
      // Twice forced: a locked worktree is still the session's to remove.
      if (!dryRun) {
        await git(repoPath, ['worktree', 'remove', '--force', '--force', '--end-of-options', worktree]).catch(async (e: unknown) => {
          if (!(e instanceof GitError)) throw e;
          await rm(worktree, { recursive: true, force: true });
        });
      }
      result.removedWorktrees.push(worktree);
    }
    if (!dryRun) await git(repoPath, ['worktree', 'prune']);
    if (!options.keepBranches) {
      const branches = (await git(repoPath, ['for-each-ref', '--format=%(refname:short)', '--end-of-options', `refs/heads/${prefix}`]))
        .split('\n')
        .filter(Boolean);
      if (branches.length > 0 && !dryRun) await git(repoPath, ['branch', '-D', '--end-of-options', ...branches]);
      result.deletedBranches.push(...branches);
    }
  }
  const folder = path.join(options.worktreeRoot ?? defaultWorktreeRoot(), sessionShortId(session.id));
  if (existsSync(folder)) {
    if (!dryRun) await rm(folder, { recursive: true, force: true });
    result.removedFolders.push(folder);
  }
  return result;
}
