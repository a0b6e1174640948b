// The Store on any PostgreSQL: node-postgres pool for queries, one LISTEN connection for live updates, and a poll
// fallback so a missed notification only delays an update. Every statement stands alone or inside one transaction of
// one pooled client — no session SET, no named prepared statements, no session advisory locks — so the store works
// through a transaction-mode pooler too, where its Listener polls (listener.ts, pooler.ts).
import pg from 'pg';
import { z } from 'zod';
import { fromDatabaseError, isUnreachable, OcrError, parseInput } from './errors';
import { Listener } from './listener';
import type { Notifications } from './pooler';
import { migrate } from './migrate';
import { TeamAdmin } from '../teams/team-admin';
import { readRunHistory, type RunHistoryPage, type RunHistoryQuery } from './run-history';
import { type LogHit, type LogSearchQuery, logSearchStatement, parseLogHits } from './log-search';
import { isoTimestamp } from './timestamps';
import type {
  Disposable,
  FinishAndClaimAnswer,
  RunEnding,
  FollowOptions,
  NewArtifact,
  RunFilter,
  SessionSnapshot,
  Store,
  WatchOptions,
} from './store';
import {
  Artifact,
  type ArtifactKind,
  type CancelOutcome,
  isFinal,
  NewEvent,
  NewRun,
  NewSession,
  Run,
  type Runbook,
  RunEvent,
  RunStep,
  Session,
  type StepKind,
  Template,
  unstorableJson,
  WorkerRow,
  RunAgent,
  LanePorts,
} from '../../domain';
import type { ClaimFilter, HeartbeatOutcome, Lease, RecoverOutcome, WorkerInfo, WorktreeSession } from './types';

const TIMESTAMPTZ = 1184;
const TIMESTAMP = 1114;
const INT8 = 20;

// Timestamps travel as ISO strings (they cross JSON boundaries: CLI, webview); bigint counters fit in a double.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMPTZ || oid === TIMESTAMP) return isoTimestamp;
    if (oid === INT8) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Where to connect without a URL: the embedded database's socket folder (or host and port) and its own role. */
export interface StoreConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  /** read for each new connection, so a server restarted with a new password is reached again */
  password: () => string | Promise<string>;
}

export interface PostgresStoreOptions {
  /** a postgres:// URL; required unless `connection` says where to connect */
  url?: string;
  connection?: StoreConnection;
  kind?: 'postgres' | 'embedded';
  description?: string;
  poolSize?: number;
  log?: (message: string) => void;
  /**
   * Told about every query connection that could not be opened (the embedded database's stores start their server
   * again when it is gone). It must not throw; the query fails as it would have.
   */
  onConnectError?: (error: Error) => void;
  /** LISTEN, polling, or a probe at connect that decides (default): see pooler.ts */
  notifications?: Notifications;
}

/** A URL fit to show: the password replaced, in the user part and in a `password` parameter. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@').replace(/([?&]password=)[^&]*/i, '$1***');
  }
}

/** What every connection of a store shares: where it goes, then how its values are read. */
function clientConfig(options: PostgresStoreOptions): pg.ClientConfig {
  // A connection string would override the fields given beside it, the password function among them: one or the other.
  const where: pg.ClientConfig | undefined = options.connection
    ? { ...options.connection }
    : options.url
      ? { connectionString: options.url }
      : undefined;
  if (!where) throw new OcrError('invalid_input', 'a PostgresStore needs a url or a connection', 'give a postgres:// URL');
  return { ...where, types, connectionTimeoutMillis: 10_000, application_name: 'ops-control-room' };
}

/** The pool's client class when someone wants to hear of connections that failed to open. */
/**
 * The pool's client. A connection that fails while it is being opened is closed at once: node-postgres leaves the
 * socket open when the failure is its own (a password that cannot be read, say), and the server then holds a backend
 * in authentication until its authentication_timeout. Connect failures are reported to `onConnectError`.
 */
