import { describe, expect, it } from 'vitest';
import { dataRows, LogRows, maxDataRows } from './log-rows';
import { RunLines } from './run-lines';
import { lines, logOf } from './test/fixtures';

describe('the rows of a log', () => {
  it('are its lines, with the rows of each unfolded line\'s data right under it', () => {
    const log = new RunLines('r');
    log.append(logOf('r', lines(1, 10)));
    const plain = new LogRows(log, new Map());
    expect(plain.count).toBe(10);
    expect(plain.at(4)).toEqual({ line: 4, sub: -1 });

    const rows = new LogRows(log, new Map([
      [3, ['{', '  "a": 1', '}']],
      [7, ['[]']],
    ]));
    expect(rows.count).toBe(14);
    expect([0, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13].map((r) => rows.at(r))).toEqual([
      { line: 0, sub: -1 },
      { line: 2, sub: -1 },
      { line: 2, sub: 0 },
      { line: 2, sub: 1 },
      { line: 2, sub: 2 },
      { line: 3, sub: -1 },
      { line: 4, sub: -1 },
      { line: 5, sub: -1 },
      { line: 6, sub: 0 },
      { line: 7, sub: -1 },
      { line: 8, sub: -1 },
      { line: 9, sub: -1 },
    ]);
    expect(rows.dataRow({ line: 2, sub: 1 })).toBe('  "a": 1');
    expect([0, 2, 3, 6, 7, 9].map((line) => rows.rowOf(line))).toEqual([0, 2, 6, 9, 11, 13]);
    expect(rows.lineOf(4)).toBe(2);
  });

  it('cuts long data, and shows what JSON cannot say', () => {
    expect(dataRows({ a: [1, 2] })).toEqual(['{', '  "a": [', '    1,', '    2', '  ]', '}']);
    const long = dataRows(Array.from({ length: 1000 }, (_, i) => i));
    expect(long).toHaveLength(maxDataRows + 1);
    expect(long.at(-1)).toMatch(/^… 602 more lines/);
    const loop: Record<string, unknown> = {};
    loop['self'] = loop;
    expect(dataRows(loop)).toEqual(['[object Object]']);
  });
});
