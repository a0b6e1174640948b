// What the editor knows of the queue, and the one place it reads sessions and runs from: every session (archived too)
// and the runs of the sessions it watches, kept live from watchSession. It watches every active session (what the
// Sessions tree shows) and any session someone pins (the Runboard's, even an archived one). For a pin that asks for
// heartbeats it re-reads the session's running runs now and then: a heartbeat renews a lease without changing
// updated_at, so no watch reports it. The tree, the status bar, notifications and the Runboard read it; it needs no
// VS Code at run time, so it is tested like the store.
import { isFinal, type LanePorts, type Run, type Session } from '../../domain';
import { OcrError } from '../../worker/store/errors';
import type { Disposable as StoreDisposable, Store } from '../../worker/store/store';
import type { Log } from '../log';

export interface Disposable {
  dispose(): void;
}

/** VS Code's `Event<T>`: subscribing answers what unsubscribes. */
export type Event<T> = (listener: (e: T) => unknown, thisArgs?: unknown, disposables?: Disposable[]) => Disposable;

/** The few lines of VS Code's EventEmitter the model needs. A listener that throws does not stop the others. */
export class Emitter<T> {
  private readonly listeners = new Set<{ call(e: T): unknown }>();

  constructor(private readonly onListenerError: (e: unknown) => void = () => undefined) {}

  readonly event: Event<T> = (listener, thisArgs, disposables) => {
    const entry = { call: (e: T) => listener.call(thisArgs, e) };
    this.listeners.add(entry);
    const subscription = { dispose: () => void this.listeners.delete(entry) };
    disposables?.push(subscription);
    return subscription;
  };

