// The editor's side of the Runboard protocol (webview/protocol.ts says how a host must behave): it answers the page's
// `ready` with a snapshot of one session, keeps the page current with deltas of that session, streams the logs the page
// asks for, and answers the page's requests. It knows nothing of the panel: the panel hands it the page's messages and
// a way to post back, which is also how the extension-host tests drive it.
import * as vscode from 'vscode';
import type { Disposable as StoreDisposable, Store } from '../../worker/store/store';
import { isFinal, type Run, type Session } from '../../domain';
import { answerRequest, type ExecutorOption, hostNotification, type HostMessage, parseWebviewMessage, type RequestHandlers, type WebviewNotification } from '../../webview/protocol';
import type { Log } from '../log';
import type { SessionsModel } from '../sessions/sessions-model';
import { DiffInfos } from './diff-infos';
import { LogFollowers } from './log-followers';
import { requestHandlers, type RunboardActions } from './request-handlers';

/** What the host needs of the extension. */
export interface RunboardDeps {
  store(): Promise<Store>;
  /** the live sessions and runs the Sessions tree shows too: the host reads its deltas from there */
  model: Pick<SessionsModel, 'ensureStarted' | 'session' | 'runs' | 'onDidChange'>;
  /** the store was switched (another database): everything read from the old one is stale */
  onDidChangeStore: vscode.Event<unknown>;
  setActiveSession(id: string): Promise<void>;
  onDidChangeActiveSession: vscode.Event<string | undefined>;
  /** the choices of a lane's executor picker */
  executors(): ExecutorOption[];
  /** what the page's requests do: the functions the palette and the tree's menus call */
  actions: RunboardActions;
  log: Log;
  /** shows an error to the person; the panel passes vscode.window.showErrorMessage */
  showError(message: string): void;
}

/** The page, as the host sees it. */
export interface RunboardPage {
  /** resolves once the message is handed over (to nobody when the page is not loaded) */
  post(message: HostMessage): PromiseLike<unknown>;
  readonly visible: boolean;
}

/** How often the runs of a shown session with running runs are read again, for their heartbeats. */
export const heartbeatRefreshMs = 2000;

const time = (s: string | null): number => (s === null ? Number.NEGATIVE_INFINITY : Date.parse(s));

/**
 * Whether `run` tells the page more than `held`, the version it has. Heartbeats leave updated_at alone, so of two reads
 * with the same updated_at the one with the later heartbeat is the newer: the model's snapshot may be older than the
 * host's own heartbeat read.
 */
function isNewer(run: Run, held: Run | undefined): boolean {
  if (!held) return true;
  const updated = time(run.updated_at) - time(held.updated_at);
  if (updated !== 0) return updated > 0;
  return time(run.heartbeat_at) > time(held.heartbeat_at) || (run.heartbeat_at === held.heartbeat_at && run.lease_expires_at !== held.lease_expires_at);
}