function poolClient(onConnectError?: (error: Error) => void): typeof pg.Client {
  const tell = (e: Error) => {
    try {
      onConnectError?.(e);
    } catch {
      // a listener's own failure must not replace the connection's
    }
  };
  return class PoolClient extends pg.Client {
    override connect(): Promise<pg.Client>;
    override connect(callback: (err: Error) => void): void;
    override connect(callback?: (err: Error) => void): Promise<pg.Client> | void {
      const failed = (e: Error) => {
        this.end().catch(() => undefined);
        tell(e);
      };
      if (!callback) {
        return super.connect().catch((e: Error) => {
          failed(e);
          throw e;
        });
      }
      super.connect((e: Error) => {
        if (e) failed(e);
        callback(e);
      });
    }
  };
}

const ListResult = <T extends z.ZodTypeAny>(schema: T) => z.array(schema);

export class PostgresStore implements Store {
  readonly kind: 'postgres' | 'embedded';
  readonly description: string;
  private readonly pool: pg.Pool;
  private readonly listener: Listener;
  private readonly log: (message: string) => void;
  private readonly watching: Watching;
  /** the tokens of the workers this store registered, by worker id: kept in memory only */
  private readonly tokens = new Map<string, string>();

  constructor(options: PostgresStoreOptions) {
    this.kind = options.kind ?? 'postgres';
    this.description = options.description ?? redactUrl(options.url ?? '');
    this.log = options.log ?? (() => undefined);
    const config = clientConfig(options);
    this.pool = new pg.Pool({
      ...config,
      max: options.poolSize ?? 8,
      idleTimeoutMillis: 30_000,
      Client: poolClient(options.onConnectError),
    });
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    this.pool.on('error', (e) => this.log(`database connection lost: ${e.message}`));
    this.listener = new Listener(config, {
      ...options.notifications,
      log: this.log,
      where: this.description,
      query: (sql, params) => this.query(sql, params),
    });
    // a polling store hears no notifications, so it does not ask for them
    const watch = (sql: string, params: unknown[]) =>
      this.listener.notifications === 'poll' ? Promise.resolve() : this.query(sql, params).then(() => undefined);
    this.watching = new Watching(watch, this.log);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (e) {
      throw this.named(e);
    }
  }

  /** The error to show: an unreachable database says where it looked, the queue's own errors get their names. */
  private named(e: unknown): unknown {
    if (!isUnreachable(e)) return fromDatabaseError(e);
    return new OcrError(
      'db_unreachable',
      `cannot reach the database at ${this.description}: ${(e as Error).message}`,
      'check that it is running and the URL is right (--db or OCR_DATABASE_URL)',
      { cause: e },
    );
  }

  /** Teams and worker tokens (`ocr team`, `ocr token`), on this store's connections. */
  teams(): TeamAdmin {
    return new TeamAdmin(<R extends Record<string, unknown>>(sql: string, params?: unknown[]) => this.query<R>(sql, params));
  }

  async migrate(): Promise<void> {
    try {
      await migrate(this.pool);
    } catch (e) {
      throw this.named(e);
    }
  }

  async close(): Promise<void> {
    await this.watching.close();
    await this.listener.close();
    await this.pool.end();
  }

  /** For tests: the LISTEN connection, so a test can cut it. */
  get listenerForTests(): Listener {
    return this.listener;
  }

  // sessions ---------------------------------------------------------------------------------------------------------

  async createSession(input: NewSession): Promise<Session> {
    const s = parseInput(NewSession, input);
    const rows = await this.query('select * from ops.create_session($1, $2, $3, $4, $5, $6, $7, $8)', [
      s.title,
      s.intent,
      s.lanes ?? ['A', 'B', 'C', 'D'],
      s.repo_id ?? null,
      s.repo_url ?? null,
      s.repo_path ?? null,
      s.base_ref ?? null,
      s.created_by ?? null,
    ]);
    return Session.parse(rows[0]);
  }

