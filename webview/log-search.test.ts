import { describe, expect, it } from 'vitest';
import { LogSearch } from './log-search';
import { RunLines } from './run-lines';
import { lines, logOf } from './test/fixtures';

describe('log search', () => {
  it('counts every occurrence, ignores case, and keeps up with new lines', () => {
    const log = new RunLines('r');
    log.append(logOf('r', lines(1, 3, (n) => (n === 2 ? 'Error: error again' : `ok ${n}`))));
    const search = new LogSearch(log);
    search.update('error');
    expect(search.count).toBe(2);
    expect(search.rangesOn(1, 1)).toEqual([
      { start: 0, end: 5, current: false },
      { start: 7, end: 12, current: true },
    ]);
    log.append(logOf('r', lines(4, 1, () => '\x1b[31mERROR\x1b[0m')));
    expect(search.update('error')).toBe(true);
    expect(search.count).toBe(3);
    expect(search.firstFrom(2)).toBe(2);
    expect(search.firstFrom(9)).toBe(0);
    search.update('');
    expect(search.count).toBe(0);
  });
});
