// The worker: a number of slots, filled with runs claimed from the queue. It wakes on NOTIFY and polls as a fallback,
// renews all its leases with one heartbeat, gives expired leases of dead workers back to the queue, and drains on
// stop. It runs the same way in the `ocr worker` process and inside the editor.
import os from 'node:os';
import { z } from 'zod';
import type { Disposable, Store } from '../store/store';
import { laneName, type Run, type Session } from '../../domain';
import { AgentProfiles, availableAgents, type ExecutorConfig } from './executors';
import { LocalRepos } from './repo';
import { ActiveRun, type RunEnd } from './run';
import { leavesWorkForOthers, WAKE_BACKSTOP_MS } from './wake';
import { defaultCopyFiles, defaultWorktreeRoot } from './worktree';

export const WorkerOptions = z.object({
  id: z.string().trim().min(1).max(200).optional(),
  concurrency: z.number().int().min(1).max(256).default(4),
  /** only these lanes */
  lanes: z.array(laneName).min(1).optional(),
  /** only these sessions */
  sessions: z.array(z.string().uuid()).min(1).optional(),
  /** local clones it serves, besides those sessions were started from on this machine */
  repos: z.array(z.string().min(1)).default([]),
  leaseSeconds: z.number().int().min(2).max(3600).default(30),
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
  agents: AgentProfiles.optional(),
  defaultAgent: z.string().min(1).optional(),
  version: z.string().optional(),
});
export type WorkerOptions = z.input<typeof WorkerOptions>;
type Settings = z.output<typeof WorkerOptions>;

export type WorkerState = 'new' | 'running' | 'draining' | 'stopped';

export interface WorkerStatus {
  id: string;
  state: WorkerState;
  capacity: number;
  running: Run[];
}

type Listener<A extends unknown[]> = (...args: A) => void;

class Listeners<A extends unknown[]> {
  private readonly set = new Set<Listener<A>>();
  add(l: Listener<A>): Disposable {
    this.set.add(l);
    return { dispose: () => this.set.delete(l) };
  }
  emit(...args: A): void {
    for (const l of [...this.set]) {
      try {
        l(...args);
      } catch {
        // a listener's failure is its own; the worker goes on
      }
    }
  }
}

export class Worker {
  readonly id: string;
  private readonly settings: Settings;
  private readonly heartbeatMs: number;
  private readonly repos = new LocalRepos();
  private readonly active = new Map<string, { run: ActiveRun; done: Promise<void> }>();
  private readonly subscriptions: Disposable[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly sessions = new Map<string, Pick<Session, 'id' | 'repo_id' | 'repo_path'>>();
  private state: WorkerState = 'new';
  private claiming = false;
  private claimAgain = false;
  private claimTimer: NodeJS.Timeout | undefined;
  private claimDue = 0;
  /** the next claim answers a queue notification that named this worker */
  private named = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastHeartbeatOk = Date.now();
  private stopping: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];
  private endGrace: () => void = () => undefined;
  private readonly log: (line: string) => void;
  private readonly started = new Listeners<[Run]>();
  private readonly finished = new Listeners<[Run, RunEnd]>();
  private readonly changed = new Listeners<[WorkerStatus]>();