  async getSession(id: string): Promise<Session> {
    assertUuid('session', id);
    const rows = await this.query('select * from ops.sessions where id = $1', [id]);
    if (!rows[0]) throw new OcrError('not_found', `session ${id} does not exist`, 'list sessions with `ocr session list`');
    return Session.parse(rows[0]);
  }

  async listSessions(options: { includeArchived?: boolean } = {}): Promise<Session[]> {
    const rows = await this.query(
      `select * from ops.sessions where $1 or status = 'active' order by created_at desc`,
      [options.includeArchived ?? false],
    );
    return ListResult(Session).parse(rows);
  }

  async archiveSession(id: string): Promise<Session> {
    assertUuid('session', id);
    const rows = await this.query('select * from ops.archive_session($1)', [id]);
    return Session.parse(rows[0]);
  }

  // runs: the user's side --------------------------------------------------------------------------------------------

  async createRun(input: NewRun): Promise<Run> {
    const [run] = await this.createRuns([input]);
    return run!;
  }

  /** Queues many runs with one statement (benchmarks and tests; the clients queue one lane run at a time). */
  async createRuns(inputs: NewRun[]): Promise<Run[]> {
    const runs = inputs.map((i) => parseInput(NewRun, i));
    if (runs.length === 0) return [];
    const rows = await this.query('select * from ops.create_runs($1::jsonb)', [JSON.stringify(runs)]);
    return ListResult(Run).parse(rows);
  }

  async createGroup(inputs: NewRun[]): Promise<Run[]> {
    const runs = inputs.map((i) => parseInput(NewRun, i));
    const rows = await this.query('select * from ops.create_group($1::jsonb) order by seq', [JSON.stringify(runs)]);
    return ListResult(Run).parse(rows);
  }

  async getRun(id: string): Promise<Run> {
    assertUuid('run', id);
    const rows = await this.query('select * from ops.runs where id = $1', [id]);
    if (!rows[0]) throw new OcrError('not_found', `run ${id} does not exist`, 'list runs with `ocr status`');
    return Run.parse(rows[0]);
  }

  async listRuns(filter: RunFilter = {}): Promise<Run[]> {
    if (filter.sessionId) assertUuid('session', filter.sessionId);
    if (filter.groupId) assertUuid('group', filter.groupId);
    const rows = await this.query(
      `select * from ops.runs
        where ($1::uuid is null or session_id = $1) and ($2::text is null or lane = $2)
          and ($3::text[] is null or status = any ($3)) and ($5::uuid is null or group_id = $5)
        order by seq desc limit $4`,
      [filter.sessionId ?? null, filter.lane ?? null, filter.status ?? null, filter.limit ?? 1000, filter.groupId ?? null],
    );
    return ListResult(Run).parse(rows);
  }

  async listRunHistory(query: RunHistoryQuery = {}): Promise<RunHistoryPage> {
    return readRunHistory(query, (statement) => this.query(statement.sql, statement.params));
  }

  async searchLogs(query: LogSearchQuery): Promise<LogHit[]> {
    const { sql, params } = logSearchStatement(query);
    return parseLogHits(await this.query(sql, params));
  }

  async cancelRun(id: string): Promise<{ outcome: CancelOutcome; run: Run }> {
    assertUuid('run', id);
    const rows = await this.query<{ outcome: CancelOutcome }>('select ops.cancel_run($1) as outcome', [id]);
    return { outcome: rows[0]!.outcome, run: await this.getRun(id) };
  }

  async retryRun(id: string): Promise<Run> {
    assertUuid('run', id);
    const rows = await this.query('select * from ops.retry_run($1)', [id]);
    return Run.parse(rows[0]);
  }

  async listEvents(runId: string, afterSeq = 0, limit = 5000): Promise<RunEvent[]> {
    assertUuid('run', runId);
    const rows = await this.query(
      'select * from ops.run_events where run_id = $1 and seq > $2 order by seq limit $3',
      [runId, afterSeq, limit],
    );
    return ListResult(RunEvent).parse(rows);
  }

