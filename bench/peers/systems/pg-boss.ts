// pg-boss through its public API. Release 10 (the last for Node 20) polls and gets concurrency from several work()
// loops per process; later releases add localConcurrency, LISTEN/NOTIFY wake-ups, job heartbeats that abort a canceled
// job's signal, and a strict per-key FIFO policy. One adapter serves both, choosing by what the release has.
import pg from 'pg';
import { importPeer, major, type PeerBase, peerVersion } from './load';
import { Payload } from './payload';
import type { Capabilities, Handler, Job, Plan, Producer, QueueSystem, RunningWorker } from './types';

interface BossJob {
  id: string;
  data: unknown;
  signal?: AbortSignal;
}
interface Boss {
  on(event: 'error', listener: (e: Error) => void): void;
  start(): Promise<unknown>;
  stop(options?: Record<string, unknown>): Promise<void>;
  createQueue(name: string, options?: Record<string, unknown>): Promise<void>;
  insert(...args: unknown[]): Promise<unknown>;
  send(name: string, data: object, options?: Record<string, unknown>): Promise<string | null>;
  cancel(name: string, id: string): Promise<unknown>;
  work(name: string, options: Record<string, unknown>, handler: (jobs: BossJob[]) => Promise<unknown>): Promise<string>;
}
type BossClass = new (options: Record<string, unknown>) => Boss;

/** pg-boss's floor for polling. */
const FASTEST_POLL_S = 0.5;
/** The shortest job heartbeat a modern release accepts; its refresh is what tells a worker its job was canceled. */
const HEARTBEAT_S = 10;
const HEARTBEAT_REFRESH_S = 1;

// release 11 brought localConcurrency, insert(name, jobs) and job.signal; 12 the key_strict_fifo policy
const isModern = (version: string) => major(version) >= 11;
const strictPolicyOf = (version: string) => (major(version) >= 12 ? 'key_strict_fifo' : 'singleton');

/** What this release can do, from its version alone (the harness's own process cannot always load it). */
export function pgBossCapabilities(version: string): Capabilities {
  const modern = isModern(version);
  return {
    cancelRunning: modern
      ? null
      : `pg-boss ${major(version)} cannot stop a running job: cancel() only marks it cancelled in the table and the handler runs on`,
    crashLeaseSeconds: (requested) => requested,
    leaseNote: (requested) =>
      `expireInSeconds ${requested} (a limit on the job's run time, not a renewable lease), retryLimit 3, retryDelay 0, ` +
      (modern ? 'superviseIntervalSeconds 1 and monitorIntervalSeconds 1' : 'maintenanceIntervalSeconds 1'),
    profiles: modern
      ? {
          default: 'work() with localConcurrency 8, everything else default (poll 2 s, no LISTEN/NOTIFY, batchSize 1)',
          tuned: `useListenNotify with notify queues, localConcurrency 2 × batchSize 4, burstWhenBatchFull, poll ${FASTEST_POLL_S} s with or without NOTIFY; for cancel a job heartbeat of ${HEARTBEAT_S} s refreshed every ${HEARTBEAT_REFRESH_S} s`,
        }
      : {
          default: 'eight work() loops per process (this release has no localConcurrency), batchSize 1, poll 2 s (it has no LISTEN/NOTIFY)',
          tuned: `one work() loop per process with batchSize 8 (one fetch and one complete per 8 jobs), poll ${FASTEST_POLL_S} s`,
        },
    lanes: `one queue with policy '${strictPolicyOf(version)}' and singletonKey = lane`,
  };
}

