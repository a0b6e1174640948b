// Our queue, driven through the Store the real worker uses. The worker loop here is the engine's shape with the
// executor replaced by the harness's handler: claim as many runs as there are free slots, one heartbeat per worker for
// all of its leases, cancels learned by NOTIFY (and by the heartbeat's answer), expired leases recovered by any worker.
import os from 'node:os';
import pg from 'pg';
import { PostgresStore } from '../../../worker/store/postgres';
import type { Disposable } from '../../../worker/store/store';
import type { Run, Session } from '../../../domain';
import { leavesWorkForOthers, WAKE_BACKSTOP_MS } from '../../../worker/engine/wake';
import { Payload } from './payload';
import type { CallStat, Handler, Job, Plan, Producer, QueueSystem, RunningWorker, WorkerSettings } from './types';
import pkg from '../../../package.json';

/** A session has at most 26 lanes, so lane n of a plan is lane `l{n % 26}` of session ⌊n / 26⌋. */
const LANES_PER_SESSION = 26;
const DEFAULT_LEASE_SECONDS = 30;
const POLL_MS = 1000;
const RECOVER_MS = 1000;
/**
 * finish_and_claim statements one tuned worker keeps in flight. Two in flight made smaller batches that cost as much
 * each (measured: 1,339 against 1,609 runs/s), so one.
 */
const TUNED_CALLS = 1;
/** The most a tuned worker claims ahead of its free slots, in multiples of its concurrency. */
const AHEAD_LIMIT = 7;

type FinishStatus = 'succeeded' | 'failed' | 'canceled';
interface BatchItem {
  runId: string;
  attempt: number;
  status: FinishStatus;
  exitCode?: number | null;
  error?: string | null;
}
export const ocr: QueueSystem = {
  name: 'ocr',
  version: pkg.version,
  capabilities: {
    cancelRunning: null,
    crashLeaseSeconds: (requested) => requested,
    leaseNote: (requested) =>
      `claim lease ${requested} s, renewed by one heartbeat per worker every ${Math.max(1, Math.floor(requested / 3))} s; every worker calls recover_expired once a second`,
    profiles: {
      default: 'Store defaults (pool 8): claim as many runs as free slots, one finish_run round trip per run',
      tuned: `one finish_and_claim statement records the runs that ended and claims for every free slot, plus as many runs ahead as the slots will start within one round trip (slots × round trip ÷ run time, measured as it goes; at most ${AHEAD_LIMIT} × concurrency; none for runs longer than a round trip); pool 3`,
    },
    lanes: 'ocr lanes (at most one running run per session and lane)',
  },

  async producer(url) {
    const store = new PostgresStore({ url, poolSize: 4 });
    const sql = new pg.Client({ connectionString: url });
    sql.on('error', (e) => console.error(`[bench] ${e.message}`));
    await sql.connect();
    const sessions: Session[] = [];
    const ids = new Map<number, string>();
    const toRun = (job: Job) => ({
      session_id: sessions[Math.floor(job.lane / LANES_PER_SESSION)]!.id,
      lane: `l${job.lane % LANES_PER_SESSION}`,
      intent: 'bench',
      spec: { key: job.key, work: job.work },
    });
    const remember = (runs: Run[]) => {
      for (const r of runs) ids.set(Number(r.spec.key), r.id);
    };
    const producer: Producer = {
      async prepare(plan: Plan) {
        await store.migrate();
        const count = Math.ceil(plan.lanes / LANES_PER_SESSION);
        for (let i = 0; i < count; i += 50) {
          const batch = Array.from({ length: Math.min(50, count - i) }, (_, k) => {
            const first = (i + k) * LANES_PER_SESSION;
            const n = Math.min(LANES_PER_SESSION, plan.lanes - first);
            return store.createSession({ title: `bench ${i + k}`, lanes: Array.from({ length: n }, (_, j) => `l${j}`) });
          });
          sessions.push(...(await Promise.all(batch)));
        }
      },
      async enqueue(jobs) {
        // one statement per 5,000 runs keeps each JSON argument small
        for (let i = 0; i < jobs.length; i += 5000) remember(await store.createRuns(jobs.slice(i, i + 5000).map(toRun)));
      },
      async enqueueOne(job) {
        remember([await store.createRun(toRun(job))]);
      },
      async cancel(key) {
        const id = ids.get(key);
        if (!id) throw new Error(`no run for key ${key}`);
        await store.cancelRun(id);
      },
      async unfinished() {
        const r = await sql.query<{ n: number }>(`select count(*)::int as n from ops.runs where status in ('queued', 'running')`);
        return r.rows[0]!.n;
      },
      async close() {
        await sql.end();
        await store.close();
      },
    };
    return producer;
  },

  async startWorker(url, settings, handler) {
    const store = new PostgresStore({ url, poolSize: settings.profile === 'tuned' ? 3 : 8, log: (m) => console.error(`[ocr ${settings.workerId}] ${m}`) });
    const worker = new OcrWorker(store, settings, handler);
    await worker.start();
    return worker;
  },
};

