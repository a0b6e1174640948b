// A corpus of huge and binary run outputs through a real Worker running shell runs on a scratch session: each run
// ends, nothing crashes, and its log is complete and valid text, split and replaced the way output.ts documents it
// (lines of at most maxLineBytes, the later pieces marked `continued`; bytes that are not UTF-8 and NULs become U+FFFD;
// one carriage return before a newline dropped).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isContinued, isFinal, type Run, type RunEvent, unstorableText } from '../../domain';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { eventually, tempDir } from './git.test-support';
import { maxLineBytes } from './output';
import { Worker } from './worker';

const dir = tempDir('ocr-output-bad-input-');
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let worker: Worker;

/** The lines a log must hold for `bytes` written by a run: split at newlines, decoded the way output.ts decodes. */
function linesOf(bytes: Buffer): string[] {
  const decoder = new TextDecoder('utf-8');
  const lines: string[] = [];
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    let line = bytes.subarray(start, end);
    if (nl === -1 && line.length === 0) break;
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    lines.push(decoder.decode(line).replace(/\u0000/g, '\uFFFD'));
    if (nl === -1) break;
    start = nl + 1;
  }
  return lines;
}

/** Joins the pieces of lines cut at maxLineBytes back into whole lines. */
function wholeLines(events: RunEvent[]): string[] {
  const lines: string[] = [];
  for (const e of events) {
    if (isContinued(e)) lines[lines.length - 1] += e.text;
    else lines.push(e.text);
  }
  return lines;
}

const random = randomBytes(100_000);
const randomFile = path.join(dir.path, 'random.bin');
const invalidUtf8 = Buffer.from([0xff, 0xfe, 0x20, 0x6f, 0x6b, 0x20, 0xc3, 0x28, 0x20, 0xe2, 0x82, 0x0a, 0xed, 0xa0, 0x80, 0x0a, 0xf0, 0x9f, 0x9a, 0x80, 0x0a, 0xc0, 0xaf, 0x0a]);
const invalidFile = path.join(dir.path, 'invalid.bin');
// a 4-byte character that straddles the 64 KiB cut: the cut moves before it
const straddle = Buffer.concat([Buffer.alloc(maxLineBytes - 2, 'a'), Buffer.from('🚀\n')]);
const straddleFile = path.join(dir.path, 'straddle.txt');

interface Row {
  name: string;
  command: string;
  stream?: 'stdout' | 'stderr';
  /** what the log's lines of `stream` must be, pieces joined */
  lines?: () => string[];
  /** further checks on the events of `stream` */
  check?: (events: RunEvent[]) => void;
}

// prettier-ignore
const rows: Row[] = [
  {
    name: 'a 20 MB line',
    command: 'head -c 20000000 /dev/zero | tr "\\0" a',
    check: (events) => {
      expect(events).toHaveLength(Math.ceil(20_000_000 / maxLineBytes));
      expect(events.every((e) => e.text.length <= maxLineBytes && /^a+$/.test(e.text))).toBe(true);
      expect(events.map(isContinued)).toEqual(events.map((_, i) => i > 0));
      expect(wholeLines(events)).toEqual(['a'.repeat(20_000_000)]);
    },
  },
  { name: '100,000 bytes of /dev/urandom', command: `head -c 100000 /dev/urandom > /dev/null; cat ${randomFile}`, lines: () => linesOf(random) },
  { name: '50,000 random bytes on stderr', command: `head -c 50000 ${randomFile} >&2`, stream: 'stderr', lines: () => linesOf(random.subarray(0, 50_000)) },
  { name: 'NUL bytes', command: "printf 'a\\000b\\n\\000\\000\\nend'", lines: () => ['a\uFFFDb', '\uFFFD\uFFFD', 'end'] },
  { name: 'invalid UTF-8: stray, truncated, surrogate and overlong sequences', command: `cat ${invalidFile}`, lines: () => linesOf(invalidUtf8) },
  {
    name: 'a character cut by the line limit',
    command: `cat ${straddleFile}`,
    check: (events) => {
      expect(events.map((e) => e.text.length)).toEqual([maxLineBytes - 2, 2]);
      expect(wholeLines(events)).toEqual([`${'a'.repeat(maxLineBytes - 2)}🚀`]);
    },
  },
  {
    name: 'a million short lines',
    command: 'seq 1 1000000',
    check: (events) => {
      expect(events).toHaveLength(1_000_000);
      for (const i of [0, 1, 4999, 5000, 500_000, 999_999]) expect(events[i]!.text).toBe(String(i + 1));
      expect(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq)).toBe(true);
    },
  },
  { name: '100,000 empty lines', command: "yes '' | head -n 100000", check: (events) => expect(events.filter((e) => e.text === '')).toHaveLength(100_000) },
  { name: 'carriage returns: progress kept, a CRLF ending dropped', command: "printf '10%%\\r50%%\\r100%%\\r\\nnext\\r\\n'", lines: () => ['10%\r50%\r100%', 'next'] },
  { name: 'escapes are kept in the log, stripped only when shown', command: "printf '\\033]0;pwned\\007\\033[31mred\\033[0m\\n'", lines: () => ['\x1b]0;pwned\x07\x1b[31mred\x1b[0m'] },
  { name: 'output without a final newline', command: "printf 'first\\nlast without newline'", lines: () => ['first', 'last without newline'] },
];

const lanes = rows.map((_, i) => `R${i}`);
const runs = new Map<string, Run>();

beforeAll(async () => {
  writeFileSync(randomFile, random);
  writeFileSync(invalidFile, invalidUtf8);
  writeFileSync(straddleFile, straddle);
  db = await createTestDatabase('ocr_output_bad');
  store = await openStore(db.url);
  const session = await store.createSession({ title: 'huge and binary output', lanes });
  const queued = await store.createRuns(rows.map((row, i) => ({ session_id: session.id, lane: lanes[i]!, intent: row.command })));
  worker = new Worker(store, { worktreeRoot: path.join(dir.path, 'worktrees'), sessions: [session.id], concurrency: 4, pollMs: 200, recoverMs: 500 });
  await worker.start();
  await eventually(async () => (await Promise.all(queued.map((r) => store.getRun(r.id)))).every((r) => isFinal(r.status)), 'every run ended', 50_000);
  for (const [i, r] of queued.entries()) runs.set(rows[i]!.name, await store.getRun(r.id));
}, 60_000);

afterAll(async () => {
  await worker?.stop({ graceMs: 0 });
  await store?.close();
  await db?.drop();
  dir.remove();
});

async function eventsOf(runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (;;) {
    const batch = await store.listEvents(runId, events.at(-1)?.seq ?? 0, 50_000);
    if (batch.length === 0) return events;
    events.push(...batch);
  }
}

describe('huge and binary output: the bad-input corpus', () => {
  it.each(rows)('$name', async (row) => {
    const run = runs.get(row.name)!;
    expect(run, 'the run ended, and succeeded').toMatchObject({ status: 'succeeded', exit_code: 0 });
    const all = await eventsOf(run.id);
    // every line is text PostgreSQL kept: well-formed, without NUL
    const bad = all.filter((e) => unstorableText(e.text) !== undefined);
    expect(bad).toEqual([]);
    const events = all.filter((e) => e.stream === (row.stream ?? 'stdout'));
    if (row.lines) expect(wholeLines(events)).toEqual(row.lines());
    row.check?.(events);
  });
});
