// A run's diff artifact as the editor needs it: the files before and after the run, and the patch applied to the
// user's working tree. Everything is rebuilt from the stored patch and the session's base commit, never from the
// lane's worktree, which later runs of the lane keep changing. The files are the patch's own (see patch-files.ts):
// the summary beside it is only what the worker said about it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { patchText } from '../../worker/engine/diff';
import { checkArgument, git, gitBuffer, GitError, gitMaybe } from '../../worker/engine/git';
import { OcrError } from '../../worker/store/errors';
import type { Store } from '../../worker/store/store';
import { type DiffFile, DiffSummary, type Run } from '../../domain';
import { checkPatchPaths, type PatchFile, patchFiles } from './patch-files';

export interface LanePatch {
  summary: DiffSummary;
  /** the patch bytes, decoded from however the worker stored them */
  patch: Buffer;
  /** the files the patch itself changes, read from its headers */
  files: PatchFile[];
}

/**
 * The run's diff artifact, or undefined when the run recorded none (it has not finished, it ran without a
 * repository, or the worker could not take the diff).
 */
export async function loadLanePatch(store: Store, run: Pick<Run, 'id'>): Promise<LanePatch | undefined> {
  const artifact = await store.getArtifact(run.id, 'diff');
  if (!artifact) return undefined;
  const summary = DiffSummary.safeParse(artifact.meta);
  if (!summary.success) {
    throw new OcrError('diff_unavailable', `the diff of run ${run.id} has a summary this version cannot read: ${summary.error.issues[0]?.message ?? 'invalid'}`,
      'update Ops Control Room on the machine that ran it, or on this one');
  }
  const patch = patchText(artifact.content ?? '', summary.data);
  return { summary: summary.data, patch, files: patchFiles(patch) };
}

/** A LanePatch from a summary and the patch bytes: its files read from the patch. */
export function lanePatch(summary: DiffSummary, patch: Buffer): LanePatch {
  return { summary, patch, files: patchFiles(patch) };
}

export interface LaneFile {
  path: string;
  /** a rename's or copy's source, whose base content is the left side */
  from?: string;
  status: DiffFile['status'];
  binary: boolean;
  insertions: number;
  deletions: number;
  /** the file at the session's base; '' when the run added it */
  before: string;
  /** the file after the run; '' when the run deleted it */
  after: string;
}

/** What a binary file shows in a text diff. */
export const binaryPlaceholder = (file: string, bytes: number | undefined): string =>
  `Binary file ${file}${bytes === undefined ? '' : ` (${bytes} bytes)`}: not shown as text.\n`;

/**
 * Every file of the patch, before and after. The patch is applied with `git apply --cached` to a throwaway index
 * holding the base tree, so neither the user's index nor any working tree is touched; only blobs are added to the
 * repository's object store (the worker put most of them there already when it took the diff).
 */