export async function pgBoss(base: PeerBase): Promise<QueueSystem> {
  const mod = await importPeer('pg-boss', base);
  const PgBoss = (typeof mod.PgBoss === 'function' ? mod.PgBoss : mod.default) as BossClass & { policies?: Record<string, string> };
  const version = peerVersion('pg-boss', base);
  const modern = isModern(version);
  const policies = Object.values((mod.policies as Record<string, string> | undefined) ?? PgBoss.policies ?? {});
  const strictPolicy = strictPolicyOf(version);
  if (policies.length > 0 && !policies.includes(strictPolicy)) throw new Error(`pg-boss ${version} has no '${strictPolicy}' policy`);
  const queueName = (plan: Plan) => (plan.exclusive ? 'bench-lanes' : 'bench');
  let errors = 0;
  const onError = (e: Error) => {
    // a busy singleton queue makes fetches fail on its unique index; say so a few times, not twenty thousand
    if (++errors <= 3) console.error(`[pg-boss] ${e.message}`);
  };

  const tunedWork = modern
    ? (concurrency: number) => ({
        localConcurrency: 2,
        batchSize: Math.max(1, Math.ceil(concurrency / 2)),
        burstWhenBatchFull: true,
        pollingIntervalSeconds: FASTEST_POLL_S,
        // with NOTIFY on, polling drops to a 30 s backstop, and a job that expires or comes back for a retry sends no
        // NOTIFY: without this a crashed worker's jobs wait up to half a minute
        notifyPollingIntervalSeconds: FASTEST_POLL_S,
      })
    : (concurrency: number) => ({ batchSize: concurrency, pollingIntervalSeconds: FASTEST_POLL_S });

  return {
    name: 'pg-boss',
    version,
    capabilities: pgBossCapabilities(version),

    async producer(url, settings) {
      const boss = new PgBoss({ connectionString: url, max: 4, supervise: false, schedule: false });
      boss.on('error', onError);
      await boss.start();
      const sql = new pg.Client({ connectionString: url });
      sql.on('error', (e) => console.error(`[bench] ${e.message}`));
      await sql.connect();
      let name = 'bench';
      let exclusive = false;
      const ids = new Map<number, string>();
      const toInsert = (j: Job) => ({
        ...(modern ? {} : { name }),
        data: { key: j.key, work: j.work },
        ...(exclusive ? { singletonKey: `lane-${j.lane}` } : {}),
      });
      const producer: Producer = {
        async prepare(plan) {
          name = queueName(plan);
          exclusive = plan.exclusive;
          const options: Record<string, unknown> = { policy: plan.exclusive ? strictPolicy : 'standard' };
          if (settings.leaseSeconds !== null) Object.assign(options, { expireInSeconds: settings.leaseSeconds, retryLimit: 3, retryDelay: 0 });
          if (modern && settings.profile === 'tuned') options.notify = true;
          if (modern && plan.cancellable) options.heartbeatSeconds = HEARTBEAT_S;
          await boss.createQueue(name, options);
        },
        async enqueue(jobs) {
          for (let i = 0; i < jobs.length; i += 5000) {
            const batch = jobs.slice(i, i + 5000).map(toInsert);
            if (modern) await boss.insert(name, batch);
            else await boss.insert(batch);
          }
          if (jobs.length <= 1000) {
            // ids for cancel(); looked up now so that a cancel is one call
            const r = await sql.query<{ id: string; key: number }>(
              `select id, (data ->> 'key')::int as key from pgboss.job where name = $1`,
              [name],
            );
            for (const row of r.rows) ids.set(row.key, row.id);
          }
        },
        async enqueueOne(job) {
          const id = await boss.send(name, { key: job.key, work: job.work }, exclusive ? { singletonKey: `lane-${job.lane}` } : {});
          if (id) ids.set(job.key, id);
        },
        async cancel(key) {
          const id = ids.get(key);
          if (!id) throw new Error(`no job for key ${key}`);
          await boss.cancel(name, id);
        },
        async unfinished() {
          const r = await sql.query<{ n: number }>(
            `select count(*)::int as n from pgboss.job where name = $1 and state < 'completed'`,
            [name],
          );
          return r.rows[0]!.n;
        },
        async close() {
          await sql.end();
          await boss.stop({ graceful: false, timeout: 1000 });
        },
      };
      return producer;
    },

    async startWorker(url, settings, handler: Handler): Promise<RunningWorker> {
      const crash = settings.leaseSeconds !== null;
      const boss = new PgBoss({
        connectionString: url,
        schedule: false,
        // expiry runs in the supervisor's monitor pass (modern) or in maintenance (release 10): as often as allowed
        ...(crash ? (modern ? { superviseIntervalSeconds: 1, monitorIntervalSeconds: 1 } : { maintenanceIntervalSeconds: 1 }) : {}),
        ...(modern && settings.profile === 'tuned' ? { useListenNotify: true } : {}),
      });
      boss.on('error', onError);
      await boss.start();
      const name = queueName(settings.plan);
      const work = async (jobs: BossJob[]) => {
        await Promise.all(jobs.map((j) => handler(Payload.parse(j.data), j.signal)));
      };
      const cancelOptions = modern && settings.plan.cancellable ? { heartbeatRefreshSeconds: HEARTBEAT_REFRESH_S } : {};
      if (settings.profile === 'tuned') {
        await boss.work(name, { ...tunedWork(settings.concurrency), ...cancelOptions }, work);
      } else if (modern) {
        await boss.work(name, { localConcurrency: settings.concurrency, ...cancelOptions }, work);
      } else {
        for (let i = 0; i < settings.concurrency; i++) await boss.work(name, {}, work);
      }
      return { stop: () => boss.stop({ graceful: true, timeout: 3000 }) };
    },
  };
}
