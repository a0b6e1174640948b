// Search in a run's log: case-insensitive, over the text without escapes, every occurrence counted. New lines are
// searched as they arrive, so a search stays right while the log streams.
import type { LineSource } from './run-lines';

export const maxMatches = 100_000;

export interface MatchRange {
  start: number;
  end: number;
  /** the current match (the one next/previous moved to) */
  current: boolean;
}

export class LogSearch {
  private query = '';
  private needle = '';
  /** parallel arrays: line index and column of each match, in log order */
  readonly lines: number[] = [];
  readonly starts: number[] = [];
  private scanned = 0;
  private dropped = 0;

  constructor(private readonly log: LineSource) {}

  get count(): number {
    return this.lines.length;
  }

  get capped(): boolean {
    return this.lines.length >= maxMatches;
  }

  get length(): number {
    return this.needle.length;
  }

  /** Brings the matches up to date with the query and the log; true when they changed. */
  update(query: string): boolean {
    if (query !== this.query || this.log.dropped !== this.dropped) {
      this.query = query;
      this.needle = query.toLowerCase();
      this.lines.length = 0;
      this.starts.length = 0;
      this.scanned = 0;
      this.dropped = this.log.dropped;
      this.scan();
      return true;
    }
    const before = this.lines.length;
    this.scan();
    return this.lines.length !== before;
  }

  private scan(): void {
    const log = this.log;
    const end = log.length;
    if (!this.needle) {
      this.scanned = end;
      return;
    }
    const needle = this.needle;
    for (let i = this.scanned; i < end && this.lines.length < maxMatches; i++) {
      const line = log.plainAt(i);
      if (line.length < needle.length) continue;
      const lower = line.toLowerCase();
      let at = lower.indexOf(needle);
      while (at !== -1 && this.lines.length < maxMatches) {
        this.lines.push(i);
        this.starts.push(at);
        at = lower.indexOf(needle, at + needle.length);
      }
    }
    this.scanned = end;
  }

  /** Index of the first match at or after line `line` (wrapping to 0). */
  firstFrom(line: number): number {
    if (this.lines.length === 0) return -1;
    const i = lowerBound(this.lines, line);
    return i < this.lines.length ? i : 0;
  }

  /** The match ranges on one line, marking `current` (a match index). */
  rangesOn(line: number, current: number): MatchRange[] {
    const out: MatchRange[] = [];
    for (let i = lowerBound(this.lines, line); i < this.lines.length && this.lines[i] === line; i++) {
      const start = this.starts[i]!;
      out.push({ start, end: start + this.needle.length, current: i === current });
    }
    return out;
  }
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