interface Held {
  run: Run;
  ac: AbortController;
  /** the lease is gone (heartbeat said so): stop, and do not write for this run again */
  lost: boolean;
}

class OcrWorker implements RunningWorker {
  private readonly held = new Map<string, Held>();
  private readonly toFinish: Array<{ held: Held; status: FinishStatus }> = [];
  /** tuned: runs just claimed, started as soon as the ends recorded with them have freed their slots */
  private readonly waiting: string[] = [];
  /** tuned: finish_and_claim statements in flight, the slots they will fill, the runs whose end they record */
  private inFlight = 0;
  private reserved = 0;
  private finishing = 0;
  private readonly subs: Disposable[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly lease: number;
  /** runs whose handler is still going (held also counts runs whose end is not yet recorded) */
  private executing = 0;
  private pumping = false;
  private pumpScheduled = false;
  private backstop: NodeJS.Timeout | undefined;
  /** the next claim answers a queue notification that named this worker */
  private named = false;
  private again = false;
  private stopping = false;
  private readonly calls = new Map<string, CallStat>();
  /** tuned: moving averages of a run's duration and of a finish_and_claim round trip, in ms */
  private runMs: number | undefined;
  private callMs: number | undefined;

  constructor(
    private readonly store: PostgresStore,
    private readonly s: WorkerSettings,
    private readonly handler: Handler,
  ) {
    this.lease = s.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  }

  /** Times one database call, so the harness can say where a worker's time went. */
  private async timed<T>(name: string, items: (result: T) => number, call: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    const result = await call();
    const s = this.calls.get(name) ?? { name, calls: 0, totalMs: 0, items: 0 };
    s.calls++;
    s.totalMs += performance.now() - t0;
    s.items += items(result);
    this.calls.set(name, s);
    return result;
  }

  stats(): CallStat[] {
    return [...this.calls.values()];
  }

  async start(): Promise<void> {
    await this.store.registerWorker({
      id: this.s.workerId,
      host: os.hostname(),
      pid: process.pid,
      concurrency: this.s.concurrency,
      labels: {},
      version: 'bench',
    });
    this.subs.push(this.store.onQueueChange((first) => this.onQueueChange(first)));
    this.subs.push(this.store.onCancelRequested((runId) => this.held.get(runId)?.ac.abort()));
    await this.store.listening();
    this.every(POLL_MS, () => this.pump());
    this.every(Math.max(1, Math.floor(this.lease / 3)) * 1000, () => this.beat());
    this.every(RECOVER_MS, () => this.recover());
    this.pump();
  }

  private every(ms: number, f: () => unknown): void {
    // jitter, so four workers started together do not hit the database in step
    const t = setInterval(f, ms + Math.floor(Math.random() * ms * 0.1));
    this.timers.push(t);
  }

  /** Claims for every free slot; calls that arrive while a claim is in flight make it look once more afterwards. */
  private pump(): void {
    if (this.stopping) return;
    if (this.s.profile === 'tuned') {
      this.pumpTuned();
      return;
    }
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.pumpLoop().finally(() => (this.pumping = false));
  }

  private async pumpLoop(): Promise<void> {
    do {
      this.again = false;
      try {
        const free = this.freeSlots();
        if (free <= 0 || this.stopping) return;
        await this.claim(free);
      } catch (e) {
        console.error(`[ocr ${this.s.workerId}] ${(e as Error).message}`);
        return;
      }
    } while (this.again && !this.stopping);
  }

  /**
   * Tuned: one statement records the runs that ended and claims for the slots they freed, with up to
   * TUNED_CALLS such statements in flight, so a worker is never idle behind its own round trip.
   *
   * It claims ahead only as many runs as its slots will start within one round trip, going by the runs it has seen:
   * slots × round trip ÷ run time, at most AHEAD_LIMIT × concurrency. Short runs then come in batches that keep the
   * slots full while the next statement is on its way; runs longer than a round trip are never claimed ahead, so a
   * leased run waits at most about one round trip before it starts and never starves the other workers.
   */
  private ahead(): number {
    if (this.runMs === undefined || this.callMs === undefined) return 0;
    const want = Math.floor((this.s.concurrency * this.callMs) / Math.max(this.runMs, 0.01));
    return Math.min(want, AHEAD_LIMIT * this.s.concurrency);
  }

  /**
   * Slots a claim may fill now: the concurrency (tuned: plus what it claims ahead), less the runs held and not being
   * finished, less the slots a statement in flight will fill.
   */
  private freeSlots(): number {
    const capacity = this.s.concurrency + (this.s.profile === 'tuned' ? this.ahead() : 0);
    return Math.max(0, capacity - (this.held.size - this.finishing) - this.reserved);
  }

  private pumpTuned(): void {
    // asked while the statements are out (a queue notification, say): look again when one is back
    if (this.inFlight >= TUNED_CALLS) this.again = true;
    while (this.inFlight < TUNED_CALLS && !this.stopping) {
      const batch = this.toFinish.splice(0);
      this.finishing += batch.length;
      const free = this.freeSlots();
      if (batch.length === 0 && free === 0) return;
      this.inFlight++;
      this.reserved += free;
      const items = batch.map(({ held, status }) => ({
        runId: held.run.id,
        attempt: held.run.attempt,
        status,
        exitCode: status === 'succeeded' ? 0 : null,
      }));
      const t0 = performance.now();
      const named = this.named;
      this.named = false;
      let claimed = 0;
      void this.timed('finishAndClaim', (r) => r.length + items.length, () =>
        this.store.finishAndClaim(this.s.workerId, items, free, { leaseSeconds: this.lease }),
      )
        .then((runs) => {
          claimed = runs.length;
          if (named && leavesWorkForOthers(claimed, free)) this.passOn();
          this.callMs = average(this.callMs, performance.now() - t0);
          for (const run of runs) {
            this.held.set(run.id, { run, ac: new AbortController(), lost: false });
            this.waiting.push(run.id);
          }
        })
        .catch((e: Error) => console.error(`[ocr ${this.s.workerId}] ${e.message}`))
        .finally(() => {
          for (const { held } of batch) this.held.delete(held.run.id);
          this.finishing -= batch.length;
          this.reserved -= free;
          this.inFlight--;
          this.startWaiting();
          // Claim again at once only if the queue may hold more (it filled every slot asked for) or the worker was
          // told so meanwhile; otherwise the next notification, or the poll, brings it back. Asking an empty queue
          // again and again would cost the database what the other workers need.
          const more = (claimed === free && free > 0) || this.again;
          this.again = false;
          if (this.toFinish.length > 0 || (more && this.held.size < this.s.concurrency + this.ahead())) this.pump();
        });
    }
  }

  /** As the engine's worker: the named worker claims now (or passes the news on), the others a moment later. */
  private onQueueChange(first: string | null): void {
    if (first === null) return this.pump();
    if (first !== this.s.workerId) return this.pumpLater();
    if (this.stopping || this.freeSlots() === 0) return this.passOn();
    this.named = true;
    this.pump();
  }

  private passOn(): void {
    void this.store.wakeWorkers().catch((e: Error) => console.error(`[ocr ${this.s.workerId}] ${e.message}`));
  }

  /** The backstop for a queue notification that named another worker, in case that one died. */
  private pumpLater(): void {
    if (this.backstop) return;
    this.backstop = setTimeout(() => {
      this.backstop = undefined;
      this.pump();
    }, WAKE_BACKSTOP_MS);
  }

  /**
   * Tuned: runs that end in one turn of the event loop share one statement. Pumping at the first end sent a statement
   * for one finished run while the others of its batch ended a microtask later and waited a whole round trip.
   */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private async claim(max: number): Promise<void> {
    const named = this.named;
    this.named = false;
    const runs = await this.timed('claim', (r) => r.length, () => this.store.claimRuns(this.s.workerId, max, { leaseSeconds: this.lease }));
    if (named && leavesWorkForOthers(runs.length, max)) this.passOn();
    for (const run of runs) this.begin(run);
  }

  /** Claimed runs start as their slots free up. */
  private startWaiting(): void {
    while (this.executing < this.s.concurrency && this.waiting.length > 0) {
      const held = this.held.get(this.waiting.shift()!);
      if (held && !held.lost) this.execute(held);
    }
  }

  private begin(run: Run): void {
    const held: Held = { run, ac: new AbortController(), lost: false };
    this.held.set(run.id, held);
    this.execute(held);
  }

  private execute(held: Held): void {
    const run = held.run;
    this.executing++;
    const payload = Payload.parse(run.spec);
    const t0 = performance.now();
    this.handler(payload, held.ac.signal).then(
      () => this.ended(held, held.ac.signal.aborted ? 'canceled' : 'succeeded', t0),
      () => this.ended(held, 'failed', t0),
    );
  }

  private ended(held: Held, status: FinishStatus, t0: number): void {
    this.executing--;
    this.runMs = average(this.runMs, performance.now() - t0);
    if (held.lost) {
      this.held.delete(held.run.id);
      this.pump();
      return;
    }
    if (this.s.profile === 'tuned') {
      this.toFinish.push({ held, status });
      this.startWaiting();
      this.pumpSoon();
      return;
    }
    const lease = { runId: held.run.id, workerId: this.s.workerId, attempt: held.run.attempt };
    this.timed('finish', () => 1, () => this.store.finishRun(lease, { status, exitCode: status === 'succeeded' ? 0 : null }))
      .catch((e: Error) => console.error(`[ocr ${this.s.workerId}] finish failed: ${e.message}`))
      .finally(() => {
        this.held.delete(held.run.id);
        this.pump();
      });
  }

  /** On the way out: record how the last runs ended, in one statement. */
  private async flushFinishes(): Promise<void> {
    const batch = this.toFinish.splice(0);
    const items: BatchItem[] = batch.map(({ held, status }) => ({
      runId: held.run.id,
      attempt: held.run.attempt,
      status,
      exitCode: status === 'succeeded' ? 0 : null,
    }));
    try {
      await this.timed('finishRuns', () => items.length, () => this.store.finishRuns(this.s.workerId, items));
    } finally {
      for (const { held } of batch) this.held.delete(held.run.id);
    }
  }

  /** Renews every lease, and keeps this worker live for the queue's notifications even when it holds nothing. */
  private async beat(): Promise<void> {
    const running = [...this.held.values()].filter((h) => !h.lost);
    try {
      const outcomes = await this.timed('heartbeat', (o) => o.size, () =>
        this.store.heartbeat(this.s.workerId, running.map((h) => h.run.id), this.lease),
      );
      for (const h of running) {
        const o = outcomes.get(h.run.id);
        if (o === 'cancel') h.ac.abort();
        if (o === 'lost') {
          h.lost = true;
          h.ac.abort();
        }
      }
    } catch (e) {
      console.error(`[ocr ${this.s.workerId}] heartbeat failed: ${(e as Error).message}`);
    }
  }

  private async recover(): Promise<void> {
    try {
      const moved = await this.timed('recover', (m) => m.length, () => this.store.recoverExpired());
      if (moved.some((m) => m.outcome === 'requeued')) this.pump();
    } catch (e) {
      console.error(`[ocr ${this.s.workerId}] recover failed: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.backstop);
    for (const s of this.subs) s.dispose();
    for (const h of this.held.values()) h.ac.abort();
    const deadline = Date.now() + 5000;
    while ((this.held.size > 0 || this.pumping) && Date.now() < deadline) {
      if (this.toFinish.length > 0 && !this.pumping) await this.flushFinishes().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.store.close();
  }
}

/** An exponentially weighted moving average: recent samples count most, one odd sample does not swing it. */
function average(current: number | undefined, sample: number): number {
  return current === undefined ? sample : current * 0.9 + sample * 0.1;
}
