// The worker: a number of slots, filled with runs claimed from the queue. Runs that end in one turn of the event loop
// are recorded together, in the same statement that claims the runs for the slots they freed (finish_and_claim); one
// heartbeat renews every lease; expired leases of dead workers go back to the queue; stop drains. It is the same worker
// in the `ocr worker` process, inside the editor and in the benchmarks, whatever executes its runs.
import os from 'node:os';
import { z } from 'zod';
import { AgentPrices, defaultConcurrency, defaultLeaseSeconds, type FinalStatus, laneName, type Run, type Session } from '../../domain';
import type { Disposable, RunEnding, WorkerStore } from '../store/store';
import type { ClaimFilter } from '../store/types';
import { isRecordedEnd, type RunEnd, type RunExecution, type RunExecutor } from './execution';
import { AgentProfiles, availableAgents, type ExecutorConfig } from './executors';
import { SecretBox, secretKeyFile } from '../runbooks/secrets';
import { Listeners } from './listeners';
import { LocalRepos } from './repo';
import { processExecutor } from './run';
import { leavesWorkForOthers, WAKE_BACKSTOP_MS } from './wake';
import { defaultCopyFiles, defaultWorktreeRoot } from './worktree';
import { LinkDirName, LinkMode } from './link-dirs';

export type { RunEnd } from './execution';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'an environment variable name (a trailing * matches a prefix)');

export const WorkerOptions = z.object({
  id: z.string().trim().min(1).max(200).optional(),
  concurrency: z.number().int().min(1).max(256).default(defaultConcurrency),
  /** only these lanes */
  lanes: z.array(laneName).min(1).optional(),
  /** only these sessions */
  sessions: z.array(z.string().uuid()).min(1).optional(),
  /** local clones it serves, besides those sessions were started from on this machine */
  repos: z.array(z.string().min(1)).default([]),
  leaseSeconds: z.number().int().min(2).max(3600).default(defaultLeaseSeconds),
  /** how often the one heartbeat renews every lease; default a sixth of the lease, at most 5 s */
  heartbeatMs: z.number().int().min(50).optional(),
  /** how often it looks for work without being told; the fallback for a missed NOTIFY */
  pollMs: z.number().int().min(50).default(5000),
  /** how often it gives expired leases (of workers that died) back to the queue */
  recoverMs: z.number().int().min(50).default(5000),
  /** between TERM and KILL when a run is stopped */
  killGraceMs: z.number().int().min(0).default(5000),
  worktreeRoot: z.string().min(1).optional(),
  copyFiles: z.array(z.string().min(1)).default(defaultCopyFiles),
  setupCommand: z.string().trim().min(1).optional(),
  /** folders of the user's checkout each new lane worktree gets without installing them again (node_modules, .venv) */
  linkDirs: z.array(LinkDirName).default([]),
  /** auto: a copy-on-write clone where the filesystem makes one, else hard links */
  linkMode: LinkMode.default('auto'),
  agents: AgentProfiles.optional(),
  defaultAgent: z.string().min(1).optional(),
  /** prices of models (USD per million tokens) over the built-in table, for agents that report tokens but no cost */
  prices: AgentPrices.optional(),
  /** names of this worker's environment its runs also see, besides the built-in allow-list (a trailing * is a prefix) */
  passEnv: z.array(envName).default([]),
  /** names a run's spec.env may set; the built-in list when absent */
  allowEnv: z.array(envName).optional(),
  /** the shells a run's spec.shell may name; the common ones this machine has when absent */
  shells: z.array(z.string().min(1)).optional(),
  /** the key file secret runbook inputs are sealed with (OCR_SECRET_KEY_FILE, else the data folder's) */
  secretKeyFile: z.string().min(1).optional(),
  version: z.string().optional(),
});
export type WorkerOptions = z.input<typeof WorkerOptions>;
type Settings = z.output<typeof WorkerOptions>;

export type WorkerState = 'new' | 'running' | 'draining' | 'stopped';

export interface WorkerStatus {
  id: string;
  state: WorkerState;
  capacity: number;
  /** the runs it is carrying out now */
  running: Run[];
}

export interface WorkerHooks {
  /** where the worker says what went wrong or what it did about it */
  log?: (line: string) => void;
  /** what carries out its runs; processes in lane worktrees by default (benchmarks give an in-process one) */
  executor?: RunExecutor;
}