  async getArtifact(runId: string, kind: ArtifactKind, name?: string): Promise<Artifact | undefined> {
    assertUuid('run', runId);
    const rows = await this.query(
      `select * from ops.artifacts where run_id = $1 and kind = $2 and ($3::text is null or name = $3)
        order by created_at desc limit 1`,
      [runId, kind, name ?? null],
    );
    return rows[0] ? Artifact.parse(rows[0]) : undefined;
  }

  async listArtifacts(runId: string): Promise<Artifact[]> {
    assertUuid('run', runId);
    const rows = await this.query('select * from ops.artifacts where run_id = $1 order by created_at, kind, name', [runId]);
    return ListResult(Artifact).parse(rows);
  }

  async listSteps(runId: string): Promise<RunStep[]> {
    assertUuid('run', runId);
    const rows = await this.query('select * from ops.run_steps where run_id = $1 order by idx', [runId]);
    return ListResult(RunStep).parse(rows);
  }

  async publishTemplate(input: { name: string; text: string; sha256: string; runbook: Runbook; source?: string | null }): Promise<Template> {
    const rows = await this.query('select * from ops.publish_template($1, $2, $3, $4::jsonb, $5)', [
      input.name,
      input.text,
      input.sha256,
      JSON.stringify(input.runbook),
      input.source ?? null,
    ]);
    return Template.parse(rows[0]);
  }

  async getTemplate(id: string): Promise<Template> {
    assertUuid('run', id);
    const rows = await this.query('select * from ops.templates where id = $1', [id]);
    if (!rows[0]) throw new OcrError('not_found', `runbook version ${id} does not exist`);
    return Template.parse(rows[0]);
  }

  async approveRun(runId: string, note?: string): Promise<Run> {
    assertUuid('run', runId);
    const rows = await this.query('select * from ops.approve_run($1, $2)', [runId, note ?? null]);
    return Run.parse(rows[0]);
  }

  async rejectRun(runId: string, reason?: string): Promise<Run> {
    assertUuid('run', runId);
    const rows = await this.query('select * from ops.reject_run($1, $2)', [runId, reason ?? null]);
    return Run.parse(rows[0]);
  }

  async listWorkers(): Promise<WorkerRow[]> {
    // a worker's token hash and who registered it are the database's own business
    const rows = await this.query(
      `select id, host, pid, concurrency, labels, version, state, started_at, last_heartbeat
         from ops.workers order by last_heartbeat desc`,
    );
    return ListResult(WorkerRow).parse(rows);
  }

  async listLanePorts(sessionId: string): Promise<LanePorts[]> {
    assertUuid('session', sessionId);
    const rows = await this.query('select * from ops.lane_ports where session_id = $1 order by lane', [sessionId]);
    return ListResult(LanePorts).parse(rows);
  }

  async worktreeSessions(shortIds: string[]): Promise<WorktreeSession[]> {
    if (shortIds.length === 0) return [];
    const rows = await this.query('select * from ops.worktree_sessions($1::text[])', [shortIds]);
    return ListResult(WorktreeSessionRow).parse(rows).map((r) => ({ shortId: r.short_id, sessionId: r.session_id, status: r.status, running: r.running }));
  }

  async resolveId(kind: 'run' | 'session' | 'group', text: string): Promise<string> {
    const hex = text.trim().toLowerCase().replace(/-/g, '');
    if (!/^[0-9a-f]{4,32}$/.test(hex)) {
      throw new OcrError('invalid_input', `${kind}: ${JSON.stringify(text)} is not a ${kind} id`, `give the id or its first characters, as \`ocr status\` shows them`);
    }
    const asUuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    const [table, column] = kind === 'run' ? ['ops.runs', 'id'] : kind === 'group' ? ['ops.runs', 'group_id'] : ['ops.sessions', 'id'];
    // a prefix is a range of the primary key (of the group index), so the lookup is an index scan however many rows there are
    const rows = await this.query<{ id: string }>(`select distinct ${column} as id from ${table} where ${column} between $1 and $2 limit 2`, [
      asUuid(hex.padEnd(32, '0')),
      asUuid(hex.padEnd(32, 'f')),
    ]);
    if (rows.length === 0) {
      throw new OcrError('not_found', `${kind} ${text} does not exist`, { run: 'list runs with `ocr status`', session: 'list sessions with `ocr session list`', group: '`ocr compare list --session S` lists the comparisons of a session' }[kind]);
    }
    if (rows.length > 1) {
      throw new OcrError('invalid_input', `${kind}: ${text} matches more than one ${kind}`, 'give more characters of the id');
    }
    return rows[0]!.id;
  }

