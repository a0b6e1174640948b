// Runbook files: `.ocr/runbooks/<name>.yaml` in a repository, read and checked against the domain's schema. Every
// problem names the file, the line and the column it is at, and what to write instead; a file with a problem is not
// a runbook anyone can run.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { Runbook } from '../../domain';

export const runbookFolder = path.join('.ocr', 'runbooks');

export interface RunbookProblem {
  file: string;
  /** 1-based */
  line: number;
  /** 1-based */
  column: number;
  message: string;
}

export interface RunbookFile {
  file: string;
  runbook: Runbook;
  /** the file's text, as it is published with a run */
  text: string;
  /** sha256 of the text: the same text is the same published version */
  sha256: string;
}

export interface RunbookSet {
  runbooks: RunbookFile[];
  problems: RunbookProblem[];
}

/** `file:line:column: message`, the way compilers say it (editors and CI understand it). */
export const describeProblem = (p: RunbookProblem): string => `${p.file}:${p.line}:${p.column}: ${p.message}`;

/** Every runbook of a repository (or of a folder of runbooks), and the problems of the files that are not. */
export async function readRunbooks(folder: string): Promise<RunbookSet> {
  const dir = path.basename(folder) === 'runbooks' ? folder : path.join(folder, runbookFolder);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch {
    return { runbooks: [], problems: [] };
  }
  const set: RunbookSet = { runbooks: [], problems: [] };
  for (const name of names) {
    const file = path.join(dir, name);
    const result = parseRunbook(await readFile(file, 'utf8'), file);
    if ('runbook' in result) set.runbooks.push(result);
    else set.problems.push(...result.problems);
  }
  const byName = new Map<string, string>();
  for (const r of set.runbooks) {
    const other = byName.get(r.runbook.name);
    if (other) set.problems.push({ file: r.file, line: 1, column: 1, message: `runbook name "${r.runbook.name}" is also the name of ${other}` });
    byName.set(r.runbook.name, r.file);
  }
  return set;
}

/** One runbook file's text, checked: the runbook, or every problem with its position. */
export function parseRunbook(text: string, file: string): RunbookFile | { problems: RunbookProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number, message: string): RunbookProblem => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col, message };
  };
  if (doc.errors.length > 0) return { problems: doc.errors.map((e) => at(e.pos[0], `YAML: ${e.message.split('\n')[0]}`)) };
  const parsed = Runbook.safeParse(doc.toJS());
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => at(offsetOf(doc.contents, issue), messageOf(issue))) };
  const expected = path.basename(file).replace(/\.ya?ml$/, '');
  if (parsed.data.name !== expected) {
    return { problems: [at(offsetOf(doc.contents, { path: ['name'] }), `name: "${parsed.data.name}" must be the file's name, "${expected}"`)] };
  }
  return { file, runbook: parsed.data, text, sha256: createHash('sha256').update(text).digest('hex') };
}

function messageOf(issue: z.core.$ZodIssue): string {
  const field = issue.path.map(String).join('.') || 'the runbook';
  if (issue.code === 'unrecognized_keys') return `${field === 'the runbook' ? '' : `${field}: `}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'}`;
  return `${field}: ${issue.message}`;
}

/** Where an issue is: its node, or for an unknown field that key, or for a missing one the nearest node above it. */
function offsetOf(root: Node | null, issue: { path: PropertyKey[]; code?: string; keys?: string[] }): number {
  let node: unknown = root;
  let offset = rangeStart(root);
  for (const segment of issue.path) {
    const next = child(node, segment);
    if (next === undefined) break;
    node = next.value;
    offset = next.keyOffset ?? rangeStart(next.value) ?? offset;
  }
  if (issue.code === 'unrecognized_keys' && issue.keys?.[0] && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === issue.keys![0]);
    if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
  }
  return rangeStart(node) ?? offset ?? 0;
}

function child(node: unknown, segment: PropertyKey): { value: unknown; keyOffset?: number } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
    if (!pair) return undefined;
    return { value: pair.value ?? pair.key, keyOffset: pair.value ? undefined : isScalar(pair.key) ? pair.key.range?.[0] : undefined };
  }
  if (isSeq(node) && typeof segment === 'number') {
    const item = node.items[segment];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}

function rangeStart(node: unknown): number {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : 0;
}
