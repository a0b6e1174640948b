// The one interface every queue under test implements, so each scenario drives ocr, graphile-worker and pg-boss the
// same way. The harness never asks a system what happened: handlers report start and end to the harness itself.
import type { SystemName } from '../config';

/** What a run does once a worker starts it. `hold` waits for a cancel (or gives up after maxMs). */
export type Work = { kind: 'noop' } | { kind: 'sleep'; ms: number } | { kind: 'hold'; maxMs: number };

export interface Job {
  /** the harness's own id of the run: 0…n-1 */
  key: number;
  /**
   * The lane the run belongs to. In `exclusive` plans a lane runs one run at a time (ocr lanes, graphile-worker
   * queue_name, pg-boss's strictest per-key policy); otherwise lane = key and nothing serialises runs.
   */
  lane: number;
  work: Work;
}

export interface Plan {
  /** how many distinct lanes the jobs use (lanes are 0…lanes-1) */
  lanes: number;
  exclusive: boolean;
  /** running jobs will be canceled: systems that need a setting for that (pg-boss's job heartbeat) turn it on */
  cancellable: boolean;
}

export type Profile = 'default' | 'tuned';

export interface WorkerSettings {
  workerId: string;
  concurrency: number;
  profile: Profile;
  /** a short lease for the crash scenario; null keeps the system's default */
  leaseSeconds: number | null;
  plan: Plan;
}

/** Called for every job a worker starts; resolves when the work is over (or the signal stopped it). */
export type Handler = (job: { key: number; work: Work }, signal: AbortSignal | undefined) => Promise<void>;

export interface Producer {
  /** Installs the system's schema and whatever the plan needs (sessions and lanes, queues) on a fresh database. */
  prepare(plan: Plan): Promise<void>;
  /** Queues many jobs with the system's bulk API. */
  enqueue(jobs: Job[]): Promise<void>;
  /** Queues one job with the system's ordinary API. */
  enqueueOne(job: Job): Promise<void>;
  /** Asks the system to stop a job that is running. Only called when `cancelRunning` is true. */
  cancel(key: number): Promise<void>;
  /** Jobs not yet finished as the database records them: the end of a drain is when this reaches 0. */
  unfinished(): Promise<number>;
  close(): Promise<void>;
}

/** Time a worker spent in one kind of database call, for systems the harness can see into (ours). */
export interface CallStat {
  name: string;
  calls: number;
  totalMs: number;
  /** runs the calls carried (claimed, finished, renewed) */
  items: number;
}

export interface RunningWorker {
  stop(): Promise<void>;
  stats?(): CallStat[];
}

export interface Capabilities {
  /** null when the system can stop a running job; otherwise why not, for the table's notes */
  cancelRunning: string | null;
  /** the lease the crash scenario ends up with (seconds), or null with why in `leaseNote` */
  crashLeaseSeconds(requested: number): number | null;
  leaseNote(requested: number): string;
  /** what "default" and "tuned" mean for this system, for the notes */
  profiles: Record<Profile, string>;
  /** how lanes are made exclusive */
  lanes: string;
}

export interface QueueSystem {
  name: SystemName;
  version: string;
  capabilities: Capabilities;
  producer(url: string, settings: { profile: Profile; leaseSeconds: number | null }): Promise<Producer>;
  startWorker(url: string, settings: WorkerSettings, handler: Handler): Promise<RunningWorker>;
}