  constructor(
    private readonly store: Store,
    options: WorkerOptions = {},
    log?: (line: string) => void,
  ) {
    this.settings = WorkerOptions.parse(options);
    this.id = this.settings.id ?? `${os.hostname()}-${process.pid}`;
    this.heartbeatMs = this.settings.heartbeatMs ?? Math.min(5000, Math.floor((this.settings.leaseSeconds * 1000) / 6));
    this.log = log ?? (() => undefined);
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
      this.store.onCancelRequested((runId) => this.active.get(runId)?.run.cancel('cancel')),
      this.store.onSessionsChange(() => void this.discoverRepos().then((found) => found && this.claimSoon())),
    );
    this.every(this.settings.pollMs, () => this.claimSoon());
    this.every(this.settings.recoverMs, () => void this.recover());
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.heartbeatMs);
    this.claimSoon(0);
  }

  /**
   * Stops claiming, lets running runs finish within `graceMs`, then cancels what is left (TERM, then KILL after the
   * kill grace period) and resolves once every run has been written off.
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
      this.claimSoon(0);
    });
  }

  status(): WorkerStatus {
    return {
      id: this.id,
      state: this.state,
      capacity: this.settings.concurrency,
      running: [...this.active.values()].map((a) => a.run.run),
    };
  }

  onRunStarted(listener: (run: Run) => void): Disposable {
    return this.started.add(listener);
  }

  onRunFinished(listener: (run: Run, end: RunEnd) => void): Disposable {
    return this.finished.add(listener);
  }

  onStatusChange(listener: (status: WorkerStatus) => void): Disposable {
    return this.changed.add(listener);
  }

  /** For tests and benchmarks: the process group of a run's command while it runs. */
  processGroupOf(runId: string): number | undefined {
    return this.active.get(runId)?.run.processGroup;
  }

  private labels(): Record<string, unknown> {
    return {
      repos: this.repos.ids(),
      agents: availableAgents(this.executorConfig()),
      ...(this.settings.lanes ? { lanes: this.settings.lanes } : {}),
    };
  }

  private executorConfig(): ExecutorConfig {
    return { agents: this.settings.agents, defaultAgent: this.settings.defaultAgent };
  }

  private setState(state: WorkerState): void {
    this.state = state;
    this.changed.emit(this.status());
  }

  private every(ms: number, task: () => void): void {
    this.timers.push(setInterval(task, ms));
  }

  /**
   * A queue notification names the worker that claims first (null: everyone). Named, this worker claims now, and
   * passes the news on to everyone when it cannot take what came: no free slot, or a claim that found nothing (not a
   * run it serves) or filled every slot (there may be more). Not named, it claims WAKE_BACKSTOP_MS later.
   */
  private onQueueChange(first: string | null): void {
    if (first === null) return this.claimSoon();
    if (first !== this.id) return this.claimSoon(WAKE_BACKSTOP_MS);
    if (this.state !== 'running' || this.active.size >= this.settings.concurrency) return this.passOn();
    this.named = true;
    this.claimSoon(0);
  }

  private passOn(): void {
    void this.store.wakeWorkers().catch((e: Error) => this.log(`passing on a queue notification failed: ${e.message}`));
  }

  /** Coalesces a burst of wake-ups (one NOTIFY per finished run) into one claim; a claim due sooner wins. */
  private claimSoon(delayMs = 10): void {
    if (this.state !== 'running') return;
    const due = Date.now() + delayMs;
    if (this.claimTimer) {
      if (this.claimDue <= due) return;
      clearTimeout(this.claimTimer);
    }
    this.claimDue = due;
    this.claimTimer = setTimeout(() => {
      this.claimTimer = undefined;
      void this.claim();
    }, delayMs);
  }

  private async claim(): Promise<void> {
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    try {
      do {
        this.claimAgain = false;
        const free = this.settings.concurrency - this.active.size;
        // With no slot free, the next run to finish calls claim again.
        if (this.state !== 'running' || free <= 0) break;
        const named = this.named;
        this.named = false;
        const runs = await this.store.claimRuns(this.id, free, {
          lanes: this.settings.lanes,
          sessions: this.settings.sessions,
          repoIds: this.repos.ids(),
          leaseSeconds: this.settings.leaseSeconds,
        });
        if (named && leavesWorkForOthers(runs.length, free)) this.passOn();
        for (const run of runs) {
          // A claim answered after stop() began: those runs never started here, so they go back to the queue.
          if (this.stopping) await this.giveBack(run);
          else this.begin(run);
        }
        if (runs.length === 0 && this.active.size === 0 && this.idleWaiters.length > 0) await this.checkIdle();
      } while (this.claimAgain);
    } catch (e) {
      this.log(`claiming failed: ${(e as Error).message}`);
    } finally {
      this.claiming = false;
    }
  }

  private begin(run: Run): void {
    const active = new ActiveRun(this.store, run, {
      workerId: this.id,
      worktreeRoot: this.settings.worktreeRoot ?? defaultWorktreeRoot(),
      copyFiles: this.settings.copyFiles,
      setupCommand: this.settings.setupCommand,
      executor: this.executorConfig(),
      killGraceMs: this.settings.killGraceMs,
      resolveRepo: (session) => this.repos.pathFor(session),
    });
    const done = active.execute().then(
      (end) => this.settle(active, end),
      (e: unknown) => {
        this.log(`run ${run.id} ended with an error: ${(e as Error).message}`);
        this.settle(active, { status: 'lost', error: (e as Error).message });
      },
    );
    // This worker held an earlier attempt of the same run (its heartbeat came too late and the run was recovered):
    // that attempt is lost for certain.
    this.active.get(run.id)?.run.loseLease(`the run was claimed again, attempt ${run.attempt}`);
    this.active.set(run.id, { run: active, done });
    this.started.emit(run);
    this.changed.emit(this.status());
  }

  private async giveBack(run: Run): Promise<void> {
    try {
      await this.store.releaseRun({ runId: run.id, workerId: this.id, attempt: run.attempt });
    } catch (e) {
      // Its lease then expires and recover_expired requeues it.
      this.log(`could not give run ${run.id} back to the queue: ${(e as Error).message}`);
    }
  }

  private settle(active: ActiveRun, end: RunEnd): void {
    if (this.active.get(active.run.id)?.run === active) this.active.delete(active.run.id);
    if (end.status === 'lost') this.log(`run ${active.run.id}: ${end.error}`);
    this.finished.emit(active.run, end);
    this.changed.emit(this.status());
    this.claimSoon(0);
  }

  private async heartbeat(): Promise<void> {
    const held = [...this.active.values()].filter((a) => !a.run.lost).map((a) => a.run);
    const sent = Date.now();
    try {
      const outcomes = await this.store.heartbeat(this.id, held.map((r) => r.run.id), this.settings.leaseSeconds);
      this.lastHeartbeatOk = sent;
      for (const run of held) {
        const outcome = outcomes.get(run.run.id);
        if (outcome === 'cancel') run.cancel('cancel');
        // A run that has just finished is no longer running either; that is not a lost lease.
        else if (outcome === 'lost' && !run.isFinishing) run.loseLease('the heartbeat says another worker holds it now, or it was recovered');
      }
    } catch (e) {
      this.log(`heartbeat failed: ${(e as Error).message}`);
      // Past the lease time another worker may already be running these runs: they stop here, now.
      if (Date.now() - this.lastHeartbeatOk > this.settings.leaseSeconds * 1000) {
        for (const run of held) run.loseLease(`no heartbeat reached the database for ${this.settings.leaseSeconds} s`);
      }
    }
  }

  private async recover(): Promise<void> {
    try {
      const recovered = await this.store.recoverExpired();
      for (const r of recovered) this.log(`run ${r.runId}: lease expired, ${r.outcome}`);
      if (recovered.length > 0) this.claimSoon(0);
    } catch (e) {
      this.log(`recovering expired leases failed: ${(e as Error).message}`);
    }
  }

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

  private async drain(graceMs: number): Promise<void> {
    if (this.state === 'new' || this.state === 'stopped') {
      this.state = 'stopped';
      return;
    }
    this.setState('draining');
    clearTimeout(this.claimTimer);
    await this.store.setWorkerState(this.id, 'draining').catch((e: unknown) => this.log(`could not record draining: ${(e as Error).message}`));
    // A claim in flight may still add runs; they see `stopping` and are canceled right away.
    const everyRun = async () => {
      while (this.active.size > 0) await Promise.all([...this.active.values()].map((a) => a.done));
    };
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
      this.endGrace = resolve;
    });
    await Promise.race([everyRun(), graceOver]);
    clearTimeout(timer);
    if (this.active.size > 0) {
      this.log(`canceling ${this.active.size} run(s) still going after ${graceMs} ms`);
      for (const a of this.active.values()) a.run.cancel('shutdown');
      await everyRun();
    }
    for (const t of this.timers) clearInterval(t);
    clearInterval(this.heartbeatTimer);
    for (const s of this.subscriptions) s.dispose();
    await this.store.setWorkerState(this.id, 'stopped').catch((e: unknown) => this.log(`could not record stopped: ${(e as Error).message}`));
    this.setState('stopped');
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
