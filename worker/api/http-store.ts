// A worker's store over HTTPS: the ops-api edge function, for a worker that holds only the function's URL and a
// worker token (`ocr worker --api URL --token TOKEN`). Every answer is checked with the domain's schemas. Failures
// keep the Postgres store's meaning, so the worker retries as it does there: an API or network that is away is
// `db_unreachable` (transient: the log writer sends its batch again exactly as it was, with `afterSeq` making a
// batch stored before a lost answer count once; finishAndClaim's ends go again and are answered as refused when they
// were recorded), a lease that is gone is a LeaseLostError, a refused or revoked token is `not_authorized`.
// Notifications come from a long-poll: the function answers when the queue of the token's sessions, the sessions, or
// the cancels of this worker's runs change.
import { z } from 'zod';
import {
  Artifact,
  type FinalStatus,
  LanePorts,
  type NewEvent,
  Run,
  RunAgent,
  RunStep,
  Session,
  type StepKind,
  Template,
  unstorableJson,
} from '../../domain';
import { LeaseLostError, OcrError } from '../store/errors';
import type { Disposable, FinishAndClaimAnswer, NewArtifact, RunEnding, RunFilter, WorkerStore } from '../store/store';
import type { ClaimFilter, HeartbeatOutcome, Lease, RecoverOutcome, WorkerInfo } from '../store/types';
import { Listeners } from '../engine/listeners';
import { describeFetchError, sleep } from './fetch-errors';

export interface HttpWorkerStoreOptions {
  /** the function's URL: https://<project>.supabase.co/functions/v1/ops-api */
  url: string;
  /** a worker token (`ocrw_…`, from `ocr token create`) */
  token: string;
  log?: (line: string) => void;
  /** the longest one request may take (the long-poll aside); default 30 s */
  requestTimeoutMs?: number;
  /** how long one long-poll waits for a change; default 25 s */
  waitMs?: number;
  /** the largest body the function takes for log lines and artifacts; default its 4 MB */
  bulkBytes?: number;
  /** told once when the function refuses the token (revoked, or never valid): nothing this worker sends is taken */
  onTokenRefused?: (message: string) => void;
}

const Failure = z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) });
const Success = z.object({ ok: z.literal(true) }).passthrough();

const Outcome = z.enum(['held', 'cancel', 'lost']);
const Recovered = z.object({ run_id: z.string().uuid(), outcome: z.enum(['requeued', 'failed', 'canceled']) });
const WaitAnswer = z.object({ since: z.string(), queue_changed: z.boolean(), sessions_changed: z.boolean(), cancels: z.array(z.string().uuid()) });

const workerTokenPattern = /^ocrw_[A-Za-z0-9_-]{16,200}$/;

/** `https://x.supabase.co/functions/v1/ops-api` checked: http(s), no credentials, no query. */
export function apiUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new OcrError('invalid_input', `--api: ${JSON.stringify(text)} is not a URL`, 'give the function\'s URL, such as https://<project>.supabase.co/functions/v1/ops-api');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new OcrError('invalid_input', `--api: ${url.protocol} is not http or https`, 'give the function\'s https:// URL');
  if (url.username || url.password) throw new OcrError('invalid_input', '--api: the URL must not hold credentials', 'give the token with --token or OCR_WORKER_TOKEN');
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

export function checkWorkerToken(token: string): string {
  const t = token.trim();
  if (!workerTokenPattern.test(t)) {
    throw new OcrError('invalid_input', '--token: not a worker token (ocrw_ and 64 characters)', 'create one with `ocr token create --name NAME` and give it with --token or OCR_WORKER_TOKEN');
  }
  return t;
}

