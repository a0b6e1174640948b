// The harness's own accounting: percentiles, overlaps within a lane, runs that ran twice or never finished. Nothing
// here trusts what a queue says about itself; it reads only the start and end events the handlers reported.

/** Nearest-rank percentile (the smallest sample with at least p% of samples at or below it); null for no samples. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export function percentiles(samples: readonly number[]): Percentiles {
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99) };
}

export interface Interval {
  lane: number;
  /** for evidence only: which run, on which worker */
  key?: number;
  w?: number;
  start: number;
  /** Infinity for a run that never reported its end */
  end: number;
}

/**
 * How many times a run started while another run of its lane had not yet ended. Each such start counts once, however
 * many runs it overlapped: n runs of a lane that all overlap count n - 1.
 */
export function countOverlaps(intervals: readonly Interval[]): number {
  return findOverlaps(intervals).length;
}

export interface Overlap {
  lane: number;
  /** the run that was still going */
  first: Interval;
  /** the run that started inside it */
  second: Interval;
}

/** Every start inside another run of its lane, with the run it started inside (the one that ends last). */
export function findOverlaps(intervals: readonly Interval[]): Overlap[] {
  const byLane = new Map<number, Interval[]>();
  for (const i of intervals) {
    let list = byLane.get(i.lane);
    if (!list) byLane.set(i.lane, (list = []));
    list.push(i);
  }
  const overlaps: Overlap[] = [];
  for (const [lane, list] of byLane) {
    list.sort((a, b) => a.start - b.start);
    let holder: Interval | undefined;
    for (const i of list) {
      if (holder && i.start < holder.end) overlaps.push({ lane, first: holder, second: i });
      if (!holder || i.end > holder.end) holder = i;
    }
  }
  return overlaps;
}

export interface Starts {
  /** worker index that started it, and when */
  readonly w: number;
  readonly at: number;
}
export interface Ends extends Starts {
  readonly canceled: boolean;
}

/** What every run of a scenario did, keyed by the harness's run key. */
export class Ledger {
  readonly starts = new Map<number, Starts[]>();
  readonly ends = new Map<number, Ends[]>();
  /** distinct runs that ended at least once */
  ended = 0;

  start(key: number, w: number, at: number): void {
    let list = this.starts.get(key);
    if (!list) this.starts.set(key, (list = []));
    list.push({ w, at });
  }

  end(key: number, w: number, at: number, canceled: boolean): void {
    let list = this.ends.get(key);
    if (!list) {
      this.ends.set(key, (list = []));
      this.ended++;
    }
    list.push({ w, at, canceled });
  }

  /** Runs that started more than once (not counting starts on `except` workers, such as one that was killed). */
  twice(except: ReadonlySet<number> = new Set()): number {
    let n = 0;
    for (const list of this.starts.values()) if (list.filter((s) => !except.has(s.w)).length > 1) n++;
    return n;
  }

  /** Of keys 0…count-1, those that never ended. */
  lost(count: number): number {
    let n = 0;
    for (let k = 0; k < count; k++) if (!this.ends.has(k)) n++;
    return n;
  }

  /**
   * Each start paired with the first end after it on the same worker; runs of a worker in `killed` that did not
   * report an end are cut at `killedAt` (that process is gone, so its run is too).
   */
  intervals(laneOf: (key: number) => number, killed: ReadonlyMap<number, number> = new Map()): Interval[] {
    const out: Interval[] = [];
    for (const [key, starts] of this.starts) {
      const ends = [...(this.ends.get(key) ?? [])];
      for (const s of [...starts].sort((a, b) => a.at - b.at)) {
        const i = ends.findIndex((e) => e.w === s.w && e.at >= s.at);
        const end = i >= 0 ? ends.splice(i, 1)[0]!.at : (killed.get(s.w) ?? Infinity);
        out.push({ lane: laneOf(key), key, w: s.w, start: s.at, end });
      }
    }
    return out;
  }
}