  // runs: the worker's side ------------------------------------------------------------------------------------------

  /**
   * Registers the worker and keeps the token the database answers: every later write of that worker names it, so no
   * other caller can write for the worker's runs.
   */
  async registerWorker(info: WorkerInfo): Promise<void> {
    const rows = await this.query<{ token: string }>('select ops.register_worker($1, $2, $3, $4, $5, $6) as token', [
      info.id,
      info.host,
      info.pid,
      info.concurrency,
      JSON.stringify(info.labels),
      info.version ?? null,
    ]);
    this.tokens.set(info.id, rows[0]!.token);
  }

  /** The token of a worker this store registered. */
  private token(workerId: string): string {
    const token = this.tokens.get(workerId);
    if (!token) throw new OcrError('not_authorized', `worker ${workerId} was not registered through this connection`, 'register the worker first');
    return token;
  }

  async setWorkerState(workerId: string, state: 'running' | 'draining' | 'stopped'): Promise<void> {
    await this.query('select ops.set_worker_state($1, $2, $3)', [workerId, this.token(workerId), state]);
  }

  /** Claims without recording ends: what finishAndClaim does when no run ended; tests call it directly. */
  async claimRuns(workerId: string, max: number, filter: ClaimFilter = {}): Promise<Run[]> {
    const rows = await this.query('select * from ops.claim_runs($1, $2, $3, $4, $5, $6, $7)', [
      workerId,
      this.token(workerId),
      max,
      ...claimFilterParams(filter),
    ]);
    return ListResult(Run).parse(rows);
  }

  async heartbeat(workerId: string, runIds: string[], leaseSeconds = 30): Promise<Map<string, HeartbeatOutcome>> {
    const rows = await this.query<{ run_id: string; outcome: HeartbeatOutcome }>(
      'select * from ops.heartbeat($1, $2, $3::uuid[], $4)',
      [workerId, this.token(workerId), runIds, leaseSeconds],
    );
    return new Map(rows.map((r) => [r.run_id, r.outcome]));
  }

  async appendEvents(lease: Lease, events: NewEvent[], afterSeq?: number): Promise<number> {
    // the engine's log writer replaces what cannot be stored; any other caller is told which line holds it
    const bad = unstorableJson(events);
    if (bad) throw new OcrError('invalid_input', `events.${bad.path.join('.')}: ${bad.reason}`);
    const rows = await this.query<{ last: number }>('select ops.append_events($1, $2, $3, $4, $5::jsonb, $6) as last', [
      lease.runId,
      lease.workerId,
      this.token(lease.workerId),
      lease.attempt,
      JSON.stringify(events),
      afterSeq ?? null,
    ]);
    return Number(rows[0]!.last);
  }

  async putArtifact(lease: Lease, artifact: NewArtifact): Promise<Artifact> {
    const rows = await this.query('select * from ops.put_artifact($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)', [
      lease.runId,
      lease.workerId,
      this.token(lease.workerId),
      lease.attempt,
      artifact.kind,
      artifact.name,
      artifact.mime ?? 'text/plain',
      artifact.content,
      JSON.stringify(artifact.meta ?? {}),
    ]);
    return Artifact.parse(rows[0]);
  }