export class RunboardHost implements vscode.Disposable {
  /** the page said `ready`: posting before that would be lost */
  private ready = false;
  /** counts the page's loads: an answer to a request of an earlier load would meet another request with its id */
  private pageLoads = 0;
  /** the session the panel was opened for or last switched to */
  private target: string | undefined;
  /** the session of the last snapshot posted */
  private shownId: string | null = null;
  private shownSession = '';
  /** the runs of the shown session as the page has them */
  private readonly posted = new Map<string, Run>();
  /** increases with every snapshot begun: a snapshot that is no longer the newest is not posted */
  private generation = 0;
  private building = 0;
  private snapshotAfterResponse = false;
  /** the page's session switches in flight, whose active-session events the host must not follow back */
  private switching = 0;
  private storeState: { store: Store; subscription: StoreDisposable } | undefined;
  /** the shown session's runs when the model does not watch it (an archived session) */
  private ownWatch: { sessionId: string; watch: StoreDisposable } | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private wasVisible: boolean;
  private readonly diffs = new DiffInfos();
  private readonly followers: LogFollowers;
  private readonly handlers: RequestHandlers;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    private readonly deps: RunboardDeps,
    private readonly page: RunboardPage,
    openedFor?: string,
  ) {
    this.target = openedFor;
    this.wasVisible = page.visible;
    this.followers = new LogFollowers((m) => this.post(m), deps.log);
    this.handlers = requestHandlers(deps.actions, {
      selectSession: (id) => this.selectSession(id),
      showCreated: (id) => {
        this.target = id;
        this.snapshotAfterResponse = true;
      },
    });
    this.disposables.push(
      deps.model.onDidChange(() => this.modelChanged()),
      deps.onDidChangeStore(() => this.storeChanged()),
      deps.onDidChangeActiveSession((id) => {
        // "New Session" from the palette, or "Make Session Active" in the tree: the Runboard shows what the person
        // is working on. Its own switches already show it.
        if (id && this.switching === 0) this.show(id);
      }),
    );
  }

  /** A message from the page. */
  receive(raw: unknown): void {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.deps.log.warn(`Runboard: dropped a message from the page: ${parsed.reason}`);
      // A request is answered even so, or its button would wait for minutes.
      const id = typeof raw === 'object' && raw !== null && (raw as { kind?: unknown }).kind === 'request' ? (raw as { id?: unknown }).id : undefined;
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0) {
        void this.post({ kind: 'response', id, ok: false, error: { code: 'invalid_input', message: parsed.reason } });
      }
      return;
    }
    const message = parsed.message;
    if (message.kind === 'request') {
      // The page's own switches show the session after the response; the active-session event they cause is theirs.
      const switches = message.method === 'selectSession' || message.method === 'createSession';
      if (switches) this.switching++;
      const load = this.pageLoads;
      void answerRequest(this.handlers, message).then(async (response) => {
        if (switches) this.switching--;
        if (!response.ok) this.deps.log.warn(`Runboard: ${message.method} failed: ${response.error.message}`);
        // A page loaded since numbers its requests afresh: the answer could settle one of its own.
        if (load === this.pageLoads) await this.post(response);
        if (this.snapshotAfterResponse) {
          this.snapshotAfterResponse = false;
          await this.snapshot();
        }
      });
      return;
    }
    this.notified(message);
  }

  private notified(message: WebviewNotification): void {
    switch (message.method) {
      case 'ready':
        // A new page: whatever the previous one followed goes nowhere now.
        this.followers.stopAll();
        this.ready = true;
        this.pageLoads++;
        this.deps.log.info('Runboard ready');
        void this.snapshot(message.params.session_id);
        break;
      case 'followLog': {
        const { run_id, after_seq } = message.params;
        void this.deps.store().then(
          (store) => this.followers.follow(store, run_id, after_seq),
          (e: unknown) => this.deps.log.warn(`Runboard: cannot follow run ${run_id}: ${(e as Error).message}`),
        );
        break;
      }
      case 'unfollowLog':
        this.followers.stop(message.params.run_id);
        break;
      case 'problem':
        this.deps.log.warn(`Runboard page: ${message.params.message}`);
        break;
    }
  }

  /** Shows the session (the panel was opened for it, or it became the active one). */
  show(sessionId: string): void {
    this.target = sessionId;
    if (sessionId !== this.shownId) void this.snapshot();
  }

  /** The panel's view state changed. A hidden page misses messages and a shown one may be new: it gets a snapshot. */
  visibilityChanged(): void {
    if (this.page.visible === this.wasVisible) return; // only moved or focused
    this.wasVisible = this.page.visible;
    if (this.page.visible) {
      void this.snapshot();
      return;
    }
    this.followers.stopAll();
    this.scheduleHeartbeats();
  }

  private async selectSession(sessionId: string): Promise<void> {
    const store = await this.deps.store();
    const session = await store.getSession(sessionId);
    this.target = session.id;
    this.snapshotAfterResponse = true;
    // Picking a session on the board makes it the one the palette's commands and the tree work on.
    if (session.status === 'active') await this.deps.setActiveSession(session.id);
  }

  // ---- snapshot -----------------------------------------------------------------------------------------------

  /**
   * Posts everything the page needs for one session. `named` is the session the page showed before it reloaded; after
   * it come the panel's target and the newest active session.
   */
  async snapshot(named?: string | null): Promise<void> {
    if (!this.ready || this.disposed) return;
    const generation = ++this.generation;
    this.building++;
    try {
      const store = await this.deps.store();
      this.subscribe(store);
      // The model feeds the deltas; it starts once and reports its own failures.
      this.deps.model.ensureStarted().catch(() => undefined);
      const sessions = await store.listSessions({ includeArchived: true });
      const find = (id: string | null | undefined) => (id ? sessions.find((s) => s.id === id) : undefined);
      const session = find(named) ?? find(this.target) ?? sessions.find((s) => s.status === 'active') ?? null;
      const runs = session ? await store.listRuns({ sessionId: session.id, limit: 10_000 }) : [];
      const diffs = await this.diffs.ofRuns(store, runs);
      if (generation !== this.generation || !this.ready || this.disposed) return;

      this.shownId = session?.id ?? null;
      if (session) this.target = session.id;
      this.shownSession = JSON.stringify(session);
      this.posted.clear();
      for (const run of runs) this.posted.set(run.id, run);
      await this.post(hostNotification('snapshot', { sessions, session, runs, diffs, executors: this.deps.executors(), now: new Date().toISOString() }));
      this.watchShown(store);
    } catch (e) {
      if (generation !== this.generation || this.disposed) return;
      this.deps.log.error('Runboard: could not load its sessions', e);
      this.deps.showError(`Ops Control Room: the Runboard could not load its sessions: ${(e as Error).message}`);
    } finally {
      this.building--;
    }
    // What changed while the snapshot was read.
    if (generation === this.generation) this.modelChanged();
    this.scheduleHeartbeats();
  }

  // ---- deltas -------------------------------------------------------------------------------------------------

  private modelChanged(): void {
    if (!this.ready || this.building > 0 || !this.shownId) return;
    const session = this.deps.model.session(this.shownId);
    if (!session) {
      // Archived since: the model lets go of it, so the host watches it itself.
      void this.deps.store().then((store) => this.watchShown(store), () => undefined);
      return;
    }
    this.sessionRow(session);
    this.sendRuns(this.shownId, this.deps.model.runs(this.shownId));
  }

  private sessionRow(session: Session): void {
    const json = JSON.stringify(session);
    if (json === this.shownSession || session.id !== this.shownId) return;
    this.shownSession = json;
    void this.post(hostNotification('session', { session }));
  }

  /** Posts the runs the page has not seen in this state, and the diff of each that has just finished. */
  private sendRuns(sessionId: string, runs: readonly Run[]): void {
    if (sessionId !== this.shownId || this.building > 0) return;
    const changed = runs.filter((r) => isNewer(r, this.posted.get(r.id)));
    if (changed.length === 0) return;
    for (const run of changed) this.posted.set(run.id, run);
    void this.post(hostNotification('runs', { session_id: sessionId, runs: changed, now: new Date().toISOString() }));
    const finished = changed.filter((r) => isFinal(r.status) && !this.diffs.has(r.id));
    if (finished.length > 0) void this.sendDiffs(sessionId, finished);
    this.scheduleHeartbeats();
  }

  private async sendDiffs(sessionId: string, runs: readonly Run[]): Promise<void> {
    try {
      const store = await this.deps.store();
      for (const run of runs) {
        const diff = await this.diffs.of(store, run.id);
        if (diff && sessionId === this.shownId) await this.post(hostNotification('diff', { diff }));
      }
    } catch (e) {
      this.deps.log.warn(`Runboard: could not read a diff summary: ${(e as Error).message}`);
    }
  }

  /** Sessions were created, archived or renamed: the page gets the whole list (archived ones too). */
  private async sessionsChanged(store: Store): Promise<void> {
    if (!this.ready || this.disposed) return;
    try {
      const sessions = await store.listSessions({ includeArchived: true });
      await this.post(hostNotification('sessions', { sessions }));
      const shown = sessions.find((s) => s.id === this.shownId);
      if (shown) this.sessionRow(shown);
      this.watchShown(store);
    } catch (e) {
      this.deps.log.warn(`Runboard: could not list the sessions: ${(e as Error).message}`);
    }
  }

  /** Watches the shown session itself while the model does not (it watches active sessions only). */
  private watchShown(store: Store): void {
    const id = this.shownId;
    const needed = id !== null && this.deps.model.session(id) === undefined;
    if (this.ownWatch && (!needed || this.ownWatch.sessionId !== id)) {
      this.ownWatch.watch.dispose();
      this.ownWatch = undefined;
    }
    if (!needed || this.ownWatch || this.disposed) return;
    this.ownWatch = {
      sessionId: id,
      watch: store.watchSession(id, ({ session, runs }) => {
        this.sessionRow(session);
        this.sendRuns(session.id, runs);
      }, { onError: (e) => this.deps.log.warn(`Runboard: watching session ${id}: ${(e as Error).message}`) }),
    };
  }

  // ---- heartbeats ---------------------------------------------------------------------------------------------

  /**
   * Heartbeats renew a lease without changing a run's status, so no watch reports them; the page's liveness dot needs
   * them. While the shown session has a running run and the page is in view, its running runs are read again.
   */
  private scheduleHeartbeats(): void {
    const running = [...this.posted.values()].some((run) => run.status === 'running');
    const wanted = this.ready && !this.disposed && this.page.visible && this.shownId !== null && running;
    if (wanted && !this.heartbeatTimer) this.heartbeatTimer = setInterval(() => void this.refreshHeartbeats(), heartbeatRefreshMs);
    else if (!wanted && this.heartbeatTimer) {
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
    }
  }

  private async refreshHeartbeats(): Promise<void> {
    const sessionId = this.shownId;
    if (this.refreshing || !sessionId || this.building > 0) return;
    this.refreshing = true;
    try {
      const store = await this.deps.store();
      this.sendRuns(sessionId, await store.listRuns({ sessionId, status: ['running'] }));
    } catch (e) {
      this.deps.log.warn(`Runboard: could not refresh the running runs: ${(e as Error).message}`);
    } finally {
      this.refreshing = false;
      this.scheduleHeartbeats();
    }
  }

  // ---- plumbing -----------------------------------------------------------------------------------------------

  private subscribe(store: Store): void {
    if (this.storeState?.store === store) return;
    this.storeState?.subscription.dispose();
    this.storeState = { store, subscription: store.onSessionsChange(() => void this.sessionsChanged(store)) };
  }

  private storeChanged(): void {
    this.storeState?.subscription.dispose();
    this.storeState = undefined;
    this.ownWatch?.watch.dispose();
    this.ownWatch = undefined;
    this.followers.stopAll();
    this.diffs.clear();
    this.posted.clear();
    void this.snapshot();
  }

  private post(message: HostMessage): PromiseLike<unknown> {
    // A hidden page is gone; what is posted meanwhile would reach the next one, which asks afresh with `ready`.
    if (!this.ready || this.disposed || !this.page.visible) return Promise.resolve(false);
    return this.page.post(message);
  }

  dispose(): void {
    this.disposed = true;
    this.followers.stopAll();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.ownWatch?.watch.dispose();
    this.storeState?.subscription.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
