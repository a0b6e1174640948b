import { describe, expect, it } from 'vitest';
import { RunLines, StepLines } from './run-lines';
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

  it('keeps each line\'s stream, level (success too), step and data, and counts lines by level', () => {
    const log = new RunLines('r');
    log.append(
      logOf('r', [
        { seq: 1, stream: 'system', level: 'success', text: 'step a: succeeded', step: null, data: { took: 1 } },
        { seq: 2, stream: 'stderr', level: 'error', text: 'boom', step: 'b' },
        { seq: 3, stream: 'stdout', level: 'warn', text: 'hmm', step: 'a' },
        { seq: 4, stream: 'stdout', level: 'debug', text: 'quiet' },
      ]),
    );
    expect([0, 1, 2, 3].map((i) => [log.stream(i), log.level(i), log.step(i)])).toEqual([
      ['system', 'success', 'a'],
      ['stderr', 'error', 'b'],
      ['stdout', 'warn', 'a'],
      ['stdout', 'debug', null],
    ]);
    expect(log.dataAt(0)).toEqual({ took: 1 });
    expect(log.dataAt(1)).toBeUndefined();
    expect(log.counts).toEqual({ total: 4, success: 1, warn: 1, error: 1 });
  });

  it('shows one step\'s lines, taking in new ones and letting go of the ones the log dropped', () => {
    const log = new RunLines('r', 100);
    const step = new StepLines(log, 'b');
    expect(step.length).toBe(0);
    log.append(logOf('r', Array.from({ length: 60 }, (_, i) => ({ seq: i + 1, stream: 'stdout' as const, level: i % 10 === 0 ? ('error' as const) : ('info' as const), text: `line ${i + 1}`, step: i % 2 ? 'b' : 'a' }))));
    step.sync();
    expect(step.length).toBe(30);
    expect([step.textAt(0), step.seqAt(0), step.textAt(29)]).toEqual(['line 2', 2, 'line 60']);
    expect(step.counts).toEqual({ total: 30, success: 0, warn: 0, error: 0 });
    log.append(logOf('r', Array.from({ length: 60 }, (_, i) => ({ seq: i + 61, stream: 'stdout' as const, level: 'info' as const, text: `line ${i + 61}`, step: 'b' }))));
    step.sync();
    expect(log.dropped).toBeGreaterThan(0);
    expect(step.seqAt(0)).toBeGreaterThanOrEqual(log.firstSeq);
    expect(step.textAt(step.length - 1)).toBe('line 120');
    expect(step.dropped + step.length).toBe(90);
    expect(step.plainAt(0)).toBe(step.textAt(0));
  });
});
