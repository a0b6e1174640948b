// The one interface everything else uses to reach the queue. Adapters: Postgres (remote or embedded).
import type {
  Artifact,
  ArtifactKind,
  CancelOutcome,
  FinalStatus,
  NewEvent,
  NewRun,
  NewSession,
  Run,
  Runbook,
  RunEvent,
  RunStatus,
  RunStep,
  Session,
  StepKind,
  Template,
  WorkerRow,
  RunAgent,
  LanePorts,
} from '../../domain';
import type { RunHistoryPage, RunHistoryQuery } from './run-history';
import type { LogHit, LogSearchQuery } from './log-search';
import type { ClaimFilter, HeartbeatOutcome, Lease, RecoverOutcome, WorkerInfo, WorktreeSession } from './types';

export interface Disposable {
  dispose(): void;
}

export interface RunFilter {
  sessionId?: string;
  lane?: string;
  status?: RunStatus[];
  /** the runs of one comparison group */
  groupId?: string;
  /** newest first; at most this many */
  limit?: number;
}

export interface NewArtifact {
  kind: ArtifactKind;
  name: string;
  mime?: string;
  content: string;
  meta?: Record<string, unknown>;
}

/** How a run the worker holds ended, named by its lease (the worker is the caller). */
export interface RunEnding {
  runId: string;
  attempt: number;
  status: FinalStatus;
  exitCode?: number | null;
  error?: string | null;
}

export interface FinishAndClaimAnswer {
  /** the runs claimed, in queue order */
  claimed: Run[];
  /** the runs whose end was refused because this worker no longer held them, as they are now */
  refused: Run[];
}

export interface SessionSnapshot {
  session: Session;
  /** every run of the session, newest first */
  runs: Run[];
  /** the port range of each of its lanes that has one */
  ports: LanePorts[];
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** how often to look without a notification (the fallback when one is missed); default 2000 ms */
  pollMs?: number;
  /** most events per yielded batch; default 5000 */
  batchSize?: number;
}

export interface WatchOptions {
  pollMs?: number;
  onError?: (e: unknown) => void;
}

export interface Store {
  readonly kind: 'postgres' | 'embedded' | 'supabase';
  /** where it is, for people: a URL without its password, or the data folder */
  readonly description: string;

  migrate(): Promise<void>;
  close(): Promise<void>;

  // sessions
  createSession(input: NewSession): Promise<Session>;
  getSession(id: string): Promise<Session>;
  listSessions(options?: { includeArchived?: boolean }): Promise<Session[]>;
  archiveSession(id: string): Promise<Session>;

  // runs, the user's side
  createRun(input: NewRun): Promise<Run>;
  getRun(id: string): Promise<Run>;
  listRuns(filter?: RunFilter): Promise<Run[]>;
  /** Queues a comparison group in one transaction: 2 to 4 attempts in distinct lanes, each with its verify run after it. */
  createGroup(inputs: NewRun[]): Promise<Run[]>;
  /**
   * Run history: the runs of every session the caller may read, filtered and sorted (newest first unless told), one
   * page at a time; the page's `next` asks for the page after it.
   */
  listRunHistory(query?: RunHistoryQuery): Promise<RunHistoryPage>;
  /** The lines of every run the caller may read that hold a text (any case), newest first, with the lines around them. */
  searchLogs(query: LogSearchQuery): Promise<LogHit[]>;
  cancelRun(id: string): Promise<{ outcome: CancelOutcome; run: Run }>;
  retryRun(id: string): Promise<Run>;
  listEvents(runId: string, afterSeq?: number, limit?: number): Promise<RunEvent[]>;
  getArtifact(runId: string, kind: ArtifactKind, name?: string): Promise<Artifact | undefined>;
  listArtifacts(runId: string): Promise<Artifact[]>;
  /** the steps of a runbook run, in order (none for other runs, or before its worker planned them) */
  listSteps(runId: string): Promise<RunStep[]>;

  // runbooks
  /** Publishes a runbook file's text: the same text is the version already published, new text the next version. */
  publishTemplate(input: { name: string; text: string; sha256: string; runbook: Runbook; source?: string | null }): Promise<Template>;
  getTemplate(id: string): Promise<Template>;
  /** A waiting run goes back to the queue and resumes after its gate; who approved it is recorded. */
  approveRun(runId: string, note?: string): Promise<Run>;
  /** A waiting run ends canceled, with the reason. */
  rejectRun(runId: string, reason?: string): Promise<Run>;
  listWorkers(): Promise<WorkerRow[]>;
  /** The port ranges of a session's lanes (those that have one). */
  listLanePorts(sessionId: string): Promise<LanePorts[]>;
  /**
   * The sessions whose ids begin with these short ids (a lane worktree's folder and branch name its session by them),
   * every session's, not only the caller's: what cleaning up worktrees needs to tell a session gone from one not its own.
   */
  worktreeSessions(shortIds: string[]): Promise<WorktreeSession[]>;
  /** The full id of a run or session from its id or a unique prefix of it (at least 4 characters). */
  resolveId(kind: 'run' | 'session' | 'group', text: string): Promise<string>;

