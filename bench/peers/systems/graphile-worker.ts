// graphile-worker through its public API: `run` with a task list for workers, WorkerUtils for queuing. Lanes are its
// named queues (`queue_name`), which run their jobs one at a time.
import pg from 'pg';
import { importPeer, type PeerBase, peerVersion } from './load';
import { Payload } from './payload';
import type { Capabilities, Handler, Job, Producer, QueueSystem, RunningWorker } from './types';

// The few parts of graphile-worker's API the harness uses, typed here so one adapter serves every release.
interface JobSpec {
  identifier: string;
  payload: unknown;
  queueName?: string;
}
interface WorkerUtils {
  migrate(): Promise<void>;
  addJob(identifier: string, payload: unknown, spec?: { queueName?: string }): Promise<unknown>;
  addJobs(specs: JobSpec[]): Promise<unknown>;
  release(): Promise<void>;
}
interface Runner {
  stop(): Promise<void>;
  promise: Promise<void>;
}
type Task = (payload: unknown, helpers: { abortSignal?: AbortSignal }) => Promise<void>;
interface GraphileWorker {
  run(options: Record<string, unknown>): Promise<Runner>;
  makeWorkerUtils(options: Record<string, unknown>): Promise<WorkerUtils>;
  Logger: new (factory: (scope: unknown) => (level: string, message: string) => void) => unknown;
}

const TASK = 'bench';
/** Jobs locked in advance per worker process in the tuned profile. */
const LOCAL_QUEUE = 32;

/** What this release can do, from its version alone (the harness's own process cannot always load it). */
export function graphileWorkerCapabilities(): Capabilities {
  return {
    cancelRunning:
      'graphile-worker cannot stop a running job: removeJob and permanentlyFailJobs leave a locked job running, and a task\'s abortSignal fires only on shutdown',
    crashLeaseSeconds: () => null,
    leaseNote: () => 'no lease to set: a dead worker\'s locked jobs are released after a fixed 4 hours',
    profiles: {
      default: 'concurrency 8, everything else default (pool 10, poll 2 s, LISTEN/NOTIFY, one job fetched and completed per call)',
      tuned: `localQueue ${LOCAL_QUEUE} (batch fetch), completeJobBatchDelay 0 and failJobBatchDelay 0 (batched completion), pool 10`,
    },
    lanes: 'queue_name per lane (a named queue runs one job at a time)',
  };
}

export async function graphileWorker(base: PeerBase): Promise<QueueSystem> {
  const mod = await importPeer('graphile-worker', base);
  // a CommonJS release arrives as the module's default export, an ES module release as named exports
  const gw = (typeof mod.run === 'function' ? mod : mod.default) as GraphileWorker;
  const version = peerVersion('graphile-worker', base);
  const logger = new gw.Logger(() => (level, message) => {
    if (level === 'error') console.error(`[graphile-worker] ${message}`);
  });
  const queueName = (job: Job, exclusive: boolean) => (exclusive ? `lane-${job.lane}` : undefined);

  return {
    name: 'graphile-worker',
    version,
    capabilities: graphileWorkerCapabilities(),

    async producer(url) {
      const utils = await gw.makeWorkerUtils({ connectionString: url, logger });
      const sql = new pg.Client({ connectionString: url });
      sql.on('error', (e) => console.error(`[bench] ${e.message}`));
      await sql.connect();
      let exclusive = false;
      const producer: Producer = {
        async prepare(plan) {
          exclusive = plan.exclusive;
          await utils.migrate();
        },
        async enqueue(jobs) {
          for (let i = 0; i < jobs.length; i += 5000) {
            await utils.addJobs(
              jobs.slice(i, i + 5000).map((j) => ({
                identifier: TASK,
                payload: { key: j.key, work: j.work },
                ...(exclusive ? { queueName: queueName(j, true) } : {}),
              })),
            );
          }
        },
        async enqueueOne(job) {
          await utils.addJob(TASK, { key: job.key, work: job.work }, exclusive ? { queueName: queueName(job, true) } : {});
        },
        async cancel() {
          throw new Error('graphile-worker cannot cancel a running job');
        },
        async unfinished() {
          // finished jobs are deleted; what is left is queued, running or waiting for a retry
          const r = await sql.query<{ n: number }>('select count(*)::int as n from graphile_worker._private_jobs');
          return r.rows[0]!.n;
        },
        async close() {
          await sql.end();
          await utils.release();
        },
      };
      return producer;
    },

    async startWorker(url, settings, handler: Handler): Promise<RunningWorker> {
      const task: Task = async (payload, helpers) => handler(Payload.parse(payload), helpers.abortSignal);
      const tuned =
        settings.profile === 'tuned'
          ? { preset: { worker: { localQueue: { size: LOCAL_QUEUE }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } }
          : {};
      const runner = await gw.run({
        connectionString: url,
        concurrency: settings.concurrency,
        noHandleSignals: true,
        logger,
        taskList: { [TASK]: task },
        ...tuned,
      });
      runner.promise.catch((e: Error) => console.error(`[graphile-worker] runner failed: ${e.message}`));
      return { stop: () => runner.stop() };
    },
  };
}
