// Folders a new lane worktree takes from the user's checkout instead of installing them again (node_modules, .venv):
// a copy-on-write clone where the filesystem can make one, else a hard-linked copy, or a symbolic link when asked.
// Each way costs a different thing on write, which is why the log line says which one was used.
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readlink, link, realpath, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { OcrError } from '../store/errors';
import { gitMaybe } from './git';

/** auto: a clone where the filesystem supports one, else hard links (else a plain copy, across filesystems) */
export const LinkMode = z.enum(['auto', 'clone', 'hardlink', 'symlink']);
export type LinkMode = z.infer<typeof LinkMode>;

const nameHint = 'name a folder of your checkout by its path relative to the repository root, such as node_modules or .venv';

/** One entry of `worktrees.linkDirs`: a relative path inside the checkout, checked before any git or file work. */
export const LinkDirName = z
  .string()
  .min(1, 'a folder name such as node_modules')
  .refine((v) => !path.isAbsolute(v) && !/^[A-Za-z]:/.test(v), 'a path relative to the repository root, not an absolute one')
  .refine((v) => !v.split(/[\\/]/).includes('..'), 'a folder inside the repository: ".." is not allowed')
  // eslint-disable-next-line no-control-regex
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), 'no control characters')
  .refine((v) => {
    const first = v.split(/[\\/]/).filter((s) => s && s !== '.')[0];
    return first !== undefined && first !== '.git';
  }, 'a folder of the checkout, not the repository root or its .git folder');

/** How a folder got into the worktree, as said in the run's log. */
export type LinkedBy = 'clone' | 'hardlink' | 'copy' | 'symlink';

export interface LinkedDir {
  name: string;
  by: LinkedBy;
  ms: number;
}

const what: Record<LinkedBy, string> = {
  clone: 'as a copy-on-write clone (a private copy: writes stay in this lane)',
  hardlink:
    "as a hard-linked copy (files are shared with your checkout: a write into an existing file changes your checkout's file too; adding, deleting or replacing files does not)",
  copy: 'as a plain copy (a private copy: writes stay in this lane)',
  symlink: "as a symbolic link to your checkout's folder (the same folder: every change in this lane is a change in yours)",
};

interface Checked {
  name: string;
  source: string;
}

/**
 * Every named folder, or an invalid_input error naming the first that cannot be linked: not a relative path inside the
 * checkout, missing, not a folder, or tracked by git (a tracked folder is the branch's to check out, not to link).
 * Runs before the worktree is made, so a refusal leaves nothing behind.
 */
export async function checkLinkDirs(repoPath: string, names: readonly string[]): Promise<Checked[]> {
  const root = await realpath(repoPath);
  const checked: Checked[] = [];
  for (const raw of names) {
    const parsed = LinkDirName.safeParse(raw);
    if (!parsed.success) {
      throw new OcrError('invalid_input', `worktrees.linkDirs: "${raw}": ${parsed.error.issues[0]?.message ?? 'not a folder name'}`, nameHint);
    }
    const name = path.normalize(raw).replace(/[\\/]+$/, '');
    const source = path.join(root, name);
    let isDir = false;
    try {
      const st = await lstat(source);
      isDir = st.isDirectory();
      if (st.isSymbolicLink()) throw new OcrError('invalid_input', `worktrees.linkDirs: "${raw}" in ${repoPath} is a symbolic link`, 'name the folder it points to, inside the repository');
    } catch (e) {
      if (e instanceof OcrError) throw e;
      throw new OcrError('invalid_input', `worktrees.linkDirs: "${raw}" does not exist in ${repoPath}`, 'install it in your checkout first (npm ci, python -m venv .venv), or take it out of the list');
    }
    if (!isDir) throw new OcrError('invalid_input', `worktrees.linkDirs: "${raw}" in ${repoPath} is not a folder`, nameHint);
    // A parent that is a symbolic link could lead outside the repository.
    const real = await realpath(source);
    if (!real.startsWith(root + path.sep)) {
      throw new OcrError('invalid_input', `worktrees.linkDirs: "${raw}" leads outside ${repoPath} (to ${real})`, nameHint);
    }
    const tracked = await gitMaybe(repoPath, ['ls-files', '-z', '--cached', '--', `:(literal)${name.split(path.sep).join('/')}`]);
    if (tracked === undefined) throw new OcrError('workspace_failed', `could not ask git whether "${raw}" is tracked in ${repoPath}`);
    if (tracked !== '') {
      throw new OcrError(
        'invalid_input',
        `worktrees.linkDirs: "${raw}" is tracked by git in ${repoPath}; only ignored or untracked folders are linked`,
        `take "${raw}" out of worktrees.linkDirs: the lane's checkout already has its tracked files`,
      );
    }
    checked.push({ name, source });
  }
  return checked;
}

/**
 * Makes each checked folder available in the new worktree; a folder the worktree's checkout already has is left as it
 * is. When one fails, what was made for it is removed and the error names it.
 */