/** The most runs a worker claims ahead of its free slots, in multiples of its concurrency. */
const AHEAD_LIMIT = 15;
/** The longest a failed statement waits before it is tried again. */
const MAX_RETRY_MS = 2000;

/** A run that ended, waiting for its end to be recorded. */
interface Ending {
  run: Run;
  end: Extract<RunEnd, { status: FinalStatus }>;
}

export class Worker {
  readonly id: string;
  private readonly settings: Settings;
  private readonly heartbeatMs: number;
  private readonly log: (line: string) => void;
  private readonly execute: RunExecutor;
  private readonly repos = new LocalRepos();
  private readonly sessions = new Map<string, Pick<Session, 'id' | 'repo_id' | 'repo_path'>>();
  private readonly subscriptions: Disposable[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private state: WorkerState = 'new';
  private secretBox: SecretBox | undefined;

  /** runs being carried out, by id */
  private readonly executing = new Map<string, { execution: RunExecution; done: Promise<void>; startedMs: number }>();
  /** runs claimed ahead of a free slot, started as slots free up */
  private readonly waiting: Run[] = [];
  /** ends not yet sent; `sending` are in the statement in flight */
  private ending: Ending[] = [];
  private sending: Ending[] = [];

  /** one finish_and_claim statement at a time: the ends of one turn wait for it and go together in the next */
  private inFlight: Promise<void> | undefined;
  private again = false;
  private pumpScheduled = false;
  private pumpTimer: NodeJS.Timeout | undefined;
  private pumpDue = 0;
  private failures = 0;
  /** the next claim answers a queue notification that named this worker */
  private named = false;
  /** moving averages of a run's duration and of a statement's round trip, in ms: how far to claim ahead */
  private runMs: number | undefined;
  private callMs: number | undefined;

  private lastHeartbeatOk = Date.now();
  private stopping: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  private endGrace: () => void = () => undefined;
  private readonly started = new Listeners<[Run]>();
  private readonly finished = new Listeners<[Run, RunEnd]>();
  private readonly changed = new Listeners<[WorkerStatus]>();

  constructor(
    private readonly store: WorkerStore,
    options: WorkerOptions = {},
    hooks: WorkerHooks | ((line: string) => void) = {},
  ) {
    const { log, executor } = typeof hooks === 'function' ? { log: hooks, executor: undefined } : hooks;
    this.settings = WorkerOptions.parse(options);
    this.id = this.settings.id ?? `${os.hostname()}-${process.pid}`;
    this.heartbeatMs = this.settings.heartbeatMs ?? Math.min(5000, Math.floor((this.settings.leaseSeconds * 1000) / 6));
    this.log = log ?? (() => undefined);
    this.execute =
      executor ??
      processExecutor({
        worktreeRoot: this.settings.worktreeRoot ?? defaultWorktreeRoot(),
        copyFiles: this.settings.copyFiles,
        setupCommand: this.settings.setupCommand,
        linkDirs: { dirs: this.settings.linkDirs, mode: this.settings.linkMode },
        executor: this.executorConfig(),
        killGraceMs: this.settings.killGraceMs,
        passEnv: this.settings.passEnv,
        secrets: () => (this.secretBox ??= SecretBox.fromFile(this.settings.secretKeyFile ?? secretKeyFile())),
        resolveRepo: (session) => this.repos.pathFor(session),
      });
  }

  /** Registers the worker and starts claiming. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`worker ${this.id} was already started`);
    for (const folder of this.settings.repos) await this.repos.add(folder);
    await this.discoverRepos();
    await this.store.registerWorker({
      id: this.id,
      host: os.hostname(),
      pid: process.pid,
      concurrency: this.settings.concurrency,
      labels: this.labels(),
      version: this.settings.version,
    });
    this.setState('running');
    this.subscriptions.push(
      this.store.onQueueChange((first) => this.onQueueChange(first)),
      this.store.onCancelRequested((runId) => void this.confirmCancel(runId)),
      this.store.onSessionsChange(() => void this.discoverRepos().then((found) => found && this.pump())),
    );
    this.every(this.settings.pollMs, () => this.pump());
    this.every(this.settings.recoverMs, () => void this.recover());
    this.every(this.heartbeatMs, () => void this.heartbeat());
    this.pump();
  }

  /**
   * Stops claiming, lets running runs finish within `graceMs`, then cancels what is left (TERM, then KILL after the
   * kill grace period), records how every run ended, and resolves once all of it is done.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    // A second stop without grace (a second Ctrl-C) ends the grace period of the first one now.
    if (this.stopping && options.graceMs === 0) this.endGrace();
    this.stopping ??= this.drain(options.graceMs ?? 30_000);
    return this.stopping;
  }

  /** Resolves once nothing this worker can serve is queued or running anywhere, and it runs nothing itself. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.pump();
    });
  }

  status(): WorkerStatus {
    return {
      id: this.id,
      state: this.state,
      capacity: this.settings.concurrency,
      running: [...this.executing.values()].map((e) => e.execution.run),
    };
  }

  onRunStarted(listener: (run: Run) => void): Disposable {
    return this.started.add(listener);
  }

  /** A run ended and its end is recorded (or its lease was lost: `end.status` is then 'lost'). */
  onRunFinished(listener: (run: Run, end: RunEnd) => void): Disposable {
    return this.finished.add(listener);
  }

  onStatusChange(listener: (status: WorkerStatus) => void): Disposable {
    return this.changed.add(listener);
  }

  /** For tests and benchmarks: the process group of a run's command while it runs. */
  processGroupOf(runId: string): number | undefined {
    return this.executing.get(runId)?.execution.processGroup;
  }

  private labels(): Record<string, unknown> {
    return {
      repos: this.repos.ids(),
      agents: availableAgents(this.executorConfig()),
      // how long its silence may last before its runs are taken over: what others judge it stale by
      lease_seconds: this.settings.leaseSeconds,
      ...(this.settings.lanes ? { lanes: this.settings.lanes } : {}),
    };
  }

  private executorConfig(): ExecutorConfig {
    return { agents: this.settings.agents, defaultAgent: this.settings.defaultAgent, prices: this.settings.prices, runEnvNames: this.settings.allowEnv, shells: this.settings.shells };
  }

  private claimFilter(): ClaimFilter {
    return { lanes: this.settings.lanes, sessions: this.settings.sessions, repoIds: this.repos.ids(), leaseSeconds: this.settings.leaseSeconds };
  }

  private setState(state: WorkerState): void {
    this.state = state;
    this.statusChanged();
  }

  private statusChanged(): void {
    if (this.changed.size > 0) this.changed.emit(this.status());
  }

  private every(ms: number, task: () => void): void {
    // a little jitter, so workers started together do not reach the database in step
    this.timers.push(setInterval(task, ms + Math.floor(Math.random() * ms * 0.05)));
  }

  // ---- waking up ----------------------------------------------------------------------------------------------

  /**
   * A queue notification names the worker that claims first (null: everyone). Named, this worker claims now, and
   * passes the news on to everyone when it cannot take what came: no free slot, or a claim that found nothing (not a
   * run it serves) or filled every slot (there may be more). Not named, it claims WAKE_BACKSTOP_MS later.
   */
  private onQueueChange(first: string | null): void {
    if (first === null) return this.pump();
    if (first !== this.id) return this.pumpAfter(WAKE_BACKSTOP_MS);
    if (this.state !== 'running' || this.freeSlots() <= 0) return this.passOn();
    this.named = true;
    this.pump();
  }

  private passOn(): void {
    void this.store.wakeWorkers().catch((e: Error) => this.log(`passing on a queue notification failed: ${e.message}`));
  }

  /** A pump due later; one due sooner wins. */
  private pumpAfter(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.pumpTimer) {
      if (this.pumpDue <= due) return;
      clearTimeout(this.pumpTimer);
    }
    this.pumpDue = due;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, delayMs);
  }

  /** Runs that end in one turn of the event loop share one statement: pump once the turn is over. */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  // ---- recording ends and claiming ----------------------------------------------------------------------------

  /**
   * Claims ahead only as many runs as its slots will start within one round trip, going by the runs it has seen:
   * slots × round trip ÷ run time, at most AHEAD_LIMIT × concurrency. Short runs then come in batches that keep the
   * slots busy while the next statement is on its way; a run longer than a round trip is never claimed ahead, so a
   * claimed run waits at most about one round trip to start and never starves the other workers.
   */
  private ahead(): number {
    if (this.runMs === undefined || this.callMs === undefined) return 0;
    const want = Math.floor((this.settings.concurrency * this.callMs) / Math.max(this.runMs, 0.01));
    return Math.min(want, AHEAD_LIMIT * this.settings.concurrency);
  }

  private freeSlots(): number {
    return Math.max(0, this.settings.concurrency + this.ahead() - this.executing.size - this.waiting.length);
  }

  /** Sends the ends waiting to be recorded and claims for the free slots, in one statement; one in flight at a time. */
  private pump(): void {
    if (this.state === 'new' || this.state === 'stopped') return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    const claiming = this.state === 'running' && !this.stopping;
    const max = claiming ? this.freeSlots() : 0;
    if (this.ending.length === 0 && max === 0) return;
    this.again = false;
    this.sending = this.ending;
    this.ending = [];
    this.inFlight = this.finishAndClaim(this.sending, max).finally(() => {
      this.sending = [];
      this.inFlight = undefined;
    });
  }

  private async finishAndClaim(ends: Ending[], max: number): Promise<void> {
    const named = this.named;
    this.named = false;
    const t0 = performance.now();
    let claimed: Run[];
    try {
      const answer = await this.store.finishAndClaim(this.id, ends.map(endingOf), max, this.claimFilter());
      this.failures = 0;
      this.callMs = average(this.callMs, performance.now() - t0);
      this.recorded(ends, answer.refused);
      claimed = answer.claimed;
    } catch (e) {
      this.failures++;
      this.log(`recording ${ends.length} end(s) and claiming failed: ${(e as Error).message}`);
      // Nothing of a failed statement was committed: its ends are sent again, after a pause that grows.
      this.ending.unshift(...ends);
      this.pumpAfter(Math.min(MAX_RETRY_MS, 50 * 2 ** this.failures));
      return;
    }
    if (named && max > 0 && leavesWorkForOthers(claimed.length, max)) this.passOn();
    for (const run of claimed) {
      // Claimed after stop() began: those runs never start here, so they go back to the queue.
      if (this.stopping) void this.giveBack(run);
      else this.waiting.push(run);
    }
    this.startWaiting();
    // Claim again at once only if the queue may hold more (every slot asked for was filled) or something came up
    // meanwhile; otherwise the next notification, or the poll, brings it back. Asking an empty queue again and again
    // would cost the database what the other workers need.
    const more = (max > 0 && claimed.length === max) || this.again || this.ending.length > 0;
    if (more) setImmediate(() => this.pump());
    else if (claimed.length === 0 && this.executing.size === 0 && this.idleWaiters.length > 0) void this.checkIdle();
  }

  /** The ends the database took are done; a refused one means the run was not this worker's any more. */
  private recorded(ends: Ending[], refused: Run[]): void {
    const now = new Map(refused.map((r) => [r.id, r]));
    for (const { run, end } of ends) {
      const current = now.get(run.id);
      if (!current) {
        this.finished.emit(run, end);
        continue;
      }
      const why = `its end (${end.status}) was not recorded: the run is ${current.status}${current.claimed_by && current.claimed_by !== this.id ? `, held by ${current.claimed_by}` : ''} (attempt ${current.attempt})`;
      this.log(`run ${run.id}: ${why}`);
      this.finished.emit(run, { status: 'lost', error: why });
    }
    this.statusChanged();
  }

  private startWaiting(): void {
    while (this.executing.size < this.settings.concurrency && this.waiting.length > 0) this.begin(this.waiting.shift()!);
  }

  private begin(run: Run): void {
    const execution = this.execute(run, { store: this.store, workerId: this.id });
    const done = execution.execute().then(
      (end) => this.executed(execution, end),
      (e: unknown) => this.executed(execution, { status: 'failed', exitCode: null, error: `the worker could not run it: ${(e as Error).message}` }),
    );
    this.executing.set(run.id, { execution, done, startedMs: performance.now() });
    this.started.emit(run);
    this.statusChanged();
  }

  private executed(execution: RunExecution, end: RunEnd): void {
    const entry = this.executing.get(execution.run.id);
    if (entry?.execution === execution) {
      this.executing.delete(execution.run.id);
      this.runMs = average(this.runMs, performance.now() - entry.startedMs);
    }
    if (isRecordedEnd(end)) {
      this.ending.push({ run: execution.run, end });
    } else {
      // lost: another worker may hold it; parked or requeued: the database moved it already
      if (end.status === 'lost') this.log(`run ${execution.run.id}: ${end.error}`);
      this.finished.emit(execution.run, end);
      this.statusChanged();
    }
    this.startWaiting();
    this.pumpSoon();
  }

  private async giveBack(run: Run): Promise<void> {
    try {
      await this.store.releaseRun({ runId: run.id, workerId: this.id, attempt: run.attempt });
    } catch (e) {
      // Its lease then expires and recover_expired requeues it.
      this.log(`could not give run ${run.id} back to the queue: ${(e as Error).message}`);
    }
  }

  // ---- cancel, leases, recovery -------------------------------------------------------------------------------

  /**
   * A cancel notification is a hint (anyone may send one): the database says whether the run was really asked to stop
   * — the heartbeat's answer for it — before anything is killed.
   */
  private async confirmCancel(runId: string): Promise<void> {
    const held = this.executing.has(runId) || this.waiting.some((r) => r.id === runId);
    if (!held) return;
    try {
      const outcome = (await this.store.heartbeat(this.id, [runId], this.settings.leaseSeconds)).get(runId);
      if (outcome === 'cancel') this.cancel(runId);
      else if (outcome === 'lost') this.lose(runId, 'the heartbeat says another worker holds it now, or it was recovered');
    } catch (e) {
      // the next heartbeat asks again
      this.log(`could not confirm a cancel of run ${runId}: ${(e as Error).message}`);
    }
  }

  /** A run this worker holds was asked to stop: a running one is stopped, a waiting one ends before it starts. */
  private cancel(runId: string): void {
    const executing = this.executing.get(runId);
    if (executing) return executing.execution.cancel('cancel');
    const i = this.waiting.findIndex((r) => r.id === runId);
    if (i === -1) return;
    const [run] = this.waiting.splice(i, 1);
    this.ending.push({ run: run!, end: { status: 'canceled', exitCode: null, error: null } });
    this.pumpSoon();
  }

  /** A run this worker held is another's now (or recovered): it stops here and nothing more is written for it. */
  private lose(runId: string, why: string): void {
    const executing = this.executing.get(runId);
    if (executing) return executing.execution.loseLease(why);
    const i = this.waiting.findIndex((r) => r.id === runId);
    if (i !== -1) this.finished.emit(this.waiting.splice(i, 1)[0]!, { status: 'lost', error: why });
  }

  private async heartbeat(): Promise<void> {
    // Runs whose end is on its way are renewed too: their lease must last until the end is recorded.
    const held = [
      ...[...this.executing.values()].filter((e) => !e.execution.lost).map((e) => e.execution.run),
      ...this.waiting,
      ...this.ending.map((e) => e.run),
      ...this.sending.map((e) => e.run),
    ];
    const sent = Date.now();
    try {
      const outcomes = await this.store.heartbeat(this.id, held.map((r) => r.id), this.settings.leaseSeconds);
      this.lastHeartbeatOk = sent;
      for (const run of held) {
        const outcome = outcomes.get(run.id);
        if (outcome === 'cancel') this.cancel(run.id);
        // An end on its way may have been recorded meanwhile: its answer says, not the heartbeat's.
        else if (outcome === 'lost') this.lose(run.id, 'the heartbeat says another worker holds it now, or it was recovered');
      }
    } catch (e) {
      this.log(`heartbeat failed: ${(e as Error).message}`);
      // Past the lease time another worker may already be running these runs: they stop here, now.
      if (Date.now() - this.lastHeartbeatOk > this.settings.leaseSeconds * 1000) this.loseEverything();
    }
  }

  private loseEverything(): void {
    const why = `no heartbeat reached the database for ${this.settings.leaseSeconds} s`;
    for (const { execution } of this.executing.values()) execution.loseLease(why);
    for (const run of this.waiting.splice(0)) this.finished.emit(run, { status: 'lost', error: why });
    for (const { run } of this.ending.splice(0)) this.finished.emit(run, { status: 'lost', error: why });
  }

  private async recover(): Promise<void> {
    try {
      const recovered = await this.store.recoverExpired();
      for (const r of recovered) this.log(`run ${r.runId}: lease expired, ${r.outcome}`);
      if (recovered.length > 0) this.pump();
    } catch (e) {
      this.log(`recovering expired leases failed: ${(e as Error).message}`);
    }
  }

  // ---- sessions and idleness ----------------------------------------------------------------------------------

  private async discoverRepos(): Promise<boolean> {
    try {
      return await this.repos.discover(await this.store.listSessions());
    } catch (e) {
      this.log(`looking for the sessions' repositories failed: ${(e as Error).message}`);
      return false;
    }
  }

  /** Is anything this worker could serve still queued or running (perhaps held by a worker that died)? */
  private async checkIdle(): Promise<void> {
    const pending = await this.store.listRuns({ status: ['queued', 'running'], limit: 10_000 });
    const repoIds = new Set(this.repos.ids());
    for (const run of pending) {
      if (this.settings.lanes && !this.settings.lanes.includes(run.lane)) continue;
      if (this.settings.sessions && !this.settings.sessions.includes(run.session_id)) continue;
      const session = await this.session(run.session_id);
      if (!session.repo_id || repoIds.has(session.repo_id)) return;
    }
    this.wakeIdleWaiters();
  }

  private wakeIdleWaiters(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async session(id: string): Promise<Pick<Session, 'id' | 'repo_id' | 'repo_path'>> {
    let s = this.sessions.get(id);
    if (!s) {
      s = await this.store.getSession(id);
      this.sessions.set(id, s);
    }
    return s;
  }

  // ---- stopping -----------------------------------------------------------------------------------------------

  private async drain(graceMs: number): Promise<void> {
    if (this.state === 'new' || this.state === 'stopped') {
      this.state = 'stopped';
      return;
    }
    this.setState('draining');
    clearTimeout(this.pumpTimer);
    await this.store.setWorkerState(this.id, 'draining').catch((e: unknown) => this.log(`could not record draining: ${(e as Error).message}`));
    for (const run of this.waiting.splice(0)) await this.giveBack(run);
    await this.finishExecuting(graceMs);
    await this.recordEverything();
    for (const t of this.timers) clearInterval(t);
    for (const s of this.subscriptions) s.dispose();
    await this.store.setWorkerState(this.id, 'stopped').catch((e: unknown) => this.log(`could not record stopped: ${(e as Error).message}`));
    this.setState('stopped');
    this.wakeIdleWaiters();
  }

  /** Running runs get `graceMs` to end; then they are canceled, and waited for. */
  private async finishExecuting(graceMs: number): Promise<void> {
    // A claim in flight may still add runs; they see `stopping` and go back to the queue.
    const everyRun = async () => {
      while (this.executing.size > 0) await Promise.all([...this.executing.values()].map((e) => e.done));
    };
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      this.endGrace = resolve;
    });
    await Promise.race([everyRun(), graceOver]);
    clearTimeout(timer);
    if (this.executing.size > 0) {
      this.log(`canceling ${this.executing.size} run(s) still going after ${graceMs} ms`);
      for (const e of this.executing.values()) e.execution.cancel('shutdown');
      await everyRun();
    }
  }

  /** Sends the last ends; gives up on them (their leases expire and recovery decides) once the lease time is over. */
  private async recordEverything(): Promise<void> {
    const deadline = Date.now() + this.settings.leaseSeconds * 1000;
    while ((this.ending.length > 0 || this.inFlight) && Date.now() < deadline) {
      this.pump();
      await (this.inFlight ?? new Promise((r) => setTimeout(r, 50)));
    }
    if (this.ending.length > 0) this.log(`${this.ending.length} run end(s) could not be recorded; their leases will expire`);
  }
}

const endingOf = ({ run, end }: Ending): RunEnding => ({ runId: run.id, attempt: run.attempt, status: end.status, exitCode: end.exitCode, error: end.error });

/** An exponentially weighted moving average: recent samples count most, one odd sample does not swing it. */
function average(current: number | undefined, sample: number): number {
  return current === undefined ? sample : current * 0.9 + sample * 0.1;
}
