import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../domain';
import { logHeader, LogText } from './log-text';

const runId = '1a2b3c4d-0000-4000-8000-000000000000';
let seq = 0;
const event = (stream: RunEvent['stream'], text: string, data: unknown = null): RunEvent => ({
  run_id: runId,
  seq: ++seq,
  ts: new Date().toISOString(),
  stream,
  level: 'info',
  step: null,
  text,
  data,
});

describe('LogText', () => {
  it('starts with which run it is', () => {
    const log = new LogText(logHeader({ id: runId, lane: 'A', intent: 'npm test\nand more', executor: 'shell' }));
    expect(log.text).toBe('── Lane A — run 1a2b3c4d (shell): npm test\n');
  });

  it('shows output as a terminal leaves it, and marks the worker\'s own lines', () => {
    const log = new LogText('');
    log.append([
      event('system', 'claimed by w1 (attempt 1 of 3)'),
      event('stdout', '\x1b[32m✓ passed\x1b[0m \x1b]8;;https://example.com\x07link\x1b]8;;\x07'),
      event('stderr', 'progress 10%\rprogress 100%'),
      event('system', 'two\nlines'),
    ]);
    expect(log.text).toBe('── claimed by w1 (attempt 1 of 3)\n✓ passed link\nprogress 100%\n── two\n   lines\n');
  });

  it('joins the pieces of a cut line and ignores events it already has', () => {
    const log = new LogText('');
    const first = event('stdout', 'aaaa');
    const rest = event('stdout', 'bbbb', { continued: true });
    log.append([first, rest]);
    log.append([first, rest]);
    expect(log.text).toBe('aaaabbbb\n');
    expect(log.lastSeq).toBe(rest.seq);
  });

  it('knows the line each event starts on, past multi-line events, joined pieces and its own notes', () => {
    const log = new LogText(logHeader({ id: runId, lane: 'A', intent: 'npm test', executor: 'shell' }));
    const [a, b, c, d, e] = [
      event('stdout', 'first'),
      event('system', 'two\nlines'),
      event('stdout', 'cut '),
      event('stdout', 'piece', { continued: true }),
      event('stderr', 'last'),
    ];
    log.append([a!, b!, c!]);
    log.append([d!]);
    log.note('a note of the editor');
    log.append([e!]);
    const lines = log.text.split('\n');
    expect([a, b, c, d, e].map((x) => log.lineOf(x!.seq))).toEqual([1, 2, 4, 4, 6]);
    expect(lines.slice(4, 7)).toEqual(['cut piece', '── a note of the editor', 'last']);
    expect(log.lineOf(e!.seq + 1)).toBeUndefined();
  });
});
