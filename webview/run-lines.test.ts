import { describe, expect, it } from 'vitest';
import { RunLines } from './run-lines';
import { lines, logOf } from './test/fixtures';

describe('a run log', () => {
  it('keeps each line once, in order, and reports a gap', () => {
    const log = new RunLines('r');
    expect(log.append(logOf('r', lines(1, 3)))).toBe('ok');
    expect(log.append(logOf('r', lines(2, 3)))).toBe('ok');
    expect(log.text).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);
    expect(log.append(logOf('r', lines(7, 2)))).toBe('gap');
    expect(log.lastSeq).toBe(4);
  });

  it('keeps the last lines within its limit and counts what it dropped', () => {
    const log = new RunLines('r', 100);
    log.append(logOf('r', lines(1, 150)));
    expect(log.length).toBeLessThanOrEqual(100);
    expect(log.dropped + log.length).toBe(150);
    expect(log.seqAt(0)).toBe(log.dropped + 1);
    expect(log.text.at(-1)).toBe('line 150');
  });

  it('shows what a terminal leaves after carriage returns, without escapes in its plain text', () => {
    const log = new RunLines('r');
    log.append(logOf('r', [{ seq: 1, stream: 'stderr', level: 'warn', text: 'progress 10%\rprogress 100%\r' }]));
    log.append(logOf('r', [{ seq: 2, stream: 'stdout', level: 'info', text: '\x1b[31mred\x1b[0m and \x1b]8;;http://x\x07link\x1b]8;;\x07' }]));
    expect(log.text[0]).toBe('progress 100%');
    expect(log.stream(0)).toBe('stderr');
    expect(log.level(0)).toBe('warn');
    expect(log.plain[1]).toBe('red and link');
  });
});
