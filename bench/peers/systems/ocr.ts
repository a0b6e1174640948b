// Our queue, driven by the engine's own Worker: the worker `ocr worker` and the editor run, with an in-process executor
// that calls the harness's handler instead of starting a process in a worktree. Everything else is the real loop:
// finish-and-claim in one statement for the ends of one turn, claiming ahead where runs are shorter than a round trip,
// one heartbeat per worker for all of its leases, cancels learned by NOTIFY and by the heartbeat's answer, expired
// leases recovered by every worker.
import pg from 'pg';
import type { Run, Session } from '../../../domain';
import { inProcessExecutor } from '../../../worker/engine/in-process';
import { Worker } from '../../../worker/engine/worker';
import { PostgresStore } from '../../../worker/store/postgres';
import type { Store } from '../../../worker/store/store';
import { Payload } from './payload';
import type { CallStat, Job, Plan, Producer, QueueSystem, RunningWorker } from './types';
import pkg from '../../../package.json';

/** A session has at most 26 lanes, so lane n of a plan is lane `l{n % 26}` of session ⌊n / 26⌋. */
const LANES_PER_SESSION = 26;
const DEFAULT_LEASE_SECONDS = 30;
const POLL_MS = 1000;
const RECOVER_MS = 1000;
/** The tuned profile's pool: fewer connections leave the two cores to the statements that matter. */
const TUNED_POOL = 3;

export const ocr: QueueSystem = {
  name: 'ocr',
  version: pkg.version,
  capabilities: {
    cancelRunning: null,
    crashLeaseSeconds: (requested) => requested,
    leaseNote: (requested) =>
      `claim lease ${requested} s, renewed by one heartbeat per worker every ${Math.max(1, Math.floor(requested / 3))} s; every worker calls recover_expired once a second`,
    profiles: {
      default: "the engine's Worker as `ocr worker` runs it, Store defaults (pool 8): one finish_and_claim statement records the runs that ended in one turn and claims for the free slots, plus as many runs ahead as the slots start within one round trip",
      tuned: `the same Worker on a pool of ${TUNED_POOL} connections`,
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
    const calls = new Map<string, CallStat>();
    const log = (m: string) => console.error(`[ocr ${settings.workerId}] ${m}`);
    const postgres = new PostgresStore({ url, poolSize: settings.profile === 'tuned' ? TUNED_POOL : undefined, log });
    const worker = new Worker(
      timed(postgres, calls),
      {
        id: settings.workerId,
        concurrency: settings.concurrency,
        leaseSeconds: settings.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
        pollMs: POLL_MS,
        recoverMs: RECOVER_MS,
        version: 'bench',
      },
      { log, executor: inProcessExecutor((run, signal) => handler(Payload.parse(run.spec), signal)) },
    );
    await worker.start();
    await postgres.listening();
    const running: RunningWorker = {
      stats: () => [...calls.values()],
      async stop() {
        await worker.stop({ graceMs: 0 });
        await postgres.close();
      },
    };
    return running;
  },
};

/** What a worker's time in the database went to, by call: the store, with every call of the worker's loop timed. */
function timed(store: Store, calls: Map<string, CallStat>): Store {
  const counted: Record<string, (result: unknown) => number> = {
    finishAndClaim: (r) => (r as { claimed: Run[] }).claimed.length,
    claimRuns: (r) => (r as Run[]).length,
    heartbeat: (r) => (r as Map<string, string>).size,
    recoverExpired: (r) => (r as unknown[]).length,
  };
  return new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      const items = typeof name === 'string' ? counted[name] : undefined;
      if (!items) return value.bind(target);
      return async (...args: unknown[]) => {
        const t0 = performance.now();
        const result: unknown = await value.apply(target, args);
        const stat = calls.get(name as string) ?? { name: name as string, calls: 0, totalMs: 0, items: 0 };
        stat.calls++;
        stat.totalMs += performance.now() - t0;
        stat.items += items(result);
        calls.set(name as string, stat);
        return result;
      };
    },
  });
}
