import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../domain';
import { LineSplitter, maxLineBytes, LogWriter } from './output';

function split(chunks: Array<string | Buffer>, maxBytes?: number): Array<[string, boolean]> {
  const lines: Array<[string, boolean]> = [];
  const splitter = new LineSplitter((text, continued) => lines.push([text, continued]), maxBytes);
  for (const c of chunks) splitter.push(typeof c === 'string' ? Buffer.from(c) : c);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('cuts on newlines across chunks, drops CR of CRLF, keeps a last line without newline and ANSI colors', () => {
    expect(split(['a\nb', 'c\r\n\n', '\u001b[31mred\u001b[0m\nlast'])).toEqual([
      ['a', false],
      ['bc', false],
      ['', false],
      ['\u001b[31mred\u001b[0m', false],
      ['last', false],
    ]);
  });

  it('replaces invalid UTF-8 and NUL, and joins a character split across chunks', () => {
    const euro = Buffer.from('€');
    expect(split([Buffer.from([0x61, 0xff, 0x62, 0x0a]), euro.subarray(0, 1), euro.subarray(1), Buffer.from('\0x\n')])).toEqual([
      ['a\uFFFDb', false],
      ['€\uFFFDx', false],
    ]);
  });

  it('splits a line over 64 KiB into pieces, never inside a character', () => {
    const long = 'é'.repeat(maxLineBytes); // two bytes each: 128 KiB
    const lines = split([long, '\nnext\n']);
    expect(lines.map(([t]) => t).join('')).toBe(`${long}next`);
    expect(lines.slice(0, -1).every(([t]) => Buffer.byteLength(t) <= maxLineBytes)).toBe(true);
    expect(lines.map(([, c]) => c)).toEqual([false, true, false]);
    expect(lines.some(([t]) => t.includes('\uFFFD'))).toBe(false);
  });

  it('keeps a line of exactly the limit whole', () => {
    const exact = 'x'.repeat(maxLineBytes);
    expect(split([`${exact}\n`])).toEqual([[exact, false]]);
  });
});

describe('LogWriter', () => {
  it('sends every line once, in order, in few batches, and flush waits for all of them', async () => {
    const batches: NewEvent[][] = [];
    let seq = 0;
    const log = new LogWriter(async (events) => {
      batches.push(events);
      await new Promise((r) => setTimeout(r, 5));
      return (seq += events.length);
    }, { maxBatchLines: 1000 });
    for (let i = 0; i < 10_000; i++) log.add(i % 2 ? 'stdout' : 'stderr', String(i));
    log.system('done');
    await log.flush();
    const texts = batches.flat().map((e) => e.text);
    expect(texts).toEqual([...Array.from({ length: 10_000 }, (_, i) => String(i)), 'done']);
    expect(batches.length).toBeLessThanOrEqual(12);
    expect(log.lastSeq).toBe(10_001);
  });

  it('sends the first line after a quiet spell at once, with the rest of its chunk, and holds a line that follows within the window; the worker’s own notes do not start the window', async () => {
    const batches: string[][] = [];
    let seq = 0;
    let sent: () => void = () => undefined;
    const log = new LogWriter(async (events) => {
      batches.push(events.map((e) => e.text));
      sent();
      return (seq += events.length);
    }, { flushMs: 60_000 });
    // a window of a minute: only a line sent without waiting for it arrives before flush()
    let first = new Promise<void>((r) => (sent = r));
    log.system('claimed by a worker');
    await first;
    first = new Promise<void>((r) => (sent = r));
    const splitter = log.lines('stdout');
    splitter.push(Buffer.from('one\ntwo\n'));
    await first;
    await new Promise((r) => setTimeout(r, 5)); // the first batch is stored: nothing in flight
    log.add('stdout', 'three');
    await new Promise((r) => setTimeout(r, 20));
    expect(batches).toEqual([['claimed by a worker'], ['one', 'two']]);
    await log.flush();
    expect(batches).toEqual([['claimed by a worker'], ['one', 'two'], ['three']]);
  });

  it('sends a batch whose answer was lost again exactly as it was, and the lines added meanwhile after it', async () => {
    // the database stored the first batch but the answer never came; it answers a retry of the same first line from the
    // stored lines, as append_events does with p_after_seq
    const stored: string[] = [];
    const sent: string[][] = [];
    let calls = 0;
    const log = new LogWriter(async (events, afterSeq) => {
      calls++;
      sent.push(events.map((e) => e.text));
      const at = stored.findIndex((t, i) => i >= afterSeq && t === events[0]!.text);
      if (at !== -1) return at + events.length;
      stored.push(...events.map((e) => e.text));
      if (calls === 1) {
        log.add('stdout', 'added while the first was in flight');
        throw new Error('connection reset');
      }
      return stored.length;
    }, { flushMs: 1 });
    log.add('stdout', 'first');
    log.system('exited 0 in 5 ms');
    await log.flush();
    expect(sent).toEqual([['first', 'exited 0 in 5 ms'], ['first', 'exited 0 in 5 ms'], ['added while the first was in flight']]);
    expect(stored).toEqual(['first', 'exited 0 in 5 ms', 'added while the first was in flight']);
    expect(log.lastSeq).toBe(3);
  });

  it('retries a failed write with the same lines, and stops for good when the lease is lost', async () => {
    const sent: string[] = [];
    let calls = 0;
    let lost: unknown;
    const log = new LogWriter(
      async (events) => {
        calls++;
        if (calls === 1) throw new Error('connection reset');
        if (calls === 3) throw Object.assign(new Error('lease lost'), { lease: true });
        sent.push(...events.map((e) => e.text));
        return sent.length;
      },
      { flushMs: 1, isLeaseLost: (e) => Boolean((e as { lease?: boolean }).lease), onLeaseLost: (e) => (lost = e) },
    );
    log.add('stdout', 'one');
    await log.flush();
    expect(sent).toEqual(['one']);
    log.add('stdout', 'two');
    await log.flush();
    expect(lost).toBeInstanceOf(Error);
    log.add('stdout', 'three');
    await log.flush();
    expect(sent).toEqual(['one']);
    expect(calls).toBe(3);
  });
});