export class HttpWorkerStore implements WorkerStore {
  readonly description: string;
  private readonly url: string;
  private readonly token: string;
  private readonly log: (line: string) => void;
  private readonly requestTimeoutMs: number;
  private readonly waitMs: number;
  private readonly bulkBytes: number;
  /** the registration secret of each worker registered through this store, kept in memory only */
  private readonly registrations = new Map<string, string>();
  private readonly queue = new Listeners<[string | null]>();
  private readonly cancels = new Listeners<[string, string | null]>();
  private readonly sessions = new Listeners<[]>();
  private readonly polls = new Map<string, AbortController>();
  private readonly closing = new AbortController();
  private tokenRefused = false;

  constructor(private readonly options: HttpWorkerStoreOptions) {
    this.url = apiUrl(options.url);
    this.token = checkWorkerToken(options.token);
    this.description = `ops-api at ${this.url}`;
    this.log = options.log ?? (() => undefined);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.waitMs = options.waitMs ?? 25_000;
    this.bulkBytes = options.bulkBytes ?? 4 * 1024 * 1024;
  }

  async close(): Promise<void> {
    this.closing.abort();
    for (const p of this.polls.values()) p.abort();
    this.polls.clear();
  }

  // ---- the wire ------------------------------------------------------------------------------------------------