  async finishAndClaim(workerId: string, ends: RunEnding[], max: number, filter: ClaimFilter = {}): Promise<FinishAndClaimAnswer> {
    // nothing to record: the claim alone, without finish_and_claim's own statements around it
    if (ends.length === 0) return { claimed: max > 0 ? await this.claimRuns(workerId, max, filter) : [], refused: [] };
    const rows = await this.query('select * from ops.finish_and_claim($1, $2, $3::jsonb, $4, $5, $6, $7, $8)', [
      workerId,
      this.token(workerId),
      JSON.stringify(endsJson(ends)),
      max,
      ...claimFilterParams(filter),
    ]);
    const runs = ListResult(Run).parse(rows);
    // The answer holds the runs it claimed and, for an end it refused, that run as it is now. A refused run that this
    // same statement claimed again comes once, as this worker's new attempt: it is both.
    const sent = new Map(ends.map((e) => [e.runId, e.attempt]));
    const isClaim = (r: Run) => r.status === 'running' && r.claimed_by === workerId && r.attempt > (sent.get(r.id) ?? 0);
    return { claimed: runs.filter(isClaim), refused: runs.filter((r) => sent.has(r.id)) };
  }

  async recordAgent(lease: Lease, agent: RunAgent): Promise<void> {
    await this.query('select ops.record_agent($1, $2, $3, $4, $5::jsonb)', [...this.leaseParams(lease), JSON.stringify(RunAgent.parse(agent))]);
  }

  async leaseLanePorts(lease: Lease, count = 10): Promise<LanePorts> {
    const rows = await this.query('select * from ops.lease_lane_ports($1, $2, $3, $4, $5)', [...this.leaseParams(lease), count]);
    return LanePorts.parse(rows[0]);
  }

  async planSteps(lease: Lease, steps: Array<{ step_id: string; title: string; kind: StepKind }>): Promise<RunStep[]> {
    const rows = await this.query('select * from ops.plan_steps($1, $2, $3, $4, $5::jsonb)', [...this.leaseParams(lease), JSON.stringify(steps)]);
    return ListResult(RunStep).parse(rows);
  }

  async moveStep(
    lease: Lease,
    idx: number,
    status: 'running' | 'succeeded' | 'failed' | 'canceled' | 'skipped',
    result: { exitCode?: number | null; error?: string | null } = {},
  ): Promise<RunStep> {
    const rows = await this.query('select * from ops.move_step($1, $2, $3, $4, $5, $6, $7, $8)', [
      ...this.leaseParams(lease),
      idx,
      status,
      result.exitCode ?? null,
      result.error ?? null,
    ]);
    return RunStep.parse(rows[0]);
  }

  async parkRun(lease: Lease, idx: number, approval: { message: string; approvers?: string[] }): Promise<Run> {
    const rows = await this.query('select * from ops.park_run($1, $2, $3, $4, $5, $6::jsonb)', [...this.leaseParams(lease), idx, JSON.stringify(approval)]);
    return Run.parse(rows[0]);
  }

  async requeueRun(lease: Lease, afterSeconds: number, error: string): Promise<Run> {
    const rows = await this.query('select * from ops.requeue_run($1, $2, $3, $4, $5, $6)', [...this.leaseParams(lease), afterSeconds, error]);
    return Run.parse(rows[0]);
  }

  /** run id, worker id, its token, attempt: how every fenced function names the lease. */
  private leaseParams(lease: Lease): [string, string, string, number] {
    return [lease.runId, lease.workerId, this.token(lease.workerId), lease.attempt];
  }

  async releaseRun(lease: Lease): Promise<Run> {
    const rows = await this.query('select * from ops.release_run($1, $2, $3, $4)', [lease.runId, lease.workerId, this.token(lease.workerId), lease.attempt]);
    return Run.parse(rows[0]);
  }

  async wakeWorkers(): Promise<void> {
    await this.query(`select pg_notify('ops_queue', '')`);
  }

  /**
   * Gives expired leases back to the queue, makes the runs whose backoff is over claimable, and puts new log lines into
   * log search's chunks (a bounded amount of work).
   */
  async recoverExpired(): Promise<Array<{ runId: string; outcome: RecoverOutcome }>> {
    const rows = await this.query<{ run_id: string; outcome: RecoverOutcome }>('select * from ops.recover_expired()');
    await this.query('select ops.release_due_runs()');
    // the workers' maintenance tick also keeps log search's chunks up to date; a search reads what is not in them yet
    await this.indexLogs().catch((e: unknown) => this.log(`putting log lines into search chunks failed: ${(e as Error).message}`));
    return rows.map((r) => ({ runId: r.run_id, outcome: r.outcome }));
  }

