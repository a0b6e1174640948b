// The Store of a person signed in to a Supabase project: the ops-api edge function's user routes, called with the
// user's access token (asked for on every call, so supabase-js may refresh it), and row-level security behind them, so
// the user reads and changes their teams' sessions only. Live updates, instead of LISTEN: one long request (Server-Sent
// Events, opened again every two minutes) tells which watched sessions, which list of sessions and which unfinished
// runs changed, and only a changed session is read again (one request a second when the function has no such
// stream); a run's log comes over the function's event stream, resumed by seq. A worker does not use this store: it holds a worker token and
// uses http-store.ts. What the project lacks (the function, its migrations) and what the user may not do are said in
// one line with the command that fixes it.
import { z } from 'zod';
import {
  Artifact,
  type ArtifactKind,
  CancelOutcome,
  LanePorts,
  NewRun,
  NewSession,
  Run,
  type Runbook,
  RunEvent,
  RunStep,
  Session,
  Template,
  WorkerRow,
} from '../../domain';
import { Listeners } from '../engine/listeners';
import { LeaseLostError, OcrError, parseInput } from '../store/errors';
import { migrations } from '../store/migrate';
import { checkLogSearchQuery, LogHit, type LogSearchQuery } from '../store/log-search';
import { RunHistoryQuery, RunHistoryRow, type RunHistoryPage } from '../store/run-history';
import type { Disposable, FollowOptions, RunFilter, SessionSnapshot, Store, WatchOptions } from '../store/store';
import type { WorktreeSession } from '../store/types';
import { apiUrl } from './http-store';
import { followRunOverApi, sseMessages } from './run-events-client';
import { describeFetchError, sleep } from './fetch-errors';

export interface ApiClientStoreOptions {
  /** the function's URL: https://<project>.supabase.co/functions/v1/ops-api */
  url: string;
  /** the signed-in user's access token as it is now (supabase-js refreshes it before it expires) */
  accessToken: () => string | Promise<string>;
  /** asked once when the function refused the token (401), before the call is tried again: refresh the session */
  refreshToken?: () => Promise<void>;
  /** the team new sessions and runbook versions go to, for a user in more than one */
  teamId?: string;
  /** for people, such as "Supabase project abc as a@example.com"; default: the function's URL */
  description?: string;
  log?: (line: string) => void;
  /** the longest one request may take; default 30 s */
  requestTimeoutMs?: number;
  /**
   * How live updates come: `stream`, one long request the function answers whenever something watched changed (it
   * asks the database a few times a second); `poll`, one request every `pollMs`. Default stream, polling when the
   * function has no stream.
   */
  liveUpdates?: 'stream' | 'poll';
  /** how often to ask what changed when polling; default 1000 ms */
  pollMs?: number;
}

/** What `check` found on the project. */
export interface ProjectHealth {
  user: { id: string; email: string | null };
  teams: Array<{ id: string; name: string; role: 'owner' | 'member' | 'viewer' }>;
}

const Failure = z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) });
const Success = z.object({ ok: z.literal(true) }).passthrough();
const Health = z.object({
  ops_schema: z.boolean(),
  migrations: z.array(z.string()),
  pushed: z.array(z.object({ version: z.string(), name: z.string().nullable() })).nullable(),
  teams: z.array(z.object({ id: z.string().uuid(), name: z.string(), role: z.enum(['owner', 'member', 'viewer']) })),
  user: z.object({ id: z.string(), email: z.string().nullable() }),
});
const ChangesAnswer = z.object({ sessions: z.record(z.string(), z.string()), list: z.string().optional(), queue: z.string().optional() });
const WorktreeSessionRow = z.object({ short_id: z.string(), session_id: z.string().uuid(), status: z.enum(['active', 'archived']), running: z.number().int() });

export const deployCommand = 'supabase functions deploy ops-api --no-verify-jwt';
export const pushCommand = 'supabase db push';
const signInHint = 'sign in again: run "OCR: Connect to Supabase…"';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function assertUuid(what: 'session' | 'run' | 'group' | 'runbook version', id: string): void {
  if (!uuidPattern.test(id)) throw new OcrError('invalid_input', `${what}: ${JSON.stringify(id)} is not a ${what} id`, 'give the whole id, or resolve it first');
}

