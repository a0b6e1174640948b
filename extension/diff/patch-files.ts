// The files a patch itself changes, read from its headers the way `git apply` reads them: what Apply asks about and
// what Open Lane Diff shows. The run's diff summary is the worker's claim about its patch (stored beside it); the
// patch is what gets applied, so the patch is what a person is shown and what is checked.
import { OcrError } from '../../worker/store/errors';

export interface PatchFile {
  /** the path after the change; for a deletion, the path deleted */
  path: string;
  /** a rename's or a copy's source */
  from?: string;
  status: 'added' | 'deleted' | 'modified' | 'renamed' | 'copied';
  binary: boolean;
  /** the file's git mode before and after ("100644", "100755", "120000" a symbolic link), when the patch says */
  oldMode?: string;
  newMode?: string;
  insertions: number;
  deletions: number;
  /** every path the file's headers name (diff --git, ---/+++, rename and copy lines): each is checked */
  named: string[];
}

const decoder = new TextDecoder('utf-8');

/** Every file of a patch (git's format, or the traditional ---/+++ one that `git apply` also takes), in order. */
export function patchFiles(patch: Buffer | string): PatchFile[] {
  const lines = (typeof patch === 'string' ? patch : decoder.decode(patch)).split('\n');
  const files: PatchFile[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = header(lines[i]!);
    if (line.startsWith('diff --git ')) {
      i = gitSection(lines, i, files);
    } else if (line.startsWith('--- ') && header(lines[i + 1] ?? '').startsWith('+++ ') && (lines[i + 2] ?? '').startsWith('@@ ')) {
      i = traditionalSection(lines, i, files);
    } else {
      i += 1;
    }
  }
  return files;
}

/** A header line without the carriage return a patch saved on Windows ends it with. */
const header = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

interface Section {
  names: Set<string>;
  oldName?: string;
  newName?: string;
  from?: string;
  to?: string;
  status: PatchFile['status'];
  binary: boolean;
  oldMode?: string;
  newMode?: string;
  insertions: number;
  deletions: number;
}

function gitSection(lines: string[], start: number, files: PatchFile[]): number {
  const s: Section = { names: new Set(), status: 'modified', binary: false, insertions: 0, deletions: 0 };
  const [a, b] = gitHeaderNames(header(lines[start]!).slice('diff --git '.length));
  for (const name of [a, b]) if (name !== undefined) s.names.add(name);
  let i = start + 1;
  // Extended headers, then ---/+++, then hunks (or binary data). Once the content has begun, only another hunk
  // belongs to this file: a ---/+++ pair after it starts the next one, as it does for git apply.
  let content = false;
  let sawOld = false;
  let sawNew = false;
  while (i < lines.length) {
    const line = header(lines[i]!);
    const value = (prefix: string) => line.slice(prefix.length);
    if (line.startsWith('@@ ')) {
      content = true;
      i = hunk(lines, i, s);
      continue;
    }
    if (content) break;
    if (line.startsWith('old mode ')) s.oldMode = value('old mode ');
    else if (line.startsWith('new mode ')) s.newMode = value('new mode ');
    else if (line.startsWith('deleted file mode ')) (s.status = 'deleted'), (s.oldMode = value('deleted file mode '));
    else if (line.startsWith('new file mode ')) (s.status = 'added'), (s.newMode = value('new file mode '));
    else if (line.startsWith('rename from ')) (s.status = 'renamed'), (s.from = named(s, unquote(value('rename from '))));
    else if (line.startsWith('rename to ')) s.to = named(s, unquote(value('rename to ')));
    else if (line.startsWith('copy from ')) (s.status = 'copied'), (s.from = named(s, unquote(value('copy from '))));
    else if (line.startsWith('copy to ')) s.to = named(s, unquote(value('copy to ')));
    else if (/^(similarity index|dissimilarity index|index) /.test(line)) {
      // nothing to read
    } else if (line.startsWith('--- ') && !sawOld) {
      sawOld = true;
      s.oldName = named(s, sideName(value('--- ')));
    } else if (line.startsWith('+++ ') && !sawNew) {
      sawNew = true;
      s.newName = named(s, sideName(value('+++ ')));
    } else if (line.startsWith('Binary files ')) {
      s.binary = true;
      content = true;
    } else if (line === 'GIT binary patch') {
      s.binary = true;
      content = true;
      i = binaryData(lines, i + 1);
      continue;
    } else break;
    i += 1;
  }
  const after = s.to ?? s.newName ?? b ?? a;
  const before = s.from ?? s.oldName ?? a ?? b;
  const path = (s.status === 'deleted' ? before : after) ?? before ?? '';
  files.push(fileOf(s, path, s.status === 'renamed' || s.status === 'copied' ? before : undefined));
  return i;
}

function traditionalSection(lines: string[], start: number, files: PatchFile[]): number {
  const s: Section = { names: new Set(), status: 'modified', binary: false, insertions: 0, deletions: 0 };
  const oldName = named(s, sideName(header(lines[start]!).slice(4)));
  const newName = named(s, sideName(header(lines[start + 1]!).slice(4)));
  if (oldName === undefined) s.status = 'added';
  else if (newName === undefined) s.status = 'deleted';
  let i = start + 2;
  while (i < lines.length && lines[i]!.startsWith('@@ ')) i = hunk(lines, i, s);
  files.push(fileOf(s, (s.status === 'deleted' ? oldName : newName) ?? oldName ?? '', undefined));
  return i;
}

