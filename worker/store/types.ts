// What only the store and its callers speak of: leases, claim filters, and the answers of the queue's functions. The
// rows themselves (sessions, runs, events, artifacts, workers) are the domain's: see domain/.

/** The worker's claim on a run: every write of the worker names it, and is refused once it is gone. */
export interface Lease {
  runId: string;
  workerId: string;
  attempt: number;
}

export interface ClaimFilter {
  lanes?: string[];
  sessions?: string[];
  repoIds?: string[];
  leaseSeconds?: number;
}

export type HeartbeatOutcome = 'held' | 'cancel' | 'lost';
export type RecoverOutcome = 'requeued' | 'failed' | 'canceled';

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  labels: Record<string, unknown>;
  version?: string;
}

/** A session a lane worktree's short id names, as ops.worktree_sessions answers. */
export interface WorktreeSession {
  shortId: string;
  sessionId: string;
  status: 'active' | 'archived';
  /** how many of its runs are still running */
  running: number;
}