  /** POSTs to a worker route; answers the body of `{ok: true, …}`, or throws the error the function named. */
  private async post(route: string, body: unknown, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Record<string, unknown>> {
    const text = JSON.stringify(body);
    const signals = [this.closing.signal, AbortSignal.timeout(options.timeoutMs ?? this.requestTimeoutMs)];
    if (options.signal) signals.push(options.signal);
    let response: Response;
    try {
      response = await fetch(`${this.url}/worker/${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: text,
        signal: AbortSignal.any(signals),
      });
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? 'no answer in time' : describeFetchError(e);
      throw new OcrError('db_unreachable', `cannot reach the API at ${this.url}: ${why}`, 'check the URL and the network; the worker tries again', { cause: e });
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch (e) {
      if (response.status >= 500 || response.status === 429) {
        throw new OcrError('db_unreachable', `the API at ${this.url} answered ${response.status} without JSON`, 'it may be restarting; the worker tries again', { cause: e });
      }
      throw new OcrError('invalid_state', `the API at ${this.url} answered ${response.status} without JSON: is this the ops-api function's URL?`, 'give the URL `supabase functions deploy ops-api` printed, ending in /functions/v1/ops-api');
    }
    const failed = Failure.safeParse(json);
    if (failed.success) throw this.errorOf(response.status, failed.data.error.code, failed.data.error.message);
    const done = Success.safeParse(json);
    if (!done.success || !response.ok) {
      throw new OcrError('invalid_state', `the API at ${this.url} answered ${response.status} with something else than {ok, …}: is this the ops-api function's URL?`);
    }
    return done.data;
  }

  private errorOf(status: number, code: string, message: string): Error {
    switch (code) {
      case 'lease_lost':
        return new LeaseLostError(message);
      case 'not_found':
      case 'invalid_state':
        return new OcrError(code, message);
      case 'invalid_input':
      case 'too_large':
        return new OcrError('invalid_input', message);
      case 'not_authenticated':
      case 'not_authorized': {
        if (status === 401) this.refused(message);
        return new OcrError('not_authorized', message);
      }
      default:
        // the function or the database behind it is away, or failed: worth trying again, as with a database
        return new OcrError('db_unreachable', `the API at ${this.url} failed (${status} ${code}): ${message}`);
    }
  }

  private refused(message: string): void {
    if (this.tokenRefused) return;
    this.tokenRefused = true;
    this.log(`the API refused the worker token: ${message}`);
    this.options.onTokenRefused?.(message);
  }

  private worker(workerId: string): { id: string; registration: string } {
    const registration = this.registrations.get(workerId);
    if (!registration) throw new OcrError('not_authorized', `worker ${workerId} was not registered through this store`, 'register the worker first');
    return { id: workerId, registration };
  }

  private leased(lease: Lease) {
    return { worker: this.worker(lease.workerId), run_id: lease.runId, attempt: lease.attempt };
  }

  /** A read worth trying again at once when the network failed: it changes nothing. */
  private async read(route: string, body: unknown): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.post(route, body);
      } catch (e) {
        if (attempt >= 2 || !(e instanceof OcrError) || e.code !== 'db_unreachable' || this.closing.signal.aborted) throw e;
        await sleep(200 * 4 ** attempt);
      }
    }
  }

  // ---- the worker's writes --------------------------------------------------------------------------------------

  async registerWorker(info: WorkerInfo): Promise<void> {
    const answer = await this.post('register', {
      id: info.id,
      host: info.host,
      pid: info.pid,
      concurrency: info.concurrency,
      labels: info.labels,
      version: info.version ?? null,
    });
    const { worker } = z.object({ worker: z.object({ id: z.string(), registration: z.string().min(16) }) }).parse(answer);
    this.registrations.set(info.id, worker.registration);
    this.tokenRefused = false;
    this.startPolling(info.id);
  }

  async setWorkerState(workerId: string, state: 'running' | 'draining' | 'stopped'): Promise<void> {
    await this.post('state', { worker: this.worker(workerId), state });
    if (state === 'stopped') this.stopPolling(workerId);
  }

  async heartbeat(workerId: string, runIds: string[], leaseSeconds = 30): Promise<Map<string, HeartbeatOutcome>> {
    const answer = await this.post('heartbeat', { worker: this.worker(workerId), run_ids: runIds, lease_seconds: leaseSeconds });
    const { outcomes } = z.object({ outcomes: z.record(z.string(), Outcome) }).parse(answer);
    return new Map(Object.entries(outcomes));
  }

  /**
   * Stores log lines after the run's last. A batch larger than the function takes goes in parts, one after another,
   * each after the seq the previous answered: sent again as a whole (after a lost answer), each part is found stored
   * by its own first line, as append_events finds a whole batch.
   */
  async appendEvents(lease: Lease, events: NewEvent[], afterSeq?: number): Promise<number> {
    const bad = unstorableJson(events);
    if (bad) throw new OcrError('invalid_input', `events.${bad.path.join('.')}: ${bad.reason}`);
    let last = afterSeq ?? null;
    for (const part of partsOf(events, this.bulkBytes - 64 * 1024)) {
      const answer = await this.post('events', { ...this.leased(lease), events: part, after_seq: last });
      last = z.object({ last_seq: z.number().int() }).parse(answer).last_seq;
    }
    return last ?? afterSeq ?? 0;
  }

  async putArtifact(lease: Lease, artifact: NewArtifact): Promise<Artifact> {
    let body = { ...this.leased(lease), kind: artifact.kind, name: artifact.name, mime: artifact.mime ?? 'text/plain', content: artifact.content, meta: artifact.meta ?? {} };
    const size = Buffer.byteLength(JSON.stringify(body));
    if (size > this.bulkBytes) {
      if (artifact.kind !== 'diff') {
        throw new OcrError('invalid_input', `artifact ${artifact.name}: ${Math.round(size / 1024 / 1024)} MB is more than the API takes (${Math.round(this.bulkBytes / 1024 / 1024)} MB)`, 'make it smaller');
      }
      // the numbers of a diff too large to send are still worth having; its patch is left out, as the worker does
      // with a patch too large to store
      this.log(`run ${lease.runId}: the diff (${Math.round(size / 1024 / 1024)} MB) is more than the API takes; its summary only is stored`);
      body = { ...body, content: '', meta: { ...body.meta, omitted: true } };
    }
    const answer = await this.post('artifacts', body);
    return z.object({ artifact: Artifact }).parse(answer).artifact;
  }

  async finishAndClaim(workerId: string, ends: RunEnding[], max: number, filter: ClaimFilter = {}): Promise<FinishAndClaimAnswer> {
    if (ends.length === 0 && max === 0) return { claimed: [], refused: [] };
    const answer = await this.post('claim', {
      worker: this.worker(workerId),
      ends: ends.map((e) => ({ run_id: e.runId, attempt: e.attempt, status: e.status satisfies FinalStatus, exit_code: e.exitCode ?? null, error: e.error ?? null })),
      max,
      filter: {
        lanes: filter.lanes ?? null,
        sessions: filter.sessions ?? null,
        repo_ids: filter.repoIds ?? null,
        lease_seconds: filter.leaseSeconds ?? 30,
      },
    });
    const runs = z.object({ runs: z.array(Run) }).parse(answer).runs;
    // As the Postgres store: the answer holds the runs claimed and, for each end refused, that run as it is now; a
    // refused run claimed again in the same statement comes once, as this worker's new attempt.
    const sent = new Map(ends.map((e) => [e.runId, e.attempt]));
    const isClaim = (r: Run) => r.status === 'running' && r.claimed_by === workerId && r.attempt > (sent.get(r.id) ?? 0);
    return { claimed: runs.filter(isClaim), refused: runs.filter((r) => sent.has(r.id)) };
  }

  async releaseRun(lease: Lease): Promise<Run> {
    return z.object({ run: Run }).parse(await this.post('release', this.leased(lease))).run;
  }

  async requeueRun(lease: Lease, afterSeconds: number, error: string): Promise<Run> {
    return z.object({ run: Run }).parse(await this.post('requeue', { ...this.leased(lease), after_seconds: afterSeconds, error })).run;
  }

  async recoverExpired(): Promise<Array<{ runId: string; outcome: RecoverOutcome }>> {
    const { recovered } = z.object({ recovered: z.array(Recovered) }).parse(await this.post('recover', {}));
    return recovered.map((r) => ({ runId: r.run_id, outcome: r.outcome }));
  }

  async recordAgent(lease: Lease, agent: RunAgent): Promise<void> {
    await this.post('agent', { ...this.leased(lease), agent: RunAgent.parse(agent) });
  }

  async leaseLanePorts(lease: Lease, count = 10): Promise<LanePorts> {
    return z.object({ ports: LanePorts }).parse(await this.post('ports', { ...this.leased(lease), count })).ports;
  }

  async planSteps(lease: Lease, steps: Array<{ step_id: string; title: string; kind: StepKind }>): Promise<RunStep[]> {
    return z.object({ steps: z.array(RunStep) }).parse(await this.post('steps/plan', { ...this.leased(lease), steps })).steps;
  }

  async moveStep(
    lease: Lease,
    idx: number,
    status: 'running' | 'succeeded' | 'failed' | 'canceled' | 'skipped',
    result: { exitCode?: number | null; error?: string | null } = {},
  ): Promise<RunStep> {
    const answer = await this.post('steps/move', { ...this.leased(lease), idx, status, exit_code: result.exitCode ?? null, error: result.error ?? null });
    return z.object({ step: RunStep }).parse(answer).step;
  }

  async parkRun(lease: Lease, idx: number, approval: { message: string; approvers?: string[] }): Promise<Run> {
    return z.object({ run: Run }).parse(await this.post('park', { ...this.leased(lease), idx, approval })).run;
  }

  async wakeWorkers(): Promise<void> {
    await this.post('wake', {});
  }

  // ---- reads, within the token's sessions ---------------------------------------------------------------------

  /** Reads need a registered worker (its token's sessions); the first one registered through this store. */
  private reader(): { id: string; registration: string } {
    const first = this.registrations.keys().next();
    if (first.done) throw new OcrError('not_authorized', 'no worker is registered through this store', 'register the worker first');
    return this.worker(first.value);
  }

  async getSession(id: string): Promise<Session> {
    return z.object({ session: Session }).parse(await this.read('session', { worker: this.reader(), id })).session;
  }

  async listSessions(options: { includeArchived?: boolean } = {}): Promise<Session[]> {
    const answer = await this.read('sessions', { worker: this.reader(), include_archived: options.includeArchived ?? false });
    return z.object({ sessions: z.array(Session) }).parse(answer).sessions;
  }

  async listRuns(filter: RunFilter = {}): Promise<Run[]> {
    const answer = await this.read('runs', {
      worker: this.reader(),
      session_id: filter.sessionId ?? null,
      lane: filter.lane ?? null,
      status: filter.status ?? null,
      group_id: filter.groupId ?? null,
      limit: filter.limit ?? 1000,
    });
    return z.object({ runs: z.array(Run) }).parse(answer).runs;
  }

  async listSteps(runId: string): Promise<RunStep[]> {
    return z.object({ steps: z.array(RunStep) }).parse(await this.read('steps', { worker: this.reader(), run_id: runId })).steps;
  }

  async getTemplate(id: string): Promise<Template> {
    return z.object({ template: Template }).parse(await this.read('template', { worker: this.reader(), id })).template;
  }

  // ---- notifications: a long-poll per registered worker ---------------------------------------------------------

  onQueueChange(listener: (firstWorker: string | null) => void): Disposable {
    return this.listen(this.queue.add(listener));
  }

  onCancelRequested(listener: (runId: string, workerId: string | null) => void): Disposable {
    return this.listen(this.cancels.add(listener));
  }

  onSessionsChange(listener: () => void): Disposable {
    return this.listen(this.sessions.add(listener));
  }

  private listen(subscription: Disposable): Disposable {
    for (const id of this.registrations.keys()) this.startPolling(id);
    return subscription;
  }

  private startPolling(workerId: string): void {
    if (this.polls.has(workerId) || this.closing.signal.aborted) return;
    if (this.queue.size + this.cancels.size + this.sessions.size === 0) return;
    const stop = new AbortController();
    this.polls.set(workerId, stop);
    void this.poll(workerId, stop.signal);
  }

  private stopPolling(workerId: string): void {
    this.polls.get(workerId)?.abort();
    this.polls.delete(workerId);
  }

  private async poll(workerId: string, signal: AbortSignal): Promise<void> {
    let since: string | null = null;
    let told = new Set<string>();
    let failures = 0;
    while (!signal.aborted && !this.closing.signal.aborted) {
      try {
        const answer = WaitAnswer.parse(
          await this.post('wait', { worker: this.worker(workerId), since, timeout_ms: this.waitMs }, { timeoutMs: this.waitMs + 15_000, signal }),
        );
        // after a failure something may have been missed: everyone looks again, as after a LISTEN reconnect
        if (answer.queue_changed || failures > 0) this.queue.emit(null);
        if (answer.sessions_changed) this.sessions.emit();
        const now = new Set(answer.cancels);
        for (const runId of now) if (!told.has(runId)) this.cancels.emit(runId, workerId);
        told = now;
        since = answer.since;
        failures = 0;
      } catch (e) {
        if (signal.aborted || this.closing.signal.aborted) return;
        failures++;
        if (failures === 1 || failures % 10 === 0) this.log(`waiting for queue changes failed (${failures}): ${(e as Error).message}`);
        await sleep(Math.min(5000, 250 * 2 ** Math.min(failures, 5)), signal);
      }
    }
  }
}

/** Consecutive parts of a batch of events, each at most `maxBytes` of JSON (a single larger event goes alone). */
export function partsOf(events: NewEvent[], maxBytes: number): NewEvent[][] {
  const parts: NewEvent[][] = [];
  let part: NewEvent[] = [];
  let bytes = 0;
  for (const e of events) {
    const size = Buffer.byteLength(JSON.stringify(e)) + 1;
    if (part.length > 0 && bytes + size > maxBytes) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(e);
    bytes += size;
  }
  if (part.length > 0 || parts.length === 0) parts.push(part);
  return parts;
}
