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
});