  // runs, the worker's side
  registerWorker(info: WorkerInfo): Promise<void>;
  setWorkerState(workerId: string, state: 'running' | 'draining' | 'stopped'): Promise<void>;
  heartbeat(workerId: string, runIds: string[], leaseSeconds?: number): Promise<Map<string, HeartbeatOutcome>>;
  /**
   * Stores log lines after the run's last; answers the seq of the last one. `afterSeq`, the last seq this writer has
   * seen stored, makes a batch sent again after a lost answer count once.
   */
  appendEvents(lease: Lease, events: NewEvent[], afterSeq?: number): Promise<number>;
  putArtifact(lease: Lease, artifact: NewArtifact): Promise<Artifact>;
  /**
   * Records how the worker's runs ended (each fenced by its lease) and claims up to `max` new ones (0: none), in one
   * statement and one commit.
   */
  finishAndClaim(workerId: string, ends: RunEnding[], max: number, filter?: ClaimFilter): Promise<FinishAndClaimAnswer>;
  releaseRun(lease: Lease): Promise<Run>;
  /** The plan of a runbook run, made once: one row per step; answers every row (a resumed run's as they are). */
  /** What the worker read of a coding agent's conversation (session id, tokens, cost, needs input), kept on the run. */
  recordAgent(lease: Lease, agent: RunAgent): Promise<void>;
  /**
   * The port range of the run's lane (OCR_PORT, OCR_PORT_COUNT), leased on first use and the same for every later run
   * of the lane until its session is archived; unique among all sessions of the database.
   */
  leaseLanePorts(lease: Lease, count?: number): Promise<LanePorts>;
  planSteps(lease: Lease, steps: Array<{ step_id: string; title: string; kind: StepKind }>): Promise<RunStep[]>;
  /** A step moves (queued/failed → running → succeeded | failed | canceled; queued → skipped | canceled), fenced. */
  moveStep(lease: Lease, idx: number, status: 'running' | 'succeeded' | 'failed' | 'canceled' | 'skipped', result?: { exitCode?: number | null; error?: string | null }): Promise<RunStep>;
  /** Parks the run at an approval step: waiting, without a lease, its lane kept for it. */
  parkRun(lease: Lease, idx: number, approval: { message: string; approvers?: string[] }): Promise<Run>;
  /** A failed run with attempts left goes back to the queue, claimable after `afterSeconds`. */
  requeueRun(lease: Lease, afterSeconds: number, error: string): Promise<Run>;
  recoverExpired(): Promise<Array<{ runId: string; outcome: RecoverOutcome }>>;

  // live updates
  /** Calls back with the session and all its runs now, then whenever one of them changes. */
  watchSession(id: string, onChange: (snapshot: SessionSnapshot) => void, options?: WatchOptions): Disposable;
  /** Every event of the run from `fromSeq` on, in order, each once; ends when the run has finished and all are read. */
  followRun(runId: string, fromSeq?: number, options?: FollowOptions): AsyncIterable<RunEvent[]>;
  /**
   * A run may have become claimable. `firstWorker` names the worker that claims at once: it passes the news on to
   * everyone (wakeWorkers) when it has no free slot; the others claim a moment later anyway, in case it is gone.
   * Null: everyone, at once.
   */
  onQueueChange(listener: (firstWorker: string | null) => void): Disposable;
  /** Tells every worker, at once, that runs may be claimable. */
  wakeWorkers(): Promise<void>;
  /** A running run was asked to stop. */
  onCancelRequested(listener: (runId: string, workerId: string | null) => void): Disposable;
  /** Sessions were created, archived or changed. */
  onSessionsChange(listener: () => void): Disposable;
  /** Resolves once notifications are being received: a change made after this is not missed. */
  listening(): Promise<void>;
}

/**
 * What a worker needs of the queue: its own writes (fenced by its leases), the reads its runs need, and the
 * notifications that wake it. A Store is one; so is the HTTPS client of the ops-api edge function, which a worker holding
 * only a URL and a worker token uses.
 */
export type WorkerStore = Pick<
  Store,
  | 'description'
  | 'registerWorker'
  | 'setWorkerState'
  | 'heartbeat'
  | 'appendEvents'
  | 'putArtifact'
  | 'finishAndClaim'
  | 'releaseRun'
  | 'requeueRun'
  | 'recoverExpired'
  | 'recordAgent'
  | 'leaseLanePorts'
  | 'planSteps'
  | 'moveStep'
  | 'parkRun'
  | 'getSession'
  | 'listSessions'
  | 'listRuns'
  | 'listSteps'
  | 'getTemplate'
  | 'onQueueChange'
  | 'onCancelRequested'
  | 'onSessionsChange'
  | 'wakeWorkers'
>;