  /** Puts log lines stored since the last call into log search's chunks, for about `maxMs` at most; answers how many. */
  async indexLogs(maxMs = 250): Promise<number> {
    const rows = await this.query<{ lines: number }>('select ops.index_logs($1) as lines', [maxMs]);
    return rows[0]!.lines;
  }

  // live updates -----------------------------------------------------------------------------------------------------

  watchSession(id: string, onChange: (snapshot: SessionSnapshot) => void, options: WatchOptions = {}): Disposable {
    const onError = options.onError ?? ((e: unknown) => this.log(`watching session ${id} failed: ${(e as Error).message}`));
    let disposed = false;
    let last = '';
    const refresh = coalesce(async () => {
      if (disposed) return;
      try {
        const [session, runs, ports] = await Promise.all([this.getSession(id), this.listRuns({ sessionId: id, limit: 10_000 }), this.listLanePorts(id)]);
        // Only a real change is worth a callback; the poll fallback would otherwise repeat the same snapshot.
        const key = JSON.stringify([
          session.status,
          runs.map((r) => [r.id, r.status, r.updated_at, r.claimed_by]),
          ports.map((p) => [p.lane, p.port_base, p.port_count]),
        ]);
        if (disposed || key === last) return;
        last = key;
        onChange({ session, runs, ports });
      } catch (e) {
        onError(e);
      }
    });
    const offRuns = this.listener.on('ops_runs', (payload) => {
      if (payload === '*' || payload.includes(id)) refresh();
    });
    const offSessions = this.listener.on('ops_sessions', () => refresh());
    const offReconnect = this.listener.onReconnect(() => refresh());
    const poll = setInterval(() => refresh(), options.pollMs ?? 5000);
    poll.unref();
    // notifications flow only while a watcher is registered, so the first look comes after registering
    void this.watching.acquire().then(refresh, (e: unknown) => (onError(e), refresh()));
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        void this.watching.release();
        clearInterval(poll);
        offRuns();
        offSessions();
        offReconnect();
      },
    };
  }

  async *followRun(runId: string, fromSeq = 0, options: FollowOptions = {}): AsyncIterable<RunEvent[]> {
    assertUuid('run', runId);
    const signal = options.signal;
    const batchSize = options.batchSize ?? 5000;
    const wake = new Wakeup();
    const offEvents = this.listener.on('ops_events', (payload) => {
      if (payload.includes(runId)) wake.fire();
    });
    const offRuns = this.listener.on('ops_runs', () => wake.fire());
    const offReconnect = this.listener.onReconnect(() => wake.fire());
    const onAbort = () => wake.fire();
    signal?.addEventListener('abort', onAbort);
    let last = fromSeq;
    await this.watching.acquire().catch((e: unknown) => this.log(`could not register as a watcher: ${(e as Error).message}`));
    try {
      await this.listener.ready();
      while (!signal?.aborted) {
        // Status first, events second: a run that has finished has appended its last line, so an empty read after
        // seeing it finished means the log is complete.
        const run = await this.getRun(runId);
        for (;;) {
          const batch = await this.listEvents(runId, last, batchSize);
          if (batch.length === 0 || signal?.aborted) break;
          last = batch[batch.length - 1]!.seq;
          yield batch;
          if (batch.length < batchSize) break;
        }
        if (isFinal(run.status) || signal?.aborted) return;
        await wake.wait(options.pollMs ?? 2000);
      }
    } finally {
      void this.watching.release();
      signal?.removeEventListener('abort', onAbort);
      offEvents();
      offRuns();
      offReconnect();
    }
  }

  onQueueChange(listener: (firstWorker: string | null) => void): Disposable {
    const off = this.listener.on('ops_queue', (payload) => listener(payload === '' ? null : payload));
    const offReconnect = this.listener.onReconnect(() => listener(null));
    return { dispose: () => (off(), offReconnect()) };
  }

  onCancelRequested(listener: (runId: string, workerId: string | null) => void): Disposable {
    const off = this.listener.on('ops_cancel', (payload) => {
      const parsed = CancelPayload.safeParse(safeJson(payload));
      if (parsed.success) listener(parsed.data.run_id, parsed.data.worker_id);
      else this.log(`ignored a malformed cancel notification: ${payload}`);
    });
    return { dispose: off };
  }

  onSessionsChange(listener: () => void): Disposable {
    const off = this.listener.on('ops_sessions', () => listener());
    return { dispose: off };
  }

  /** Resolves once the LISTEN connection is up, so a notification sent after this is not missed. */
  listening(): Promise<void> {
    return this.listener.ready();
  }
}