  fire(e: T): void {
    for (const entry of [...this.listeners]) {
      try {
        entry.call(e);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** What the model needs of the extension's Backend. */
export interface SessionsBackend {
  store(): Promise<Store>;
  /** the store was switched or closed */
  readonly onDidChange: Event<unknown>;
}

export interface RunTransition {
  run: Run;
  previous: Run['status'];
}

/** A run that stopped at an approval gate; `previous` is undefined for a run first seen waiting. */
export interface WaitingRun {
  run: Run;
  previous: Run['status'] | undefined;
}

export interface PinOptions {
  /** re-read the session's running runs every `heartbeatRefreshMs` while it has some */
  heartbeats: boolean;
}

/** How long a failed start of the sessions stands before it is tried again. */
const failedStartRetryMs = 3000;

/** How often a pinned session's running runs are read again for their heartbeats. */
export const heartbeatRefreshMs = 2000;

const time = (s: string | null): number => (s === null ? Number.NEGATIVE_INFINITY : Date.parse(s));

/**
 * Whether `run` says more than `held`, an earlier read of the same run. Heartbeats leave updated_at alone, so of two
 * reads with the same updated_at the one with the later heartbeat (or another lease) is the newer.
 */
export function isNewerRun(run: Run, held: Run | undefined): boolean {
  if (!held) return true;
  const updated = time(run.updated_at) - time(held.updated_at);
  if (updated !== 0) return updated > 0;
  return time(run.heartbeat_at) > time(held.heartbeat_at) || (run.heartbeat_at === held.heartbeat_at && run.lease_expires_at !== held.lease_expires_at);
}

interface Watched {
  watch: StoreDisposable;
  heartbeats?: ReturnType<typeof setInterval>;
  /** the read of its running runs in flight */
  reading?: Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

export class SessionsModel implements Disposable {
  private store: Store | undefined;
  private started: Promise<void> | undefined;
  /** counts store switches: a start begun before one must not install what it read */
  private resets = 0;
  private storeSubscription: StoreDisposable | undefined;
  private everySession: Session[] = [];
  private activeSessions: Session[] = [];
  private readonly runsBySession = new Map<string, Run[]>();
  /** the port ranges of the lanes of each watched session */
  private readonly portsBySession = new Map<string, LanePorts[]>();
  private readonly watched = new Map<string, Watched>();
  private readonly pins = new Map<string, Set<PinOptions>>();
  /** who waits for a watched session's first runs */
  private readonly waiters = new Map<string, Waiter[]>();
  private error: string | undefined;
  private disposed = false;
  private readonly changed = new Emitter<void>((e) => this.log.error('a listener of the sessions failed', e));
  private readonly finished = new Emitter<RunTransition>((e) => this.log.error('a listener of finished runs failed', e));
  private readonly waiting = new Emitter<WaitingRun>((e) => this.log.error('a listener of waiting runs failed', e));
  private readonly storeChanged = new Emitter<void>((e) => this.log.error('a listener of the store switch failed', e));
  private readonly backendSubscription: Disposable;
  private readonly heartbeatRefreshMs: number;

  /** Something in the sessions or their runs changed. */
  readonly onDidChange = this.changed.event;
  /** A run this window saw queued or running has finished, failed or been canceled. */
  readonly onDidFinishRun = this.finished.event;
  /**
   * A run of a watched session stopped at an approval gate: it went to `waiting`, it waits at another gate than when
   * last read, or it was waiting already when its session was first read (an approval asked while nobody watched).
   */
  readonly onDidStartWaiting = this.waiting.event;
  /** The store was switched: what was read from the old one is gone (fires before onDidChange says so). */
  readonly onDidChangeStore = this.storeChanged.event;

  constructor(
    private readonly backend: SessionsBackend,
    private readonly log: Log,
    options: { heartbeatRefreshMs?: number } = {},
  ) {
    this.heartbeatRefreshMs = options.heartbeatRefreshMs ?? heartbeatRefreshMs;
    this.backendSubscription = backend.onDidChange(() => this.reset());
  }

  /** Starts watching, opening the store when nobody has yet. */
  ensureStarted(): Promise<void> {
    if (this.started) return this.started;
    const started: Promise<void> = this.start().catch((e: unknown) => {
      if (this.started !== started) throw e; // a later start reports its own failure
      // The failure stands for a moment: the tree, asking again on the change below, hears it instead of starting
      // again at once (a store that fails fast, such as one not signed in, made that a busy loop). Then it is tried
      // again; a switch of the store (signing in, another database) tries at once.
      const retry = setTimeout(() => {
        if (this.started !== started) return;
        this.started = undefined;
        this.changed.fire();
      }, failedStartRetryMs);
      retry.unref?.();
      const message = (e as Error).message;
      if (message !== this.error) this.log.error('could not load sessions', e);
      this.error = message;
      this.changed.fire();
      throw e;
    });
    this.started = started;
    return started;
  }

  /** Reads the session list again now (starting first when nobody has): for a reader that must see a session just made. */
  async refresh(): Promise<void> {
    const starting = this.started === undefined;
    await this.ensureStarted();
    if (!starting && this.store) await this.reloadSessions(this.store);
  }

  get loadError(): string | undefined {
    return this.error;
  }

  /** The active sessions, newest first: what the Sessions tree shows. */
  get sessions(): readonly Session[] {
    return this.activeSessions;
  }

  /** Every session, archived ones too, newest first; a new array whenever the list was read again. */
  get allSessions(): readonly Session[] {
    return this.everySession;
  }

  /** An active session. */
  session(id: string): Session | undefined {
    return this.activeSessions.find((s) => s.id === id);
  }

  /** The runs of a watched session (active or pinned), newest first. */
  runs(sessionId: string, lane?: string): readonly Run[] {
    const runs = this.runsBySession.get(sessionId) ?? [];
    return lane === undefined ? runs : runs.filter((r) => r.lane === lane);
  }

  /** The port ranges of a watched session's lanes that have one, by lane. */
  sessionPorts(sessionId: string): readonly LanePorts[] {
    return this.portsBySession.get(sessionId) ?? [];
  }

  /** The port range of a watched session's lane (leased when its first run starts), if it has one. */
  lanePorts(sessionId: string, lane: string): LanePorts | undefined {
    return this.portsBySession.get(sessionId)?.find((p) => p.lane === lane);
  }

  run(id: string): Run | undefined {
    for (const runs of this.runsBySession.values()) {
      const found = runs.find((r) => r.id === id);
      if (found) return found;
    }
    return undefined;
  }

  /** Keeps the session watched (archived too) until the answer is disposed; with heartbeats, its running runs fresh. */
  pin(sessionId: string, options: PinOptions): Disposable {
    const pin = { ...options };
    const pins = this.pins.get(sessionId) ?? new Set<PinOptions>();
    pins.add(pin);
    this.pins.set(sessionId, pins);
    this.syncWatches();
    this.ensureStarted().catch(() => undefined); // reported by ensureStarted
    let released = false;
    return {
      dispose: () => {
        if (released) return;
        released = true;
        pins.delete(pin);
        if (pins.size === 0 && this.pins.get(sessionId) === pins) this.pins.delete(sessionId);
        this.syncWatches();
      },
    };
  }

  /**
   * Resolves once the runs of a pinned (or active) session have been read, and when a pin asks for heartbeats, its
   * running runs just now (nobody read their heartbeats while nobody asked); fails when it cannot be watched.
   */
  async loaded(sessionId: string): Promise<void> {
    await this.ensureStarted();
    if (!this.runsBySession.has(sessionId)) await this.firstRuns(sessionId);
    const watched = this.watched.get(sessionId);
    if (watched && this.wantsHeartbeats(sessionId)) await this.readHeartbeats(sessionId, watched);
  }

  private firstRuns(sessionId: string): Promise<void> {
    if (!this.watched.has(sessionId)) return Promise.reject(new OcrError('invalid_state', `session ${sessionId} is not watched: pin it first`));
    return new Promise<void>((resolve, reject) => {
      this.waiters.set(sessionId, [...(this.waiters.get(sessionId) ?? []), { resolve, reject }]);
    });
  }

  // ---- reading ------------------------------------------------------------------------------------------------

  private async start(): Promise<void> {
    const resets = this.resets;
    const store = await this.backend.store();
    if (this.disposed) throw new OcrError('invalid_state', 'the sessions are no longer read');
    // Switched while it opened: the start that follows the switch reads the store in use now.
    if (resets !== this.resets) return this.ensureStarted();
    this.error = undefined;
    this.store = store;
    this.storeSubscription = store.onSessionsChange(() => {
      this.reloadSessions(store).catch((e: unknown) => this.log.error('could not list sessions', e));
    });
    try {
      // the list is read once notifications flow, so a session made after this start is either in it or notified
      await store.listening();
      await this.reloadSessions(store);
    } catch (e) {
      if (this.store === store) this.forgetStore();
      throw e;
    }
    if (resets !== this.resets) return this.ensureStarted();
  }

  private async reloadSessions(store: Store): Promise<void> {
    const sessions = await store.listSessions({ includeArchived: true });
    if (store !== this.store) return;
    this.everySession = sessions;
    this.activeSessions = sessions.filter((s) => s.status === 'active');
    this.syncWatches();
    this.changed.fire();
  }

  /** Watches the active and the pinned sessions, and no other. */
  private syncWatches(): void {
    const store = this.store;
    if (!store) return;
    const wanted = new Set([...this.activeSessions.map((s) => s.id), ...this.pins.keys()]);
    for (const id of [...this.watched.keys()]) {
      if (!wanted.has(id)) this.unwatch(id, new OcrError('invalid_state', `session ${id} is no longer watched`));
    }
    for (const id of wanted) if (!this.watched.has(id)) this.watch(store, id);
    this.syncHeartbeats();
  }

  private watch(store: Store, sessionId: string): void {
    const watch = store.watchSession(sessionId, (snapshot) => this.applySnapshot(sessionId, snapshot.runs, snapshot.ports), {
      onError: (e) => {
        this.log.warn(`watching session ${sessionId}: ${(e as Error).message}`);
        if (!this.runsBySession.has(sessionId)) this.settle(sessionId, e);
      },
    });
    this.watched.set(sessionId, { watch });
  }

  /** Stops watching; who waited for its runs hears `reason`. */
  private unwatch(sessionId: string, reason: unknown): void {
    const watched = this.watched.get(sessionId);
    watched?.watch.dispose();
    if (watched?.heartbeats) clearInterval(watched.heartbeats);
    this.watched.delete(sessionId);
    this.runsBySession.delete(sessionId);
    this.portsBySession.delete(sessionId);
    this.settle(sessionId, reason);
  }

  private applySnapshot(sessionId: string, runs: Run[], ports: LanePorts[]): void {
    const before = this.runsBySession.get(sessionId);
    this.runsBySession.set(sessionId, runs);
    this.portsBySession.set(sessionId, ports);
    if (before) this.reportFinished(before, runs);
    this.reportWaiting(before ?? [], runs);
    this.settle(sessionId);
    this.syncHeartbeats();
    this.changed.fire();
  }

  private reportFinished(before: readonly Run[], runs: readonly Run[]): void {
    const previous = new Map(before.map((r) => [r.id, r.status]));
    for (const run of runs) {
      const was = previous.get(run.id);
      if (was && !isFinal(was) && isFinal(run.status)) this.finished.fire({ run, previous: was });
    }
  }

  private reportWaiting(before: readonly Run[], runs: readonly Run[]): void {
    const previous = new Map(before.map((r) => [r.id, r]));
    for (const run of runs) {
      if (run.status !== 'waiting') continue;
      const was = previous.get(run.id);
      const sameGate = was?.status === 'waiting' && was.approval?.requested_at === run.approval?.requested_at && was.attempt === run.attempt;
      if (!sameGate) this.waiting.fire({ run, previous: was?.status });
    }
  }

  /** Resolves (no error) or rejects who waits for the session's first runs. */
  private settle(sessionId: string, error?: unknown): void {
    const waiters = this.waiters.get(sessionId) ?? [];
    this.waiters.delete(sessionId);
    for (const waiter of waiters) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
  }

  // ---- heartbeats ---------------------------------------------------------------------------------------------

  private syncHeartbeats(): void {
    for (const [sessionId, watched] of this.watched) {
      const wanted = this.wantsHeartbeats(sessionId);
      if (wanted && !watched.heartbeats) {
        watched.heartbeats = setInterval(() => void this.readHeartbeats(sessionId, watched), this.heartbeatRefreshMs);
      } else if (!wanted && watched.heartbeats) {
        clearInterval(watched.heartbeats);
        watched.heartbeats = undefined;
      }
    }
  }

  private wantsHeartbeats(sessionId: string): boolean {
    const asked = [...(this.pins.get(sessionId) ?? [])].some((pin) => pin.heartbeats);
    return asked && this.runs(sessionId).some((r) => r.status === 'running');
  }

  /** Reads the session's running runs again, or joins the read in flight. Never fails: a failure is logged. */
  private readHeartbeats(sessionId: string, watched: Watched): Promise<void> {
    const store = this.store;
    if (!store) return Promise.resolve();
    watched.reading ??= store
      .listRuns({ sessionId, status: ['running'] })
      .then(
        (running) => void (this.watched.get(sessionId) === watched && this.mergeRuns(sessionId, running)),
        (e: unknown) => this.log.warn(`could not read the running runs of session ${sessionId}: ${(e as Error).message}`),
      )
      .finally(() => (watched.reading = undefined));
    return watched.reading;
  }

  /** Takes the newer of each run it holds; says so only when one was newer. */
  private mergeRuns(sessionId: string, fresh: readonly Run[]): void {
    const held = this.runsBySession.get(sessionId);
    if (!held) return;
    const byId = new Map(fresh.map((r) => [r.id, r]));
    let newer = false;
    const merged = held.map((run) => {
      const read = byId.get(run.id);
      if (!read || !isNewerRun(read, run)) return run;
      newer = true;
      return read;
    });
    if (!newer) return;
    this.runsBySession.set(sessionId, merged);
    this.changed.fire();
  }

  // ---- the store goes -----------------------------------------------------------------------------------------

  /** The store was switched: everything read from it goes; the pins stay and are watched again on the next start. */
  private reset(): void {
    this.resets++;
    this.forgetStore();
    this.started = undefined;
    // Who waits for a pinned session hears from the next store; the others would wait for nothing.
    for (const id of [...this.waiters.keys()]) {
      if (!this.pins.has(id)) this.settle(id, new OcrError('invalid_state', 'the database was switched'));
    }
    this.storeChanged.fire();
    this.changed.fire();
  }

  private forgetStore(): void {
    for (const [id, watched] of [...this.watched]) {
      watched.watch.dispose();
      if (watched.heartbeats) clearInterval(watched.heartbeats);
      this.watched.delete(id);
    }
    this.storeSubscription?.dispose();
    this.storeSubscription = undefined;
    this.store = undefined;
    this.runsBySession.clear();
    this.portsBySession.clear();
    this.everySession = [];
    this.activeSessions = [];
  }

  dispose(): void {
    this.disposed = true;
    this.resets++;
    this.forgetStore();
    for (const id of [...this.waiters.keys()]) this.settle(id, new OcrError('invalid_state', 'the sessions are no longer read'));
    this.backendSubscription.dispose();
    this.changed.dispose();
    this.finished.dispose();
    this.waiting.dispose();
    this.storeChanged.dispose();
  }
}
