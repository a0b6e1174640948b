// Lane worktrees share their repository's git folder: a run that types `git config core.hooksPath …` in its worktree,
// or writes to `$(git rev-parse --git-common-dir)/config` or its hooks folder, changes the user's own repository, and
// the user's next `git commit` there runs what the run put in. The worker takes what those files were before a run
// and, after it, puts back whatever the run changed, naming each change in the run's log.
//
// Guarded: the repository's shared config (<common dir>/config), the user's worktree's own config.worktree, and the
// hooks folder (<common dir>/hooks, every file, link and folder in it). Runs of one repository that overlap share one
// "before": the state when the first of them started, kept until the last one ends, so a run that starts after another
// changed the config does not take that change for the user's.
//
// extensions.worktreeConfig does not isolate lanes: with it, plain `git config` in a worktree still writes the shared
// file (only `git config --worktree` writes the worktree's own), and turning it on changes the repository's format
// for every tool that reads it. Nor is this a sandbox: a run is a program of the user's, which can write anywhere the
// user can; this undoes the changes a run makes to the user's repository through git's own shared files.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, open, readdir, readFile, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { git, GitError, repositoryGitDirs } from './git';

export interface RepoConfigGuard {
  /**
   * Puts back what changed since the guard was taken (once; later calls answer []) and answers what changed, one line
   * per file or folder for the run's log; [] when nothing did.
   */
  restore(): Promise<string[]>;
}

type Entry = { kind: 'file'; mode: number; content: Buffer } | { kind: 'link'; target: string } | { kind: 'dir'; mode: number };
/** absolute path → what was there; a path that is absent has no entry */
type Snapshot = Map<string, Entry>;

interface Guarded {
  files: string[];
  hooks: string;
  before: Promise<Snapshot>;
  users: number;
  /** restores of this repository, one after another */
  queue: Promise<unknown>;
}

const guarded = new Map<string, Guarded>();

/** Takes the state of `repoPath`'s shared git files; call `restore()` after the run, whatever way it ended. */
export async function protectRepoConfig(repoPath: string): Promise<RepoConfigGuard> {
  let common: string;
  let own: string;
  try {
    ({ common, own } = await repositoryGitDirs(repoPath));
  } catch (e) {
    if (!(e instanceof GitError)) throw e;
    return { restore: async () => [`could not guard the git config of ${repoPath}, so a change the run made to it is not undone: ${e.message}`] };
  }
  common = path.resolve(common);
  let entry = guarded.get(common);
  if (!entry) {
    const files = [path.join(common, 'config'), path.join(path.resolve(own), 'config.worktree')];
    const hooks = path.join(common, 'hooks');
    entry = { files, hooks, before: snapshot(files, hooks), users: 0, queue: Promise.resolve() };
    guarded.set(common, entry);
  }
  const shared = entry;
  shared.users += 1;
  // The run starts only once the state from before it is taken (a failure to take it is told by restore()).
  await shared.before.catch(() => undefined);
  let done = false;
  return {
    restore: async () => {
      if (done) return [];
      done = true;
      const run = shared.queue.then(() => putBack(shared));
      shared.queue = run.catch(() => undefined);
      try {
        return await run;
      } catch (e) {
        return [`could not check the git config of ${repoPath} after the run: ${(e as Error).message}`];
      } finally {
        shared.users -= 1;
        if (shared.users === 0 && guarded.get(common) === shared) guarded.delete(common);
      }
    },
  };
}

async function putBack(shared: Guarded): Promise<string[]> {
  const before = await shared.before;
  const after = await snapshot(shared.files, shared.hooks);
  const changes: string[] = [];
  for (const file of shared.files) {
    const was = before.get(file);
    const is = after.get(file);
    if (same(was, is)) continue;
    changes.push(`the run changed ${file} (${await describeConfigChange(was, is)}); restored it as it was`);
    await restoreEntry(file, was, is);
  }
  const hookPaths = [...new Set([...before.keys(), ...after.keys()])].filter((p) => p === shared.hooks || p.startsWith(shared.hooks + path.sep)).sort();
  const changed = hookPaths.filter((p) => !same(before.get(p), after.get(p)));
  if (changed.length > 0) {
    const named = changed.map((p) => `${before.has(p) ? (after.has(p) ? 'changed' : 'removed') : 'added'} ${path.relative(shared.hooks, p) || '(the folder itself)'}`);
    changes.push(`the run changed the hooks folder ${shared.hooks} (${named.join(', ')}); restored it as it was`);
    // Removals deepest first, then what was there from the top down.
    for (const p of [...changed].reverse()) if (!before.has(p)) await rm(p, { recursive: true, force: true });
    for (const p of changed) if (before.has(p)) await restoreEntry(p, before.get(p), after.get(p));
  }
  return changes;
}