/** claim_runs' and finish_and_claim's trailing parameters: lanes, sessions, repo ids, lease seconds. */
const claimFilterParams = (filter: ClaimFilter) =>
  [filter.lanes ?? null, filter.sessions ?? null, filter.repoIds ?? null, filter.leaseSeconds ?? 30] as const;

const endsJson = (ends: RunEnding[]) =>
  ends.map((r) => ({ run_id: r.runId, attempt: r.attempt, status: r.status, exit_code: r.exitCode ?? null, error: r.error ?? null }));

const WorktreeSessionRow = z.object({ short_id: z.string(), session_id: z.string().uuid(), status: z.enum(['active', 'archived']), running: z.number().int() });

const CancelPayload = z.object({ run_id: z.string().uuid(), worker_id: z.string().nullable() });

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertUuid(what: 'session' | 'run' | 'group', id: string): void {
  if (!uuidPattern.test(id)) {
    throw new OcrError('invalid_input', `${what}: ${JSON.stringify(id)} is not a ${what} id`, `a ${what} id looks like 0b9f…-…; ${what === 'group' ? 'queuing a comparison (`ocr compare new`) prints its group id' : 'list them with `ocr status`'}`);
  }
}

/** Runs `task` now, or once more right after the run in flight: never two at once, never a change left unseen. */
function coalesce(task: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const go = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    task().finally(() => {
      running = false;
      if (again) {
        again = false;
        go();
      }
    });
  };
  return go;
}

/**
 * The database sends run and log notifications only while someone watches (they make commits queue up behind each
 * other), so a store with a live watchSession or followRun keeps a row in ops.watchers, renewed well before it expires.
 */
class Watching {
  private readonly id = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  private count = 0;
  private registered: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly exec: (sql: string, params: unknown[]) => Promise<void>,
    private readonly log: (message: string) => void,
  ) {}

  acquire(): Promise<void> {
    this.count++;
    if (!this.registered) {
      this.registered = this.exec('select ops.watch($1, 120)', [this.id]);
      this.registered.catch(() => (this.registered = undefined));
      this.timer = setInterval(() => {
        this.exec('select ops.watch($1, 120)', [this.id]).catch((e: unknown) => this.log(`renewing the watch failed: ${(e as Error).message}`));
      }, 40_000);
      this.timer.unref();
    }
    return this.registered;
  }

  async release(): Promise<void> {
    this.count = Math.max(0, this.count - 1);
    if (this.count > 0 || !this.registered) return;
    await this.stop();
  }

  private async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const was = this.registered;
    this.registered = undefined;
    if (was) await this.exec('select ops.unwatch($1)', [this.id]).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.count = 0;
    await this.stop();
  }
}

/** A level-triggered wake-up: a fire() while nobody waits is kept for the next wait(). */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  fire(): void {
    if (this.resolve) {
      const r = this.resolve;
      this.resolve = undefined;
      r();
    } else {
      this.pending = true;
    }
  }

  wait(timeoutMs: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.resolve = undefined;
        resolve();
      }, timeoutMs);
      this.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
