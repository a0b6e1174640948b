// A lane's change against the session's base: committed, staged, unstaged and untracked alike, as one patch that
// `git apply` accepts. A throwaway index collects the tree, so the worktree's own index (what an agent staged) and
// the user's are never touched.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type DiffFile, type DiffSummary } from '../../domain';
import { checkArgument, copyIndex, git, gitBuffer } from './git';

export interface LaneDiff {
  /** the patch as stored: text, or base64 (see summary.encoding) */
  content: string;
  summary: DiffSummary;
}

export interface DiffOptions {
  /** paths never part of the diff (files copied in from the user's tree) */
  exclude?: string[];
  /** patches larger than this keep only their summary; default 32 MiB */
  maxPatchBytes?: number;
}

const statusLetters: Record<string, DiffFile['status']> = { A: 'added', M: 'modified', D: 'deleted', T: 'type-changed' };
const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function captureDiff(worktree: string, base: string, options: DiffOptions = {}): Promise<LaneDiff> {
  checkArgument(base, 'the base of the diff', 'the lane records the commit its session started from; start the session again');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ocr-diff-'));
  try {
    const index = path.join(scratch, 'index');
    // Starting from the worktree's index keeps git's file stat cache, so unchanged files are not hashed again.
    const ownIndex = (await git(worktree, ['rev-parse', '--path-format=absolute', '--git-path', 'index'])).trim();
    await copyIndex(ownIndex, index);
    const env = { GIT_INDEX_FILE: index };
    await git(worktree, ['add', '--all', '--', '.'], { env });
    // Copied-in files were never in the base (they are copied only where the checkout has none), so taking them out
    // of the throwaway index leaves them out of the diff. Ignored ones were never added; --ignore-unmatch covers them.
    const exclude = options.exclude ?? [];
    if (exclude.length > 0) await git(worktree, ['rm', '--cached', '--quiet', '--ignore-unmatch', '--', ...exclude.map((p) => `:(literal)${p}`)], { env });
    const diffArgs = ['diff', '--cached', '--no-renames', '--no-ext-diff', '--no-textconv', '--ignore-submodules=none'];
    const [patch, numstat, nameStatus] = await Promise.all([
      gitBuffer(worktree, [...diffArgs, '--binary', '--end-of-options', base, '--'], { env, maxBuffer: 1024 * 1024 * 1024 }),
      git(worktree, [...diffArgs, '--numstat', '-z', '--end-of-options', base, '--'], { env }),
      git(worktree, [...diffArgs, '--name-status', '-z', '--end-of-options', base, '--'], { env }),
    ]);
    const entries = parseEntries(numstat, nameStatus);
    const maxPatchBytes = options.maxPatchBytes ?? 32 * 1024 * 1024;
    let content = '';
    let encoding: DiffSummary['encoding'] = 'utf8';
    const omitted = patch.length > maxPatchBytes;
    if (!omitted) {
      try {
        content = utf8.decode(patch);
      } catch {
        content = patch.toString('base64');
        encoding = 'base64';
      }
      // PostgreSQL text cannot hold U+0000; a patch that has one (a text file git did not call binary) travels as base64.
      if (encoding === 'utf8' && content.includes('\u0000')) {
        content = patch.toString('base64');
        encoding = 'base64';
      }
    }
    return {
      content,
      summary: {
        base,
        files: entries.length,
        insertions: entries.reduce((n, e) => n + e.insertions, 0),
        deletions: entries.reduce((n, e) => n + e.deletions, 0),
        binaryFiles: entries.filter((e) => e.binary).length,
        entries,
        encoding,
        omitted,
      },
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function parseEntries(numstat: string, nameStatus: string): DiffFile[] {
  const statuses = new Map<string, DiffFile['status']>();
  const ns = nameStatus.split('\0');
  for (let i = 0; i + 1 < ns.length; i += 2) statuses.set(ns[i + 1]!, statusLetters[ns[i]!.charAt(0)] ?? 'modified');
  const entries: DiffFile[] = [];
  for (const record of numstat.split('\0')) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(record);
    if (!m) continue;
    const binary = m[1] === '-';
    const file = m[3]!;
    entries.push({
      path: file,
      status: statuses.get(file) ?? 'modified',
      insertions: binary ? 0 : Number(m[1]),
      deletions: binary ? 0 : Number(m[2]),
      binary,
    });
  }
  return entries;
}

/** The patch bytes of a stored diff artifact, decoded from how it was stored. */
export function patchText(content: string, summary: Pick<DiffSummary, 'encoding'>): Buffer {
  return summary.encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
}

/** Like `git diff --stat`: one line per file with a bar of + and -, then the totals. */
export function formatStat(summary: DiffSummary, width = 80): string {
  if (summary.entries.length === 0) return ' 0 files changed\n';
  const names = summary.entries.map((e) => e.path);
  const nameWidth = Math.min(Math.max(...names.map((n) => n.length)), Math.max(20, width - 30));
  const counts = summary.entries.map((e) => (e.binary ? 'Bin' : String(e.insertions + e.deletions)));
  const countWidth = Math.max(...counts.map((c) => c.length));
  const barRoom = Math.max(10, width - nameWidth - countWidth - 6);
  const largest = Math.max(1, ...summary.entries.map((e) => e.insertions + e.deletions));
  const scale = largest > barRoom ? barRoom / largest : 1;
  const lines = summary.entries.map((e, i) => {
    const name = e.path.length > nameWidth ? `...${e.path.slice(e.path.length - nameWidth + 3)}` : e.path.padEnd(nameWidth);
    const count = counts[i]!.padStart(countWidth);
    if (e.binary) return ` ${name} | ${count}`;
    const plus = e.insertions > 0 ? Math.max(1, Math.round(e.insertions * scale)) : 0;
    const minus = e.deletions > 0 ? Math.max(1, Math.round(e.deletions * scale)) : 0;
    return ` ${name} | ${count} ${'+'.repeat(plus)}${'-'.repeat(minus)}`;
  });
  const parts = [`${summary.files} file${summary.files === 1 ? '' : 's'} changed`];
  if (summary.insertions > 0) parts.push(`${summary.insertions} insertion${summary.insertions === 1 ? '' : 's'}(+)`);
  if (summary.deletions > 0) parts.push(`${summary.deletions} deletion${summary.deletions === 1 ? '' : 's'}(-)`);
  return `${lines.join('\n')}\n ${parts.join(', ')}\n`;
}