function same(a: Entry | undefined, b: Entry | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind === 'file' && b.kind === 'file') return a.mode === b.mode && a.content.equals(b.content);
  if (a.kind === 'link' && b.kind === 'link') return a.target === b.target;
  if (a.kind === 'dir' && b.kind === 'dir') return a.mode === b.mode;
  return false;
}

async function restoreEntry(file: string, was: Entry | undefined, is: Entry | undefined): Promise<void> {
  if (!was) {
    await rm(file, { recursive: true, force: true });
    return;
  }
  if (was.kind === 'dir') {
    if (is?.kind !== 'dir') await rm(file, { recursive: true, force: true });
    await mkdir(file, { recursive: true });
    await chmod(file, was.mode);
    return;
  }
  if (is?.kind === 'dir') await rm(file, { recursive: true, force: true });
  if (was.kind === 'link') {
    await rm(file, { force: true });
    await symlink(was.target, file);
    return;
  }
  await replaceFile(file, was.content, was.mode);
}

/**
 * Writes `file` the way git does: into `<file>.lock`, created only if no git holds it, then renamed over the file, so
 * a git writing the same file at that moment fails rather than mixing with it.
 */
async function replaceFile(file: string, content: Buffer, mode: number): Promise<void> {
  const lock = `${file}.lock`;
  const handle = await open(lock, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
  await rename(lock, file).catch(async (e: unknown) => {
    await unlink(lock).catch(() => undefined);
    throw e;
  });
}

async function snapshot(files: string[], hooks: string): Promise<Snapshot> {
  const result: Snapshot = new Map();
  for (const file of files) await take(file, result, false);
  await take(hooks, result, true);
  return result;
}

async function take(file: string, into: Snapshot, recurse: boolean): Promise<void> {
  let stat;
  try {
    stat = await lstat(file);
  } catch {
    return; // absent
  }
  const mode = stat.mode & 0o7777;
  if (stat.isSymbolicLink()) into.set(file, { kind: 'link', target: await readlink(file) });
  else if (stat.isFile()) into.set(file, { kind: 'file', mode, content: await readFile(file) });
  else if (stat.isDirectory()) {
    into.set(file, { kind: 'dir', mode });
    if (recurse) for (const name of await readdir(file)) await take(path.join(file, name), into, true);
  }
}

/** "added core.hookspath=/tmp/x; removed …", or what else became of the file, in words. */
async function describeConfigChange(was: Entry | undefined, is: Entry | undefined): Promise<string> {
  if (!is) return 'removed it';
  if (is.kind !== 'file') return `made it a ${is.kind === 'link' ? `link to ${is.target}` : 'folder'}`;
  if (was && was.kind !== 'file') return 'made it a file';
  if (was && was.mode !== is.mode && was.content.equals(is.content)) return `changed its mode to ${is.mode.toString(8)}`;
  const [before, after] = await Promise.all([configLines(was?.kind === 'file' ? was.content : Buffer.alloc(0)), configLines(is.content)]);
  if (!before || !after) return 'wrote what git cannot read as config';
  const added = without(after, before);
  const removed = without(before, after);
  const parts = [...(added.length ? [`added ${added.join(', ')}`] : []), ...(removed.length ? [`removed ${removed.join(', ')}`] : [])];
  return parts.join('; ') || 'rewrote it with the same settings';
}

/** Each item of `a` that `b` does not have (as many times as `a` has it more often). */
function without(a: string[], b: string[]): string[] {
  const left = [...b];
  return a.filter((item) => {
    const i = left.indexOf(item);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

/** The settings of a config file's content as `key=value` lines, or undefined when git cannot read it. */
async function configLines(content: Buffer): Promise<string[] | undefined> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ocr-config-'));
  try {
    const file = path.join(scratch, `config-${randomBytes(4).toString('hex')}`);
    await writeFile(file, content);
    const out = await git(scratch, ['config', '--file', file, '--list', '-z']);
    return out.split('\0').filter(Boolean).map((item) => item.replace('\n', '='));
  } catch (e) {
    if (e instanceof GitError) return undefined;
    throw e;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