export async function laneFiles(repoPath: string, baseRef: string, lane: LanePatch): Promise<LaneFile[]> {
  const entries = lane.files;
  if (entries.length === 0) return [];
  checkPatchPaths(entries, "the run's patch");
  checkArgument(baseRef, 'the base commit of the run\'s diff', 'the run\'s diff or its session names something else than a commit; run it again');
  const top = await repoTop(repoPath);
  if ((await gitMaybe(top, ['cat-file', '-e', '--end-of-options', `${baseRef}^{commit}`])) === undefined) {
    throw new OcrError('diff_unavailable', `the session's base commit ${baseRef.slice(0, 12)} is not in ${top}`,
      'fetch it (git fetch), or open the diff on the machine the session was started from');
  }
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ocr-lane-diff-'));
  try {
    const env = { GIT_INDEX_FILE: path.join(scratch, 'index') };
    const patchFile = path.join(scratch, 'lane.patch');
    await writeFile(patchFile, lane.patch);
    await git(top, ['read-tree', '--end-of-options', baseRef], { env });
    try {
      await git(top, ['apply', '--cached', '--binary', '--whitespace=nowarn', '--', patchFile], { env });
    } catch (e) {
      if (!(e instanceof GitError)) throw e;
      throw new OcrError('diff_unavailable', `the run's patch does not apply to its own base ${baseRef.slice(0, 12)}: ${e.stderr.trim().split('\n')[0] ?? ''}`,
        'the artifact may come from another repository than the session names');
    }
    // One `git cat-file --batch` for every blob, instead of two processes per file.
    const specs: string[] = [];
    const beforeOf = (e: PatchFile) => `${baseRef}:${e.from ?? e.path}`;
    for (const e of entries) {
      if (e.path.includes('\n') || e.from?.includes('\n')) continue; // cat-file --batch reads one name per line
      if (e.status !== 'added') specs.push(beforeOf(e));
      if (e.status !== 'deleted') specs.push(`:${e.path}`);
    }
    const blobs = await catFileBatch(top, specs, env);
    const text = (spec: string, binary: boolean, file: string): string => {
      const blob = blobs.get(spec);
      if (!blob) return '';
      return binary ? binaryPlaceholder(file, blob.length) : utf8.decode(blob);
    };
    return entries.map((e) => ({
      path: e.path,
      ...(e.from !== undefined ? { from: e.from } : {}),
      status: statusOf(e),
      binary: e.binary,
      insertions: e.insertions,
      deletions: e.deletions,
      before: e.status === 'added' ? '' : text(beforeOf(e), e.binary, e.from ?? e.path),
      after: e.status === 'deleted' ? '' : text(`:${e.path}`, e.binary, e.path),
    }));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// Files in another encoding show replacement characters rather than failing the whole diff.
const utf8 = new TextDecoder('utf-8');

/** A symbolic link made a file or the other way round is a change of type; a rename or copy shows as a change. */
function statusOf(file: PatchFile): DiffFile['status'] {
  const link = (mode: string | undefined) => mode?.startsWith('120');
  if (file.oldMode && file.newMode && link(file.oldMode) !== link(file.newMode)) return 'type-changed';
  return file.status === 'renamed' || file.status === 'copied' ? 'modified' : file.status;
}

async function repoTop(folder: string): Promise<string> {
  const top = await gitMaybe(folder, ['rev-parse', '--show-toplevel']);
  if (!top) throw new OcrError('diff_unavailable', `${folder} is not a git repository`, 'the session was started from a repository that is no longer there');
  return top;
}

/** The contents of each object spec that exists; missing ones are left out. One `git cat-file --batch` for all. */
async function catFileBatch(cwd: string, specs: string[], env: NodeJS.ProcessEnv): Promise<Map<string, Buffer>> {
  const out = await gitBuffer(cwd, ['cat-file', '--batch'], { env, input: specs.map((s) => `${s}\n`).join(''), maxBuffer: 1024 * 1024 * 1024 });
  const result = new Map<string, Buffer>();
  let at = 0;
  for (const spec of specs) {
    const eol = out.indexOf(0x0a, at);
    if (eol === -1) break;
    const header = out.subarray(at, eol).toString('utf8');
    at = eol + 1;
    // "<sha> <type> <size>" then the content and a newline; "<spec> missing" (or "ambiguous") otherwise.
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) continue;
    const size = Number(m[2]);
    if (m[1] === 'blob') result.set(spec, out.subarray(at, at + size));
    at += size + 1;
  }
  return result;
}

export interface PatchConflict {
  path: string;
  /** in plain words, for the person whose tree it is */
  reason: string;
}

const reasons: Array<[RegExp, string]> = [
  [/^error: (.+): patch does not apply$/, 'your copy differs where the lane changed it'],
  [/^error: (.+): already exists in working directory$/, 'the lane adds this file, but your working tree already has one'],
  [/^error: (.+): No such file or directory$/, 'the lane changes this file, but it is missing from your working tree'],
  [/^error: (.+): does not exist in index$/, 'the lane changes this file, but it is missing from your working tree'],
  [/^error: (.+): wrong type$/, 'it is a different kind of entry in your working tree (a folder, link or file)'],
  [/^error: (.+): already exists in index$/, 'the lane adds this file, but your working tree already has one'],
];

/** Reads `git apply --check`'s complaints as one conflict per file. */
export function parseApplyErrors(stderr: string): PatchConflict[] {
  const byPath = new Map<string, string>();
  const unexplained: string[] = [];
  for (const line of stderr.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const known = reasons.find(([re]) => re.test(line));
    if (known) {
      const file = known[0].exec(line)![1]!;
      if (!byPath.has(file)) byPath.set(file, known[1]);
      continue;
    }
    // "error: patch failed: m.txt:1" and the binary patch's "the patch applies to 'x' (…)" precede a line above.
    if (/^error: (patch failed: |the patch applies to |binary patch does not apply to |cannot apply binary patch to )/.test(line)) continue;
    if (line.startsWith('error: ')) unexplained.push(line.slice('error: '.length));
  }
  const conflicts = [...byPath].map(([file, reason]) => ({ path: file, reason }));
  if (conflicts.length === 0 && unexplained.length > 0) conflicts.push({ path: '', reason: unexplained.join('; ') });
  return conflicts;
}

export type ApplyOutcome = { applied: true; files: string[]; folder: string } | { applied: false; conflicts: PatchConflict[]; folder: string };

export interface ApplyPlan {
  /** the top of the working tree the patch goes to */
  folder: string;
  /** every file the patch changes there */
  files: PatchFile[];
  /** files git reads in the patch that its headers, as read here, did not name (listed in `files` too) */
  unlisted: string[];
}

/**
 * What applying the patch to the working tree at `folder` changes: the patch's files from its headers, and any more
 * that git's own reading of it (`git apply --numstat`) names. Refused, before anything is applied or asked, when a
 * file is inside a .git folder, absolute, or outside the tree.
 */
export async function planApply(folder: string, lane: LanePatch): Promise<ApplyPlan> {
  const target = (await gitMaybe(folder, ['rev-parse', '--show-toplevel'])) ?? path.resolve(folder);
  if (lane.summary.omitted) {
    throw new OcrError('diff_unavailable', 'the run changed more than the worker stores, so only its summary was kept', 'merge the lane branch with git instead');
  }
  const files = [...lane.files];
  const unlisted: string[] = [];
  if (lane.patch.length > 0) {
    const known = new Set(files.flatMap((f) => [f.path, ...(f.from !== undefined ? [f.from] : []), ...f.named]));
    for (const read of await gitReading(target, lane.patch)) {
      if (known.has(read.path)) continue;
      known.add(read.path);
      unlisted.push(read.path);
      files.push(read);
    }
  }
  checkPatchPaths(files, "the run's patch");
  return { folder: target, files, unlisted };
}

/** The files of a patch as `git apply --numstat -z` reads them (renames give both names); it applies nothing. */
async function gitReading(cwd: string, patch: Buffer): Promise<PatchFile[]> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ocr-read-'));
  try {
    const patchFile = path.join(scratch, 'lane.patch');
    await writeFile(patchFile, patch);
    let out: string;
    try {
      out = await git(cwd, ['apply', '--numstat', '-z', '--', patchFile]);
    } catch (e) {
      if (!(e instanceof GitError)) throw e;
      throw new OcrError('diff_unavailable', `the run's patch is not one git can read: ${e.stderr.trim().split('\n')[0] ?? ''}`, 'look at it with ocr diff <run>');
    }
    const files: PatchFile[] = [];
    const fields = out.split('\0');
    for (let i = 0; i < fields.length; i++) {
      const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(fields[i]!);
      if (!m) continue;
      const binary = m[1] === '-';
      const counts = { insertions: binary ? 0 : Number(m[1]), deletions: binary ? 0 : Number(m[2]), binary };
      if (m[3] !== '') {
        files.push({ path: m[3]!, status: 'modified', ...counts, named: [m[3]!] });
      } else {
        // a rename or copy: its two names follow
        const from = fields[++i] ?? '';
        const to = fields[++i] ?? '';
        files.push({ path: to, from, status: 'renamed', ...counts, named: [from, to] });
      }
    }
    return files;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Applies the patch to the working tree at `folder` (the top of its repository when it is in one), or changes
 * nothing: `git apply --check` first, and `git apply` itself applies all files or none. A patch planApply refuses
 * is refused here too.
 */
export async function applyLanePatch(folder: string, lane: LanePatch): Promise<ApplyOutcome> {
  const plan = await planApply(folder, lane);
  const target = plan.folder;
  const files = plan.files.map((f) => f.path);
  if (files.length === 0) return { applied: true, files, folder: target };
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ocr-apply-'));
  try {
    const patchFile = path.join(scratch, 'lane.patch');
    await writeFile(patchFile, lane.patch);
    const args = ['apply', '--binary', '--whitespace=nowarn'];
    try {
      await git(target, [...args, '--check', '--', patchFile]);
    } catch (e) {
      if (!(e instanceof GitError)) throw e;
      return { applied: false, conflicts: parseApplyErrors(e.stderr), folder: target };
    }
    try {
      await git(target, [...args, '--', patchFile]);
    } catch (e) {
      // The tree changed between the check and the apply; git apply is all or nothing, so nothing was written.
      if (!(e instanceof GitError)) throw e;
      return { applied: false, conflicts: parseApplyErrors(e.stderr), folder: target };
    }
    return { applied: true, files, folder: target };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
