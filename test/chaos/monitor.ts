// The database's side of a phase, watched from connections of the suite's own: a monitor that asks, as fast as it
// can, whether any lane has two running runs, and a progress poll (runs by status) that paces the faults. Both ride
// out restarts: a failed query drops the connection and the next one opens a new one, until the server answers.
import type pg from 'pg';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connection that is opened again after any failure; `query` throws while the server is away. */
class Reconnecting {
  private client: pg.Client | undefined;
  private opening: Promise<pg.Client> | undefined;

  constructor(private readonly connect: () => Promise<pg.Client>) {}

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    const c = this.client ?? (await (this.opening ??= this.open()));
    try {
      return (await c.query<R>(sql, params)).rows;
    } catch (e) {
      this.drop(c);
      throw e;
    }
  }

  private async open(): Promise<pg.Client> {
    try {
      const c = await this.connect();
      c.on('error', () => this.drop(c));
      this.client = c;
      return c;
    } finally {
      this.opening = undefined;
    }
  }

  private drop(c: pg.Client): void {
    if (this.client === c) this.client = undefined;
    c.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

export interface LaneViolation {
  at: number;
  session: string;
  lane: string;
}

/**
 * Polls `select session_id, lane from ops.runs where status = 'running' group by 1, 2 having count(*) > 1` back to
 * back for the whole phase. The partial unique index runs_one_running_per_lane makes such a row impossible to commit,
 * so a clean result checks the index as much as the claim code; the workers' logs say whether the index ever had to
 * refuse a claim.
 */
export class LaneMonitor {
  samples = 0;
  failedSamples = 0;
  readonly violations: LaneViolation[] = [];
  /** the longest stretch without an answer (a restart, a slow moment) */
  longestGapMs = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly conn: Reconnecting;
  private startedAt = 0;
  private stoppedAt = 0;

  constructor(connect: () => Promise<pg.Client>) {
    this.conn = new Reconnecting(connect);
  }

  start(): void {
    this.startedAt = Date.now();
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let last = Date.now();
    while (!this.stopped) {
      try {
        const rows = await this.conn.query<{ session_id: string; lane: string }>(
          `select session_id, lane from ops.runs where status = 'running' group by 1, 2 having count(*) > 1`,
        );
        const now = Date.now();
        this.samples++;
        this.longestGapMs = Math.max(this.longestGapMs, now - last);
        last = now;
        for (const r of rows) this.violations.push({ at: now, session: r.session_id, lane: r.lane });
      } catch {
        this.failedSamples++;
        await sleep(50);
      }
    }
  }

  get samplesPerSecond(): number {
    const ms = (this.stoppedAt || Date.now()) - this.startedAt;
    return ms > 0 ? (this.samples * 1000) / ms : 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.stoppedAt = Date.now();
    await this.conn.close();
  }
}

export interface Counts {
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  canceled: number;
}

/** Runs by status, every `everyMs`; `latest` is the last answer. */
export class Progress {
  latest: Counts = { queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 };
  lastChangeAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly conn: Reconnecting;
  private busy = false;
  private waiters: Array<() => void> = [];

  constructor(connect: () => Promise<pg.Client>, private readonly everyMs = 250) {
    this.conn = new Reconnecting(connect);
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.everyMs);
  }

  get finished(): number {
    return this.latest.succeeded + this.latest.failed + this.latest.canceled;
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const rows = await this.conn.query<{ status: keyof Counts; n: number }>('select status, count(*)::int as n from ops.runs group by status');
      const next: Counts = { queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 };
      for (const r of rows) next[r.status] = r.n;
      const finishedBefore = this.finished;
      this.latest = next;
      if (this.finished !== finishedBefore) this.lastChangeAt = Date.now();
      for (const w of this.waiters.splice(0)) w();
    } catch {
      // the server is away; the next poll tries again
    } finally {
      this.busy = false;
    }
  }

  /** Resolves after the next successful poll. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const w of this.waiters.splice(0)) w();
    await this.conn.close();
  }
}
