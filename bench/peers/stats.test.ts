import { describe, expect, it } from 'vitest';
import { countOverlaps, Ledger, percentile, percentiles } from './stats';

describe('percentile', () => {
  it('is nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i); // 1…100, unsorted
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
  });

  it('makes p99 of a few samples their maximum', () => {
    expect(percentiles([3, 1, 2, 8, 5, 4, 7, 6])).toEqual({ p50: 4, p95: 8, p99: 8 });
  });

  it('has no value without samples', () => {
    expect(percentiles([])).toEqual({ p50: null, p95: null, p99: null });
  });
});

describe('countOverlaps', () => {
  it('counts a start inside another run of the same lane', () => {
    expect(
      countOverlaps([
        { lane: 1, start: 0, end: 10 },
        { lane: 1, start: 10, end: 20 }, // back to back is not an overlap
        { lane: 1, start: 15, end: 16 }, // overlaps the second
        { lane: 2, start: 5, end: 30 }, // another lane: never an overlap
      ]),
    ).toBe(1);
  });

  it('counts a run nested in a long one, and a run that never ended', () => {
    expect(
      countOverlaps([
        { lane: 0, start: 0, end: 100 },
        { lane: 0, start: 10, end: 20 },
        { lane: 0, start: 30, end: 40 },
        { lane: 3, start: 0, end: Infinity },
        { lane: 3, start: 50, end: 60 },
      ]),
    ).toBe(3);
  });
});

describe('Ledger', () => {
  it('pairs starts with ends per worker and cuts a killed worker at its death', () => {
    const l = new Ledger();
    l.start(0, 0, 1); // worker 0 is killed at 5 while running key 0
    l.start(0, 1, 7); // worker 1 runs it again
    l.end(0, 1, 9, false);
    l.start(1, 1, 2);
    expect(l.intervals((k) => k, new Map([[0, 5]]))).toEqual([
      { lane: 0, key: 0, w: 0, start: 1, end: 5 },
      { lane: 0, key: 0, w: 1, start: 7, end: 9 },
      { lane: 1, key: 1, w: 1, start: 2, end: Infinity },
    ]);
    expect(l.twice()).toBe(1);
    expect(l.twice(new Set([0]))).toBe(0);
    expect(l.lost(2)).toBe(1);
    expect(l.ended).toBe(1);
  });
});