/** The migration names this build of OCR needs on the project, as `supabase db push` records them: version and name. */
export function missingMigrations(applied: string[], pushed: Array<{ version: string; name: string | null }> | null): string[] {
  const have = new Set(applied);
  const byVersion = new Map((pushed ?? []).map((p) => [p.version, p.name]));
  return migrations
    .map((m) => m.name)
    .filter((name) => {
      if (have.has(name)) return false;
      const [version, ...rest] = name.split('_');
      const recorded = byVersion.get(version!);
      return recorded === undefined || (recorded !== null && recorded !== rest.join('_'));
    });
}

interface Watch {
  sessionId: string;
  onChange: (snapshot: SessionSnapshot) => void;
  onError: (e: unknown) => void;
  /** the version `changes` last answered; undefined until the first look */
  version: string | null | undefined;
  /** what the last snapshot handed over held: only a real change is worth a callback */
  key: string;
  failed: boolean;
  disposed: boolean;
}

interface Round {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function round(): Round {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  // a round nobody awaits must not be an unhandled rejection
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class ApiClientStore implements Store {
  readonly kind = 'supabase' as const;
  readonly description: string;
  private readonly url: string;
  private readonly log: (line: string) => void;
  private readonly requestTimeoutMs: number;
  private readonly pollMs: number;
  private readonly closing = new AbortController();
  private readonly watches = new Set<Watch>();
  private readonly sessionsChanged = new Listeners<[]>();
  private readonly queueChanged = new Listeners<[string | null]>();
  private lastList: string | undefined;
  private lastQueue: string | undefined;
  private loop: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  private nextRound: Round | undefined;
  private failures = 0;
  private mode: 'stream' | 'poll';
  private streamAbort: AbortController | undefined;

  constructor(private readonly options: ApiClientStoreOptions) {
    this.url = apiUrl(options.url);
    this.description = options.description ?? `ops-api at ${this.url}`;
    this.log = options.log ?? (() => undefined);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.pollMs = options.pollMs ?? 1000;
    this.mode = options.liveUpdates ?? 'stream';
  }

  // ---- the wire ------------------------------------------------------------------------------------------------

  private async token(): Promise<string> {
    const token = await this.options.accessToken();
    if (!token) throw new OcrError('not_authorized', 'not signed in to Supabase', 'run "OCR: Connect to Supabase…" and sign in');
    return token;
  }

  /** Calls a user route; answers the body of `{ok: true, …}`, or throws the error it stands for. */
  private async call(method: 'GET' | 'POST', route: string, body?: unknown): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.send(method, route, body, attempt === 0);
      } catch (e) {
        if (e instanceof Refreshed) continue;
        // a read changes nothing: worth trying again at once when the network failed
        if (method !== 'GET' || attempt >= 2 || !(e instanceof OcrError) || e.code !== 'db_unreachable' || this.closing.signal.aborted) throw e;
        await sleep(200 * 4 ** attempt, this.closing.signal);
      }
    }
  }

  /** The request as sent: the user's token, a JSON body; a network failure is `db_unreachable`, saying where. */
  private async request(method: 'GET' | 'POST', route: string, body: unknown, signal: AbortSignal, accept?: string): Promise<Response> {
    try {
      return await fetch(`${this.url}/${route}`, {
        method,
        headers: {
          authorization: `Bearer ${await this.token()}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(accept ? { accept } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (e instanceof OcrError) throw e;
      const why = (e as Error).name === 'TimeoutError' ? 'no answer in time' : describeFetchError(e);
      throw new OcrError('db_unreachable', `cannot reach the ops-api function at ${this.url}: ${why}`, 'check the project URL and the network', { cause: e });
    }
  }

  private async send(method: 'GET' | 'POST', route: string, body: unknown, mayRefresh: boolean): Promise<Record<string, unknown>> {
    const response = await this.request(method, route, body, AbortSignal.any([this.closing.signal, AbortSignal.timeout(this.requestTimeoutMs)]));
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      json = undefined;
    }
    const done = Success.safeParse(json);
    if (done.success && response.ok) return done.data;
    return this.refused(response, json, mayRefresh);
  }

  /** What a failed answer stands for, thrown: the function's named error, or what the platform's answer means. */
  private async refused(response: Response, json: unknown, mayRefresh: boolean): Promise<never> {
    const failed = Failure.safeParse(json);
    if (failed.success) {
      const { code, message } = failed.data.error;
      if (response.status === 401 && mayRefresh && this.options.refreshToken) {
        await this.options.refreshToken().catch((e: unknown) => this.log(`refreshing the sign-in failed: ${(e as Error).message}`));
        throw new Refreshed();
      }
      throw this.errorOf(response.status, code, message);
    }
    // not the function's answer: the platform's (no such function), or something else at that URL
    if (response.status === 404) {
      throw new OcrError('invalid_state', `the ops-api function is not deployed on this project (${this.url} answered 404)`, `run \`${deployCommand}\` in the repository's folder`);
    }
    if (response.status >= 500 || response.status === 429) {
      throw new OcrError('db_unreachable', `the ops-api function at ${this.url} answered ${response.status}`, 'it may be starting or overloaded; try again in a moment');
    }
    if (response.status === 401 || response.status === 403) {
      throw new OcrError('not_authorized', `the project refused the request (${response.status}) before the function saw it`, `check the anon key, then ${signInHint}`);
    }
    throw new OcrError('invalid_state', `${this.url} answered ${response.status} with something else than the ops-api function's {ok, …}`, 'check the project URL in "OCR: Connect to Supabase…"');
  }

  private errorOf(status: number, code: string, message: string): OcrError {
    switch (code) {
      case 'invalid_input':
      case 'too_large':
        return new OcrError('invalid_input', message);
      case 'not_authenticated':
        return new OcrError('not_authorized', message, signInHint);
      case 'not_authorized':
        return new OcrError('not_authorized', message, /viewer/.test(message) ? undefined : 'your teams decide what you may do: ask an owner of the team');
      case 'not_found':
        if (/^no route /.test(message)) {
          return new OcrError('invalid_state', `the ops-api function deployed on this project is older than this editor (${message})`, `run \`${deployCommand}\` again`);
        }
        return new OcrError('not_found', message);
      case 'method_not_allowed':
        return new OcrError('invalid_state', `the ops-api function deployed on this project is not the one this editor expects (${message})`, `run \`${deployCommand}\` again`);
      case 'lease_lost':
        return new LeaseLostError(message);
      case 'invalid_state':
        return new OcrError('invalid_state', message);
      case 'db_unreachable':
        return new OcrError('db_unreachable', message);
      default: {
        // the database behind the function has no ops schema (42P01 relation, 3F000 schema, 42883 function missing)
        if (/\((42P01|3F000|42883)\)/.test(message)) {
          return new OcrError('invalid_state', 'the project\'s database lacks the ops schema or some of its migrations', `run \`${pushCommand}\` in the repository's folder`);
        }
        return new OcrError('invalid_state', `the ops-api function failed (${status}): ${message}`);
      }
    }
  }

  // ---- the project ----------------------------------------------------------------------------------------------

  /**
   * Whether the project has what the editor needs: the function deployed (and as new as this editor), the database's
   * migrations pushed, and who the user is and which teams they are in. Throws, naming the command that fixes it.
   */
  async check(): Promise<ProjectHealth> {
    const health = Health.parse(await this.call('GET', 'health'));
    if (!health.ops_schema) {
      throw new OcrError('invalid_state', 'the project\'s database has no ops schema: its migrations were not pushed', `run \`${pushCommand}\` in the repository's folder`);
    }
    const missing = missingMigrations(health.migrations, health.pushed);
    if (missing.length > 0) {
      throw new OcrError('invalid_state', `the project's database lacks ${missing.length === 1 ? 'the migration' : 'the migrations'} ${missing.join(', ')}`, `run \`${pushCommand}\` in the repository's folder`);
    }
    return { user: health.user, teams: health.teams };
  }

  /** Migrations reach a Supabase project through `supabase db push`: this checks that they did. */
  async migrate(): Promise<void> {
    await this.check();
  }

  async createTeam(name: string): Promise<{ id: string; name: string }> {
    const answer = await this.call('POST', 'teams', { name });
    return z.object({ team: z.object({ id: z.string().uuid(), name: z.string() }) }).parse(answer).team;
  }

  /** A worker token of one of the user's teams (its owners only), shown once. */
  async createWorkerToken(teamId: string, name: string): Promise<{ id: string; token: string }> {
    const answer = await this.call('POST', 'tokens', { team_id: teamId, name });
    return z.object({ token: z.object({ id: z.string().uuid(), token: z.string() }) }).parse(answer).token;
  }

  async close(): Promise<void> {
    this.closing.abort();
    this.streamAbort?.abort();
    this.wakeLoop?.();
    for (const w of this.watches) w.disposed = true;
    this.watches.clear();
    await this.loop;
  }

  // ---- sessions -------------------------------------------------------------------------------------------------

  async createSession(input: NewSession): Promise<Session> {
    const s = parseInput(NewSession, input);
    const answer = await this.call('POST', 'sessions', {
      title: s.title,
      intent: s.intent,
      lanes: s.lanes,
      repo_id: s.repo_id ?? null,
      repo_url: s.repo_url ?? null,
      repo_path: s.repo_path ?? null,
      base_ref: s.base_ref ?? null,
      team_id: this.options.teamId ?? null,
    });
    this.changedHere();
    return z.object({ session: Session }).parse(answer).session;
  }

  async getSession(id: string): Promise<Session> {
    assertUuid('session', id);
    return z.object({ session: Session }).parse(await this.call('GET', `sessions/${id}/info`)).session;
  }

  async listSessions(options: { includeArchived?: boolean } = {}): Promise<Session[]> {
    const answer = await this.call('GET', `sessions?archived=${options.includeArchived ? 'true' : 'false'}`);
    return z.object({ sessions: z.array(Session) }).parse(answer).sessions;
  }

  async archiveSession(id: string): Promise<Session> {
    assertUuid('session', id);
    const session = z.object({ session: Session }).parse(await this.call('POST', `sessions/${id}/archive`)).session;
    this.changedHere();
    return session;
  }

  // ---- runs -----------------------------------------------------------------------------------------------------

  async createRun(input: NewRun): Promise<Run> {
    const r = parseInput(NewRun, input);
    const run = z.object({ run: Run }).parse(await this.call('POST', 'runs', r)).run;
    this.changedHere();
    return run;
  }

  async getRun(id: string): Promise<Run> {
    assertUuid('run', id);
    return z.object({ run: Run }).parse(await this.call('GET', `runs/${id}`)).run;
  }

  async listRuns(filter: RunFilter = {}): Promise<Run[]> {
    if (filter.sessionId) assertUuid('session', filter.sessionId);
    const limit = filter.limit ?? 1000;
    if (filter.groupId) {
      assertUuid('group', filter.groupId);
      const runs = z.object({ runs: z.array(Run) }).parse(await this.call('GET', `groups/${filter.groupId}?limit=${limit}`)).runs;
      return runs.filter(
        (r) => (!filter.sessionId || r.session_id === filter.sessionId) && (!filter.lane || r.lane === filter.lane) && (!filter.status || filter.status.includes(r.status)),
      );
    }
    const query = new URLSearchParams({ limit: String(limit) });
    if (filter.sessionId) query.set('session', filter.sessionId);
    if (filter.lane) query.set('lane', filter.lane);
    if (filter.status) query.set('status', filter.status.join(','));
    return z.object({ runs: z.array(Run) }).parse(await this.call('GET', `runs?${query}`)).runs;
  }

  async createGroup(inputs: NewRun[]): Promise<Run[]> {
    const runs = inputs.map((i) => parseInput(NewRun, i));
    const created = z.object({ runs: z.array(Run) }).parse(await this.call('POST', 'groups', { runs })).runs;
    this.changedHere();
    return created;
  }

  async listRunHistory(query: RunHistoryQuery = {}): Promise<RunHistoryPage> {
    const q = parseInput(RunHistoryQuery, query);
    const answer = await this.call('POST', 'history', q);
    return z.object({ runs: z.array(RunHistoryRow), next: z.string().nullable() }).parse(answer);
  }

  async searchLogs(query: LogSearchQuery): Promise<LogHit[]> {
    const answer = await this.call('POST', 'logs/search', checkLogSearchQuery(query));
    return z.object({ hits: z.array(LogHit) }).parse(answer).hits;
  }

  async cancelRun(id: string): Promise<{ outcome: CancelOutcome; run: Run }> {
    assertUuid('run', id);
    const answer = await this.call('POST', `runs/${id}/cancel`);
    this.changedHere();
    return z.object({ outcome: CancelOutcome, run: Run }).parse(answer);
  }

  async retryRun(id: string): Promise<Run> {
    assertUuid('run', id);
    const run = z.object({ run: Run }).parse(await this.call('POST', `runs/${id}/retry`)).run;
    this.changedHere();
    return run;
  }

  async listEvents(runId: string, afterSeq = 0, limit = 5000): Promise<RunEvent[]> {
    assertUuid('run', runId);
    const answer = await this.call('GET', `runs/${runId}/lines?after=${Math.max(0, Math.floor(afterSeq))}&limit=${Math.max(1, Math.floor(limit))}`);
    return z.object({ events: z.array(RunEvent) }).parse(answer).events;
  }

  async listArtifacts(runId: string): Promise<Artifact[]> {
    assertUuid('run', runId);
    return z.object({ artifacts: z.array(Artifact) }).parse(await this.call('GET', `runs/${runId}/artifacts`)).artifacts;
  }

  async getArtifact(runId: string, kind: ArtifactKind, name?: string): Promise<Artifact | undefined> {
    const all = (await this.listArtifacts(runId)).filter((a) => a.kind === kind && (name === undefined || a.name === name));
    // the newest, as the Postgres store answers
    return all.reduce<Artifact | undefined>((newest, a) => (!newest || a.created_at >= newest.created_at ? a : newest), undefined);
  }

  async listSteps(runId: string): Promise<RunStep[]> {
    assertUuid('run', runId);
    return z.object({ steps: z.array(RunStep) }).parse(await this.call('GET', `runs/${runId}/steps`)).steps;
  }

  // ---- runbooks, approvals, workers, ids --------------------------------------------------------------------------

  async publishTemplate(input: { name: string; text: string; sha256: string; runbook: Runbook; source?: string | null }): Promise<Template> {
    const answer = await this.call('POST', 'templates', {
      name: input.name,
      text: input.text,
      sha256: input.sha256,
      runbook: input.runbook,
      source: input.source ?? null,
      team_id: this.options.teamId ?? null,
    });
    return z.object({ template: Template }).parse(answer).template;
  }

  async getTemplate(id: string): Promise<Template> {
    assertUuid('runbook version', id);
    return z.object({ template: Template }).parse(await this.call('GET', `templates/${id}`)).template;
  }

  async approveRun(runId: string, note?: string): Promise<Run> {
    assertUuid('run', runId);
    const run = z.object({ run: Run }).parse(await this.call('POST', `runs/${runId}/approve`, { note: note ?? null })).run;
    this.changedHere();
    return run;
  }

  async rejectRun(runId: string, reason?: string): Promise<Run> {
    assertUuid('run', runId);
    const run = z.object({ run: Run }).parse(await this.call('POST', `runs/${runId}/reject`, { reason: reason ?? null })).run;
    this.changedHere();
    return run;
  }

  async listWorkers(): Promise<WorkerRow[]> {
    return z.object({ workers: z.array(WorkerRow) }).parse(await this.call('GET', 'workers')).workers;
  }

  async listLanePorts(sessionId: string): Promise<LanePorts[]> {
    assertUuid('session', sessionId);
    return z.object({ ports: z.array(LanePorts) }).parse(await this.call('GET', `sessions/${sessionId}/ports`)).ports;
  }

  /**
   * The sessions of these short ids that the user may read. A lane worktree of a session the user may not read cannot
   * be told from one whose session is gone, so it is refused rather than taken as gone (and removed).
   */
  async worktreeSessions(shortIds: string[]): Promise<WorktreeSession[]> {
    if (shortIds.length === 0) return [];
    const answer = await this.call('POST', 'worktree-sessions', { short_ids: shortIds });
    const rows = z.object({ sessions: z.array(WorktreeSessionRow) }).parse(answer).sessions;
    const unknown = shortIds.filter((id) => !rows.some((r) => r.short_id === id));
    if (unknown.length > 0) {
      throw new OcrError(
        'invalid_state',
        `session ${unknown[0]} is not one of your teams' sessions: through Supabase the editor cannot tell whether it is gone`,
        'remove its worktrees with `ocr worktrees prune --db URL` on this machine, with the database\'s URL',
      );
    }
    return rows.map((r) => ({ shortId: r.short_id, sessionId: r.session_id, status: r.status, running: r.running }));
  }

  async resolveId(kind: 'run' | 'session' | 'group', text: string): Promise<string> {
    const answer = await this.call('GET', `resolve?kind=${kind}&id=${encodeURIComponent(text)}`);
    return z.object({ id: z.string().uuid() }).parse(answer).id;
  }

  // ---- a worker's side: not through a user's sign-in -------------------------------------------------------------

  registerWorker(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  setWorkerState(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  heartbeat(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  appendEvents(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  putArtifact(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  finishAndClaim(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  releaseRun(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  recordAgent(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  leaseLanePorts(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  planSteps(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  moveStep(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  parkRun(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  requeueRun(): Promise<never> {
    return Promise.reject(notAWorker());
  }
  recoverExpired(): Promise<never> {
    return Promise.reject(notAWorker());
  }

  /** Queuing through the function already tells the workers (the database notifies their long-polls). */
  async wakeWorkers(): Promise<void> {}

  /** Cancels reach workers through their own store; nothing of a person's sign-in is told of them. */
  onCancelRequested(): Disposable {
    return { dispose: () => undefined };
  }

  // ---- live updates ------------------------------------------------------------------------------------------------

  watchSession(id: string, onChange: (snapshot: SessionSnapshot) => void, options: WatchOptions = {}): Disposable {
    const watch: Watch = {
      sessionId: id,
      onChange,
      onError: options.onError ?? ((e: unknown) => this.log(`watching session ${id} failed: ${(e as Error).message}`)),
      version: undefined,
      key: '',
      failed: false,
      disposed: false,
    };
    if (!uuidPattern.test(id)) {
      queueMicrotask(() => watch.onError(new OcrError('invalid_input', `session: ${JSON.stringify(id)} is not a session id`)));
      return { dispose: () => undefined };
    }
    this.watches.add(watch);
    void this.resubscribe();
    return {
      dispose: () => {
        watch.disposed = true;
        this.watches.delete(watch);
        this.unsubscribed();
      },
    };
  }

  followRun(runId: string, fromSeq = 0, options: FollowOptions = {}): AsyncIterable<RunEvent[]> {
    assertUuid('run', runId);
    const signal = options.signal ? AbortSignal.any([options.signal, this.closing.signal]) : this.closing.signal;
    return followRunOverApi(this.url, () => this.token(), runId, fromSeq, {
      signal,
      onReconnect: (reason, after) => {
        if (reason !== 'time limit') this.log(`the log stream of run ${runId} resumes after line ${after}: ${reason}`);
      },
    });
  }

  onSessionsChange(listener: () => void): Disposable {
    return this.subscribe(this.sessionsChanged.add(listener));
  }

  onQueueChange(listener: (firstWorker: string | null) => void): Disposable {
    return this.subscribe(this.queueChanged.add(listener));
  }

  private subscribe(subscription: Disposable): Disposable {
    void this.resubscribe();
    return {
      dispose: () => {
        subscription.dispose();
        this.unsubscribed();
      },
    };
  }

  /** Resolves once a first look at what changes is done: a change made after this is seen by the next. */
  listening(): Promise<void> {
    return this.kick();
  }

  private get subscribed(): boolean {
    return this.watches.size + this.sessionsChanged.size + this.queueChanged.size > 0;
  }

  /**
   * Something new is watched: the stream asks again with it (a poll looks at once). Resolves when the first answer
   * that includes it was handled.
   */
  private resubscribe(): Promise<void> {
    const answered = this.kick();
    this.streamAbort?.abort();
    return answered;
  }

  /** Nothing is watched any more: the stream ends. */
  private unsubscribed(): void {
    if (!this.subscribed) this.streamAbort?.abort();
  }

  /** A change of the user's: polling looks at once; a stream reports it anyway. */
  private changedHere(): void {
    if (this.mode === 'poll') void this.kick();
  }

  /** Looks at once (or right after the look in flight); resolves when that look is done. */
  private kick(): Promise<void> {
    if (this.closing.signal.aborted || !this.subscribed) return Promise.resolve();
    this.nextRound ??= round();
    const waiting = this.nextRound.promise;
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
      // asked again while the loop was ending: a new loop looks, or there is nothing left to look for
      if (!this.nextRound) return;
      if (this.subscribed && !this.closing.signal.aborted) void this.kick();
      else {
        this.nextRound.resolve();
        this.nextRound = undefined;
      }
    });
    this.wakeLoop?.();
    return waiting;
  }

  private async run(): Promise<void> {
    while (!this.closing.signal.aborted && this.subscribed) {
      const current = this.nextRound;
      this.nextRound = undefined;
      let answered = false;
      try {
        if (this.mode === 'stream') answered = await this.streamChanges(current);
        else {
          await this.look();
          answered = true;
          current?.resolve();
        }
        if (this.failures > 0 && answered) this.log(`looking for changes works again after ${this.failures} failure${this.failures === 1 ? '' : 's'}`);
        if (answered) this.failures = 0;
      } catch (e) {
        if (e instanceof NoStream) {
          this.mode = 'poll';
          this.log(`the ops-api function offers no change stream: looking for changes every ${this.pollMs} ms instead`);
        } else {
          this.failures++;
          if (this.failures === 1 || this.failures % 30 === 0) this.log(`looking for changes failed (${this.failures}): ${(e as Error).message}`);
          for (const w of this.watches) {
            if (!w.failed) {
              w.failed = true;
              w.onError(e);
            }
          }
          current?.reject(e);
          answered = true;
        }
      }
      // a round asked for and not answered yet (the stream was asked again before its first answer) waits for the next
      if (!answered && current) {
        // (set meanwhile by kick(), which the compiler cannot see from here)
        const next = this.nextRound as Round | undefined;
        if (next) next.promise.then(current.resolve, current.reject);
        else this.nextRound = current;
      }
      if (this.closing.signal.aborted || !this.subscribed) break;
      // a stream that ended as planned, or was asked again, is opened again at once
      if ((this.nextRound as Round | undefined) || (this.mode === 'stream' && this.failures === 0)) continue;
      const pause = this.failures === 0 ? this.pollMs : Math.min(10_000, Math.max(this.pollMs, 500) * 2 ** Math.min(this.failures, 4));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, pause);
        this.wakeLoop = done;
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
      });
      this.wakeLoop = undefined;
    }
  }

  /** What to ask about: the watched sessions, the list of sessions, the unfinished runs. */
  private question(): { watches: Watch[]; body: { sessions: string[]; list: boolean; queue: boolean } } {
    const watches = [...this.watches];
    return { watches, body: { sessions: [...new Set(watches.map((w) => w.sessionId))], list: this.sessionsChanged.size > 0, queue: this.queueChanged.size > 0 } };
  }

  /** One look by polling: what changed since the last, then the snapshot of each watched session that changed. */
  private async look(): Promise<void> {
    const { watches, body } = this.question();
    await this.apply(ChangesAnswer.parse(await this.call('POST', 'changes', body)), watches, body);
  }

  /**
   * Follows the function's change stream until it ends (its time limit), is asked again, or breaks. Answers whether it
   * answered at all; `current` is resolved at its first answer.
   */
  private async streamChanges(current: Round | undefined): Promise<boolean> {
    const { watches, body } = this.question();
    const abort = new AbortController();
    this.streamAbort = abort;
    let answered = false;
    try {
      let response: Response | undefined;
      for (let attempt = 0; !response; attempt++) {
        // the time limit is for the answer to begin: the stream itself lasts as long as the function keeps it
        const connecting = AbortSignal.timeout(this.requestTimeoutMs);
        const opened = await this.request('POST', 'changes/stream', body, AbortSignal.any([this.closing.signal, abort.signal, connecting]), 'text/event-stream');
        if (opened.ok && opened.body && (opened.headers.get('content-type') ?? '').startsWith('text/event-stream')) response = opened;
        else {
          const json: unknown = await opened.json().catch(() => undefined);
          const failed = Failure.safeParse(json);
          if (opened.status === 404 && failed.success && /^no route /.test(failed.data.error.message)) throw new NoStream();
          try {
            await this.refused(opened, json, attempt === 0);
          } catch (e) {
            if (!(e instanceof Refreshed)) throw e;
          }
        }
      }
      for await (const m of sseMessages(response.body!)) {
        if (m.event === 'changes') {
          await this.apply(ChangesAnswer.parse(JSON.parse(m.data)), watches, body);
          if (!answered) {
            answered = true;
            current?.resolve();
          }
        } else if (m.event === 'reconnect') {
          const why = z.object({ reason: z.string(), message: z.string().optional() }).parse(JSON.parse(m.data));
          if (why.reason === 'error') throw new OcrError('db_unreachable', `the ops-api function could not look for changes: ${why.message ?? 'see its logs'}`);
          break;
        }
      }
      // the function answers as soon as a stream opens: one that ended without an answer is worth a pause, not a retry at once
      if (!answered && !abort.signal.aborted) throw new OcrError('db_unreachable', `the change stream of ${this.url} ended before it answered`, 'the editor tries again');
      return answered;
    } catch (e) {
      // asked again with other sessions, or closing: not a failure
      if (abort.signal.aborted || this.closing.signal.aborted) return answered;
      // a stream that had answered and broke (a lost connection): opened again at once, as after its planned end
      if (answered && !(e instanceof OcrError)) {
        this.log(`the change stream broke (${describeFetchError(e)}); opening it again`);
        return answered;
      }
      if (e instanceof OcrError || e instanceof NoStream) throw e;
      throw new OcrError('db_unreachable', `the change stream of ${this.url} broke: ${describeFetchError(e)}`, 'the editor tries again', { cause: e });
    } finally {
      if (this.streamAbort === abort) this.streamAbort = undefined;
    }
  }

  /** Hands over what changed: the list of sessions, the unfinished runs, and a new snapshot of each watched session that changed. */
  private async apply(answer: z.infer<typeof ChangesAnswer>, watches: Watch[], asked: { sessions: string[]; list: boolean; queue: boolean }): Promise<void> {
    if (asked.list && answer.list !== undefined) {
      if (this.lastList !== undefined && answer.list !== this.lastList) this.sessionsChanged.emit();
      this.lastList = answer.list;
    } else if (!asked.list) this.lastList = undefined;
    if (asked.queue && answer.queue !== undefined) {
      if (this.lastQueue !== undefined && answer.queue !== this.lastQueue) this.queueChanged.emit(null);
      this.lastQueue = answer.queue;
    } else if (!asked.queue) this.lastQueue = undefined;

    await Promise.all(
      watches.map(async (w) => {
        const version = answer.sessions[w.sessionId] ?? null;
        if (w.disposed || (version === w.version && !w.failed)) return;
        if (version === null) {
          w.version = null;
          w.failed = true;
          w.onError(new OcrError('not_found', `session ${w.sessionId} does not exist`, 'it may belong to a team you are not in'));
          return;
        }
        const snapshot = await this.call('GET', `sessions/${w.sessionId}`);
        const { session, runs, ports } = z.object({ session: Session, runs: z.array(Run), ports: z.array(LanePorts) }).parse(snapshot);
        w.version = version;
        w.failed = false;
        const key = JSON.stringify([session.status, runs.map((r) => [r.id, r.status, r.updated_at, r.claimed_by]), ports.map((p) => [p.lane, p.port_base, p.port_count])]);
        if (w.disposed || key === w.key) return;
        w.key = key;
        w.onChange({ session, runs, ports });
      }),
    );
  }
}

/** The function has no change stream (an older one): the store polls. */
class NoStream extends Error {}

function notAWorker(): OcrError {
  return new OcrError('not_authorized', 'a worker does not run on a person\'s sign-in', 'give the worker a worker token: "OCR: Set Worker Token…", or `ocr worker --api URL --token TOKEN`');
}

/** Thrown after the sign-in was refreshed: the call goes again with the new token. */
class Refreshed extends Error {}