function fileOf(s: Section, path: string, from: string | undefined): PatchFile {
  return {
    path,
    ...(from !== undefined && from !== path ? { from } : {}),
    status: s.status,
    binary: s.binary,
    ...(s.oldMode ? { oldMode: s.oldMode } : {}),
    ...(s.newMode ? { newMode: s.newMode } : {}),
    insertions: s.insertions,
    deletions: s.deletions,
    named: [...s.names],
  };
}

function named(s: Section, name: string | undefined): string | undefined {
  if (name !== undefined) s.names.add(name);
  return name;
}

/**
 * The two names of a `diff --git a/x b/x` line, their first component taken off as `git apply -p1` does; undefined
 * for a name that cannot be told apart (unquoted names with spaces that differ: the rename lines name them).
 */
function gitHeaderNames(rest: string): [string | undefined, string | undefined] {
  if (rest.startsWith('"')) {
    const [first, after] = quoted(rest);
    const second = after.trimStart();
    return [stripOne(first), stripOne(second.startsWith('"') ? quoted(second)[0] : second)];
  }
  const q = rest.lastIndexOf(' "');
  if (rest.endsWith('"') && q > 0) return [stripOne(rest.slice(0, q)), stripOne(quoted(rest.slice(q + 1))[0])];
  // Unquoted: the split where both halves name the same file (git's own rule for a header without renames).
  for (let k = rest.indexOf(' '); k !== -1; k = rest.indexOf(' ', k + 1)) {
    const left = stripOne(rest.slice(0, k));
    if (left === stripOne(rest.slice(k + 1))) return [left, left];
  }
  return [undefined, undefined];
}

/** The name on a ---/+++ line: quoted or up to a tab (a timestamp may follow), undefined for /dev/null. */
function sideName(text: string): string | undefined {
  const name = text.startsWith('"') ? quoted(text)[0] : text.split('\t')[0]!.trimEnd();
  if (name === '/dev/null') return undefined;
  return stripOne(name);
}

const stripOne = (name: string): string => {
  const slash = name.indexOf('/');
  return slash === -1 ? name : name.slice(slash + 1);
};

const unquote = (text: string): string => (text.startsWith('"') ? quoted(text)[0] : text);

const escapes: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/** A C-quoted name as git writes one ("a/\303\251t\303\251 \"x\""), and what follows its closing quote. */
function quoted(text: string): [string, string] {
  const bytes: number[] = [];
  let i = 1;
  while (i < text.length && text[i] !== '"') {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      const next = text[i + 1]!;
      const octal = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
      if (octal) {
        bytes.push(parseInt(octal[0], 8));
        i += 4;
        continue;
      }
      bytes.push(escapes[next] ?? next.charCodeAt(0));
      i += 2;
      continue;
    }
    bytes.push(...Buffer.from(c, 'utf8'));
    i += 1;
  }
  return [decoder.decode(Uint8Array.from(bytes)), text.slice(i + 1)];
}

/** Past a hunk: `@@ -a,b +c,d @@`, then b old and d new lines; counts what it adds and removes. */
function hunk(lines: string[], start: number, s: Section): number {
  const m = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(lines[start]!);
  let old = m ? Number(m[1] ?? 1) : 0;
  let now = m ? Number(m[2] ?? 1) : 0;
  let i = start + 1;
  while (i < lines.length && (old > 0 || now > 0)) {
    const line = lines[i]!;
    const c = line.charAt(0);
    if (c === ' ' || line === '' || line === '\r') (old -= 1), (now -= 1);
    else if (c === '-') (old -= 1), (s.deletions += 1);
    else if (c === '+') (now -= 1), (s.insertions += 1);
    else if (c !== '\\') break;
    i += 1;
  }
  while (i < lines.length && lines[i]!.startsWith('\\')) i += 1; // "\ No newline at end of file"
  return i;
}

/** Past the base85 blocks of a binary patch: "literal n" or "delta n", data lines, an empty line; then the reverse. */
function binaryData(lines: string[], start: number): number {
  let i = start;
  while (i < lines.length && /^(literal|delta) \d+/.test(header(lines[i]!))) {
    i += 1;
    while (i < lines.length && header(lines[i]!) !== '') i += 1;
    i += 1;
  }
  return i;
}

/**
 * Why a path of a patch may not be applied to a working tree, or undefined when it may: inside a .git folder (any
 * segment named .git, as git compares it on every filesystem), absolute, or leaving the tree with "..".
 */
export function unsafePatchPath(file: string): string | undefined {
  if (file === '') return 'it has an empty path';
  if (/^([\\/]|[A-Za-z]:)/.test(file)) return 'it is an absolute path';
  const segments = file.split(/[\\/]/);
  if (segments.includes('..')) return 'it leaves the working tree (..)';
  if (segments.some((s) => /^\.git[. ]*$/i.test(s) || /^git~\d+$/i.test(s))) return "it is inside a .git folder, which holds the repository's config and hooks";
  return undefined;
}

/** Refuses, with one line naming the path, a patch that touches a path `unsafePatchPath` refuses. */
export function checkPatchPaths(files: PatchFile[], what: string): void {
  for (const file of files) {
    for (const name of [file.path, ...(file.from !== undefined ? [file.from] : []), ...file.named]) {
      const why = unsafePatchPath(name);
      if (why) {
        throw new OcrError('invalid_input', `${what} changes ${JSON.stringify(name)}, and ${why}; nothing was applied`,
          'look at the run\'s patch (ocr diff <run>) and copy by hand what you trust of it');
      }
    }
  }
}