export async function linkDirs(
  worktree: string,
  dirs: readonly Checked[],
  mode: LinkMode,
  note: (text: string) => void = () => undefined,
): Promise<LinkedDir[]> {
  const linked: LinkedDir[] = [];
  for (const dir of dirs) {
    const target = path.join(worktree, dir.name);
    if (await exists(target)) {
      note(`left ${dir.name} as the lane's checkout has it; not linked`);
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    const started = performance.now();
    const by = await linkOne(dir, target, mode);
    const ms = performance.now() - started;
    linked.push({ name: dir.name, by, ms });
    const ignored = (await gitMaybe(worktree, ['check-ignore', '-q', '--', `${dir.name.split(path.sep).join('/')}/`])) !== undefined;
    note(`linked ${dir.name} ${what[by]} in ${formatMs(ms)}${ignored ? '' : `; git does not ignore ${dir.name} in this lane, so its files count as the lane's changes: add it to .gitignore`}`);
  }
  return linked;
}

async function linkOne(dir: Checked, target: string, mode: LinkMode): Promise<LinkedBy> {
  const attempts: LinkedBy[] =
    mode === 'auto'
      ? [...((await clonesBetween(dir.source, path.dirname(target))) ? (['clone'] as const) : []), 'hardlink', 'copy']
      : mode === 'clone'
        ? ['clone']
        : mode === 'hardlink'
          ? ['hardlink']
          : ['symlink'];
  const failures: string[] = [];
  for (const by of attempts) {
    try {
      await make(by, dir.source, target);
      return by;
    } catch (e) {
      await rm(target, { recursive: true, force: true });
      failures.push(`${by}: ${(e as Error).message.trim().split('\n').slice(-1)[0]}`);
    }
  }
  throw new OcrError(
    'workspace_failed',
    `could not link ${dir.name} into the lane's worktree (${failures.join('; ')})`,
    mode === 'clone'
      ? 'this filesystem makes no copy-on-write clones: set the link mode to auto or hardlink'
      : mode === 'hardlink'
        ? 'hard links need the worktrees on the same filesystem as your checkout: set the link mode to auto, or move the worktree root'
        : 'check that the worktree root is writable, or take the folder out of worktrees.linkDirs',
  );
}

// Whether a filesystem pair makes clones, by device numbers: a refused clone of a big folder fails only after copying
// its folders up to the first file, which costs auto more than the hard links it then makes.
const cloneSupport = new Map<string, boolean>();

async function clonesBetween(source: string, targetFolder: string): Promise<boolean> {
  if (process.platform !== 'linux' && process.platform !== 'darwin') return false;
  const key = `${(await lstat(source)).dev}:${(await lstat(targetFolder)).dev}`;
  const known = cloneSupport.get(key);
  if (known !== undefined) return known;
  const file = await firstFile(source, 3);
  // Nothing to try it with: the folder clone itself is the test.
  if (!file) return true;
  const probe = path.join(targetFolder, `.ocr-clone-probe-${process.pid}-${Date.now()}`);
  let ok: boolean;
  try {
    await cp(process.platform === 'darwin' ? ['-c', '--', file, probe] : ['--reflink=always', '--', file, probe]);
    ok = true;
  } catch {
    ok = false;
  }
  await rm(probe, { force: true });
  cloneSupport.set(key, ok);
  return ok;
}

/** A regular file at most `depth` folders down, looked for breadth first. */
async function firstFile(folder: string, depth: number): Promise<string | undefined> {
  let level = [folder];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const next: string[] = [];
    for (const dir of level) {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      const file = entries.find((e) => e.isFile());
      if (file) return path.join(dir, file.name);
      next.push(...entries.filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name)));
    }
    level = next.slice(0, 50);
  }
  return undefined;
}

async function make(by: LinkedBy, source: string, target: string): Promise<void> {
  const linux = process.platform === 'linux';
  const mac = process.platform === 'darwin';
  switch (by) {
    case 'clone':
      if (linux) return cp(['-a', '--reflink=always', '--', source, target]);
      if (mac) return cp(['-a', '-c', '--', source, target]); // clonefile(2): APFS
      throw new Error('copy-on-write clones are made on Linux and macOS only');
    case 'hardlink':
      if (linux) return cp(['-a', '-l', '--', source, target]);
      return hardLinkTree(source, target); // BSD cp has no -l
    case 'copy':
      return cp(['-a', '--', source, target]);
    case 'symlink':
      return symlink(source, target, process.platform === 'win32' ? 'junction' : 'dir');
  }
}

function cp(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('cp', args, { maxBuffer: 1024 * 1024 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(stderr.trim() || error.message));
      else resolve();
    });
  });
}

/** Folders made anew, files hard-linked, symbolic links copied as links. */
async function hardLinkTree(source: string, target: string): Promise<void> {
  await mkdir(target);
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = path.join(source, entry.name);
    const to = path.join(target, entry.name);
    if (entry.isDirectory()) await hardLinkTree(from, to);
    else if (entry.isSymbolicLink()) await symlink(await readlink(from), to);
    else await link(from, to);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
