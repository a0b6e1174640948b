// What the worker asks of whatever carries out a claimed run. The worker owns the queue's side (claiming, the lease,
// recording how runs ended, in batches); an execution owns the run's side (its workspace, its processes, its log).
import type { FinalStatus, Run } from '../../domain';
import type { WorkerStore } from '../store/store';

export type RunEnd =
  | { status: FinalStatus; exitCode: number | null; error: string | null }
  /** the lease was gone before the end could be recorded: another worker may hold the run now */
  | { status: 'lost'; error: string }
  /** a runbook run parked at an approval gate: waiting, without a lease; nothing more to record */
  | { status: 'parked' }
  /** a failed runbook run with attempts left went back to the queue for later; nothing more to record */
  | { status: 'requeued'; error: string };

/** An end the worker records (the others were recorded, or cannot be, already). */
export const isRecordedEnd = (end: RunEnd): end is Extract<RunEnd, { status: FinalStatus }> =>
  end.status === 'succeeded' || end.status === 'failed' || end.status === 'canceled';

export type StopReason = 'cancel' | 'shutdown';

/** One claimed run being carried out. */
export interface RunExecution {
  readonly run: Run;
  /** the lease is gone: nothing more is written for this run */
  readonly lost: boolean;
  /** the process group of the command running now, if any */
  readonly processGroup: number | undefined;
  /** the person asked it to stop, or the worker is shutting down */
  cancel(reason: StopReason): void;
  /** another worker may own the run now: stop at once, write nothing more */
  loseLease(why: string): void;
  /**
   * Does the run's work and writes what it leaves (log lines, artifacts) under its lease, then says how it ended. It
   * does not record the end: the worker does, for every run that ended in the same turn, in one statement.
   */
  execute(): Promise<RunEnd>;
}

/** What an executor needs of the worker that runs it. */
export interface ExecutionContext {
  store: WorkerStore;
  workerId: string;
}

/** Makes the execution of a claimed run. The worker's own executor runs processes in lane worktrees. */
export type RunExecutor = (run: Run, context: ExecutionContext) => RunExecution;
