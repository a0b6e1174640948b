// The editor's side of the Runboard protocol (webview/protocol.ts says how a host must behave), as one explicit state:
//
//   waiting    no page is ready yet, or it is hidden: nothing is posted
//   switching  the page asked for another session (selectSession, createSession): its answer goes first, then loading
//   loading    a snapshot is being built; a newer one supersedes it
//   showing    the snapshot is posted; the deltas of its session follow
//   failed     the last snapshot could not be built; the next ready, switch, store change or showing again retries
//   closed     the panel is gone
//
// ready, showing the panel again, a switch and a store change start loading; hiding the panel waits. Besides the state
// it keeps the session the person wants (the target), what the page has been posted, and the count of page loads. The
// sessions and runs come from the SessionsModel only: the shown session is pinned there (with heartbeats: a page that
// is loading or showing is in view) until another is shown or the page is hidden. The steps and artifacts of runbook
// runs are the host's own reads (runbook-parts.ts): steps whenever a runbook run changes, and every 2 s while one is
// running, since a step moves without changing its run's row. The host knows nothing of the panel: the panel hands it
// the page's messages and a way to post back, which is also how the tests drive it.
import { type ExecutorOption, isFinal, type Run, type RunStep, type Session } from '../../domain';
import { OcrError } from '../../worker/store/errors';
import type { Store } from '../../worker/store/store';
import {
  answerRequest,
  dispatchWebviewNotification,
  hostNotification,
  type HostMessage,
  parseWebviewMessage,
  type RequestHandlers,
  type RequestMessage,
  type Snapshot,
  type WebviewNotification,
  type WebviewNotificationHandlers,
} from '../../webview/protocol';
import type { Log } from '../log';
import type { ConflictRadar } from '../lanes/conflict-radar';
import { type Disposable, type Event, heartbeatRefreshMs, isNewerRun, type SessionsModel } from '../sessions/sessions-model';
import { DiffInfos } from './diff-infos';
import { LogFollowers } from './log-followers';
import { requestHandlers, type RunboardActions } from './request-handlers';
import { hasArtifacts, hasSteps, RunbookArtifacts, RunbookSteps } from './runbook-parts';

/** What the host needs of the extension. */
export interface RunboardDeps {
  /** for what the model does not keep: diff summaries and logs */
  store(): Promise<Store>;
  /** the sessions and runs the Sessions tree shows too, and the shown session pinned */
  model: Pick<SessionsModel, 'refresh' | 'allSessions' | 'runs' | 'sessionPorts' | 'pin' | 'loaded' | 'onDidChange' | 'onDidChangeStore'>;
  setActiveSession(id: string): Promise<void>;
  /** the session the palette's commands work on changed ("New Session", "Make Session Active") */
  onDidChangeActiveSession: Event<string | undefined>;
  /** the choices of a lane's executor picker */
  executors(): ExecutorOption[];
  /** what the page's requests do: the functions the palette and the tree's menus call */
  actions: RunboardActions;
  log: Log;
  /** shows an error to the person; the panel passes vscode.window.showErrorMessage */
  showError(message: string): void;
  /** how often the steps of a running runbook run are read again (default: the model's heartbeat refresh, 2 s) */
  stepsRefreshMs?: number;
  /** the conflict radar: which lanes of a session would conflict, looked at again when a session is shown */
  radar?: Pick<ConflictRadar, 'conflicts' | 'refresh' | 'onDidChange'>;
}

/** The page, as the host sees it. */
export interface RunboardPage {
  /** resolves once the message is handed over (to nobody when the page is not loaded) */
  post(message: HostMessage): PromiseLike<unknown>;
  readonly visible: boolean;
}

export type RunboardState =
  | { readonly kind: 'waiting' }
  | { readonly kind: 'switching' }
  | { readonly kind: 'loading' }
  | { readonly kind: 'showing'; readonly sessionId: string | null }
  | { readonly kind: 'failed' }
  | { readonly kind: 'closed' };

/** What the page has been posted since its last snapshot. */
interface Posted {
  /** the model's list as posted (the model makes a new one whenever it reads the list again) */
  sessions: readonly Session[] | undefined;
  /** the shown session's row, as JSON */
  session: string;
  runs: Map<string, Run>;
  /** each runbook run's steps as posted, as JSON, and whether its run had finished when they were read */
  steps: Map<string, { json: string; final: boolean }>;
  /** counts snapshots: steps read before the latest one may be older than what it carried */
  generation: number;
  /** the shown session's lane ports as posted, as JSON */
  ports: string;
}

export class RunboardHost implements Disposable {
  private current: RunboardState = { kind: 'waiting' };
  /** the session the panel was opened for, or last switched to */
  private target: string | undefined;
  /** counts the page's `ready`s: an answer to a request of an earlier load would meet another request with its id */
  private pageLoads = 0;
  private readonly posted: Posted = { sessions: undefined, session: '', runs: new Map(), steps: new Map(), generation: 0, ports: '[]' };
  /** the shown (or loading) session, kept watched by the model */
  private pinned: { sessionId: string; pin: Disposable } | undefined;
  private readonly diffs = new DiffInfos();
  private readonly steps = new RunbookSteps();
  private readonly artifacts = new RunbookArtifacts();
  /** the read of the shown session's steps in flight, and whether another is wanted after it */
  private stepsRead: { again: boolean } | undefined;
  private stepsTimer: ReturnType<typeof setInterval> | undefined;
  private readonly followers: LogFollowers;
  /** a comparison to show once the page shows its session */
  private pendingComparison: { session_id: string; group_id: string } | undefined;
  private readonly handlers: RequestHandlers;
  private readonly subscriptions: Disposable[];

  constructor(
    private readonly deps: RunboardDeps,
    private readonly page: RunboardPage,
    openedFor?: string,
  ) {
    this.target = openedFor;
    this.followers = new LogFollowers((m) => this.post(m), deps.log);
    this.handlers = requestHandlers(deps.actions, {
      selectSession: (id) => this.selectSession(id),
      showCreated: (id) => void (this.target = id),
    });
    this.subscriptions = [
      deps.model.onDidChange(() => this.sendChanges()),
      deps.model.onDidChangeStore(() => this.storeChanged()),
      // "New Session" from the palette, or "Make Session Active" in the tree: the board shows what the person works on.
      deps.onDidChangeActiveSession((id) => id && this.show(id)),
      ...(deps.radar ? [deps.radar.onDidChange((id) => this.postConflicts(id))] : []),
    ];
  }

  /** A message from the page. */
  receive(raw: unknown): void {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) this.refuse(raw, parsed.reason);
    else if (parsed.message.kind === 'request') this.answer(parsed.message);
    else this.notified(parsed.message);
  }

  /** Shows the session (the panel was opened for it, or it became the active one); nothing to do if it is the target. */
  show(sessionId: string): void {
    if (sessionId === this.target) return;
    this.target = sessionId;
    // A switch of the page's own loads once answered; a page out of sight loads when it is back.
    if (this.current.kind !== 'switching') void this.load();
  }

  /** Shows a comparison group of a session in the page's Compare view, once the page shows that session. */
  showComparison(sessionId: string, groupId: string): void {
    this.pendingComparison = { session_id: sessionId, group_id: groupId };
    this.show(sessionId);
    this.postPendingComparison();
  }

  private postPendingComparison(): void {
    const pending = this.pendingComparison;
    if (!pending || this.current.kind !== 'showing' || this.current.sessionId !== pending.session_id || !this.inView()) return;
    this.pendingComparison = undefined;
    void this.post(hostNotification('showCompare', pending));
  }

  /** What the radar knows of the shown session's lanes, when it is the shown one. */
  private postConflicts(sessionId: string): void {
    const found = this.deps.radar?.conflicts(sessionId);
    if (!found || this.current.kind !== 'showing' || this.current.sessionId !== sessionId || !this.inView()) return;
    void this.post(hostNotification('conflicts', found));
  }

  /** The panel's view state changed: hidden, it waits; shown again, it loads (a hidden page missed what was posted). */
  visibilityChanged(): void {
    if (this.current.kind === 'closed') return;
    if (!this.page.visible) this.hide();
    else if (this.current.kind === 'waiting') void this.load();
  }

  dispose(): void {
    this.enter({ kind: 'closed' });
    this.watchSteps(false);
    this.followers.stopAll();
    for (const s of this.subscriptions.splice(0)) s.dispose();
  }

  // ---- the page's messages ------------------------------------------------------------------------------------

  /** Drops what cannot be read; a request is answered even so, or its button would wait for minutes. */
  private refuse(raw: unknown, reason: string): void {
    this.deps.log.warn(`Runboard: dropped a message from the page: ${reason}`);
    const id = typeof raw === 'object' && raw !== null && (raw as { kind?: unknown }).kind === 'request' ? (raw as { id?: unknown }).id : undefined;
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0) {
      void this.post({ kind: 'response', id, ok: false, error: { code: 'invalid_input', message: reason } });
    }
  }

  /** Answers once, to the page that asked; a switch of session loads after its answer. */
  private answer(message: RequestMessage): void {
    const load = this.pageLoads;
    const switches = message.method === 'selectSession' || message.method === 'createSession';
    if (switches && this.inView()) this.enter({ kind: 'switching' });
    void answerRequest(this.handlers, message).then(async (response) => {
      if (!response.ok) this.deps.log.warn(`Runboard: ${message.method} failed: ${response.error.message}`);
      // A page loaded since numbers its requests afresh: the answer could settle one of its own.
      if (load !== this.pageLoads) return;
      await this.post(response);
      if (switches) await this.load();
      // A run queued from the page: its log is followed from now, not from when the page has heard the run exists and
      // asked (a round trip through the page that was most of the wait for its first line). The page keeps the lines
      // of a run it queued (see LogStore.expect) and stops this follower like any other when it does not show the run.
      const queued = message.method === 'run' && response.ok ? (response.result as { run_id?: unknown }).run_id : undefined;
      if (typeof queued === 'string') this.followLog(queued, 0);
    });
  }

  private notified(message: WebviewNotification): void {
    dispatchWebviewNotification(this.notifications, message);
  }

  private readonly notifications: WebviewNotificationHandlers = {
    ready: ({ session_id }) => {
      // A new page: whatever the previous one followed goes nowhere now.
      this.followers.stopAll();
      this.pageLoads++;
      this.deps.log.info('Runboard ready');
      void this.load(session_id);
    },
    followLog: ({ run_id, after_seq }) => this.followLog(run_id, after_seq),
    unfollowLog: ({ run_id }) => this.followers.stop(run_id),
    problem: ({ message }) => this.deps.log.warn(`Runboard page: ${message}`),
  };

  private followLog(runId: string, afterSeq: number): void {
    void this.deps.store().then(
      (store) => this.followers.follow(store, runId, afterSeq),
      (e: unknown) => this.deps.log.warn(`Runboard: cannot follow run ${runId}: ${(e as Error).message}`),
    );
  }

  /** The page picked a session: it becomes the target, and the active one when it is active. */
  private async selectSession(sessionId: string): Promise<void> {
    await this.deps.model.refresh();
    const session = this.deps.model.allSessions.find((s) => s.id === sessionId);
    if (!session) throw new OcrError('not_found', `session ${sessionId} does not exist`);
    this.target = session.id;
    // Picking a session on the board makes it the one the palette's commands and the tree work on.
    if (session.status === 'active') await this.deps.setActiveSession(session.id);
  }

  // ---- states -------------------------------------------------------------------------------------------------

  private enter(next: RunboardState): void {
    this.current = next;
    if (next.kind !== 'showing') this.watchSteps(false);
    if (next.kind === 'waiting' || next.kind === 'failed' || next.kind === 'closed') this.pin(undefined);
  }

  /** Whether the page said `ready` and can be seen: only then is anything posted or loaded. */
  private inView(): boolean {
    return this.pageLoads > 0 && this.page.visible && this.current.kind !== 'closed';
  }

  private hide(): void {
    if (this.current.kind === 'waiting') return;
    this.enter({ kind: 'waiting' });
    this.followers.stopAll();
  }

  private storeChanged(): void {
    // Followers and diff summaries read the old store.
    this.followers.stopAll();
    this.diffs.clear();
    this.steps.clear();
    this.artifacts.clear();
    if (this.current.kind !== 'switching') void this.load();
  }

  /** Builds and posts the snapshot of the session named in `ready`, else the target, else the newest active one. */
  private async load(named?: string | null): Promise<void> {
    if (!this.inView()) return;
    const loading: RunboardState = { kind: 'loading' };
    this.enter(loading);
    try {
      const snapshot = await this.snapshot(loading, named);
      if (!snapshot) return; // superseded
      this.remember(snapshot);
      this.enter({ kind: 'showing', sessionId: snapshot.session?.id ?? null });
      await this.post(hostNotification('snapshot', snapshot));
      this.postPendingComparison();
      if (snapshot.session) {
        this.postConflicts(snapshot.session.id);
        this.deps.radar?.refresh(snapshot.session.id, 0);
      }
      this.sendChanges(); // what changed while it was posted
    } catch (e) {
      if (this.current !== loading) return;
      this.enter({ kind: 'failed' });
      this.deps.log.error('Runboard: could not load its sessions', e);
      this.deps.showError(`Ops Control Room: the Runboard could not load its sessions: ${(e as Error).message}`);
    }
  }

  /** Everything the page needs for one session, or undefined once another load has begun. */
  private async snapshot(loading: RunboardState, named: string | null | undefined): Promise<Snapshot | undefined> {
    const model = this.deps.model;
    await model.refresh();
    if (this.current !== loading) return undefined;
    const chosen = this.choose(model.allSessions, named);
    if (chosen) {
      this.pin(chosen.id);
      await model.loaded(chosen.id);
    }
    const runs = chosen ? [...model.runs(chosen.id)] : [];
    if (this.current !== loading) return undefined;
    const store = await this.deps.store();
    const [diffs, steps, artifacts] = await Promise.all([this.diffs.ofRuns(store, runs), this.steps.ofRuns(store, runs), this.artifacts.ofRuns(store, runs)]);
    if (this.current !== loading) return undefined;
    const sessions = model.allSessions;
    const session = (chosen && sessions.find((s) => s.id === chosen.id)) ?? chosen ?? null;
    return { sessions: [...sessions], session, runs, diffs, steps, artifacts, executors: this.deps.executors(), now: new Date().toISOString(), ports: session ? [...model.sessionPorts(session.id)] : [] };
  }

  private choose(sessions: readonly Session[], named: string | null | undefined): Session | undefined {
    const find = (id: string | null | undefined) => (id ? sessions.find((s) => s.id === id) : undefined);
    return find(named) ?? find(this.target) ?? sessions.find((s) => s.status === 'active');
  }

  private remember(snapshot: Snapshot): void {
    if (snapshot.session) this.target = snapshot.session.id;
    this.posted.sessions = this.deps.model.allSessions;
    this.posted.session = JSON.stringify(snapshot.session);
    this.posted.runs = new Map(snapshot.runs.map((r) => [r.id, r]));
    this.posted.ports = JSON.stringify(snapshot.ports ?? []);
    this.posted.generation++;
    const steps = new Map<string, RunStep[]>();
    for (const step of snapshot.steps) steps.set(step.run_id, [...(steps.get(step.run_id) ?? []), step]);
    this.posted.steps = new Map(snapshot.runs.filter(hasSteps).map((r) => [r.id, { json: JSON.stringify(steps.get(r.id) ?? []), final: isFinal(r.status) }]));
  }

  /** Keeps the session watched by the model, and lets go of the one before. */
  private pin(sessionId: string | undefined): void {
    if (this.pinned?.sessionId === sessionId) return;
    const next = sessionId === undefined ? undefined : { sessionId, pin: this.deps.model.pin(sessionId, { heartbeats: true }) };
    this.pinned?.pin.dispose();
    this.pinned = next;
  }

  // ---- deltas -------------------------------------------------------------------------------------------------

  /** Posts what changed in the model since the page heard: the session list, the shown session's row and runs. */
  private sendChanges(): void {
    const state = this.current;
    if (state.kind !== 'showing') return;
    this.sendSessions();
    if (state.sessionId === null) return;
    this.sendSessionRow(state.sessionId);
    this.sendRuns(state.sessionId);
    this.sendPorts(state.sessionId);
    this.sendSteps(state.sessionId);
  }

  private sendSessions(): void {
    const sessions = this.deps.model.allSessions;
    if (sessions === this.posted.sessions) return;
    this.posted.sessions = sessions;
    void this.post(hostNotification('sessions', { sessions: [...sessions] }));
  }

  private sendSessionRow(sessionId: string): void {
    const session = this.deps.model.allSessions.find((s) => s.id === sessionId);
    const json = JSON.stringify(session);
    if (!session || json === this.posted.session) return;
    this.posted.session = json;
    void this.post(hostNotification('session', { session }));
  }

  /** The shown session's lane ports, when they changed: a lane leased its range, or the session was archived. */
  private sendPorts(sessionId: string): void {
    const ports = this.deps.model.sessionPorts(sessionId);
    const json = JSON.stringify(ports);
    if (json === this.posted.ports) return;
    this.posted.ports = json;
    void this.post(hostNotification('ports', { session_id: sessionId, ports: [...ports] }));
  }

  /** The runs newer than the page has, and the diff of each that has just finished. */
  private sendRuns(sessionId: string): void {
    const changed = this.deps.model.runs(sessionId).filter((r) => isNewerRun(r, this.posted.runs.get(r.id)));
    if (changed.length === 0) return;
    for (const run of changed) this.posted.runs.set(run.id, run);
    void this.post(hostNotification('runs', { session_id: sessionId, runs: changed, now: new Date().toISOString() }));
    const finished = changed.filter((r) => isFinal(r.status) && !this.diffs.has(r.id));
    if (finished.length > 0) void this.sendDiffs(sessionId, finished);
    const leftArtifacts = changed.filter((r) => hasArtifacts(r) && !this.artifacts.has(r.id));
    if (leftArtifacts.length > 0) void this.sendArtifacts(sessionId, leftArtifacts);
  }

  private async sendArtifacts(sessionId: string, runs: readonly Run[]): Promise<void> {
    try {
      const store = await this.deps.store();
      for (const run of runs) {
        const artifacts = await this.artifacts.of(store, run.id);
        if (this.isShowing(sessionId)) await this.post(hostNotification('artifacts', { run_id: run.id, artifacts }));
      }
    } catch (e) {
      this.deps.log.warn(`Runboard: could not list a run's artifacts: ${(e as Error).message}`);
    }
  }

  /**
   * Reads the steps of the shown session's runbook runs that may have moved (every one not seen finished) and posts
   * those that differ from what the page has; one read at a time, and one more after it when asked meanwhile. Keeps
   * the 2 s reads going while one of them is running.
   */
  private sendSteps(sessionId: string): void {
    const runs = this.deps.model.runs(sessionId).filter(hasSteps);
    this.watchSteps(runs.some((r) => r.status === 'running'));
    const due = runs.filter((r) => !this.posted.steps.get(r.id)?.final);
    if (due.length === 0) return;
    if (this.stepsRead) {
      this.stepsRead.again = true;
      return;
    }
    const read = { again: false };
    this.stepsRead = read;
    void this.readSteps(sessionId, due).finally(() => {
      this.stepsRead = undefined;
      if (read.again && this.isShowing(sessionId)) this.sendSteps(sessionId);
    });
  }

  private async readSteps(sessionId: string, runs: readonly Run[]): Promise<void> {
    const generation = this.posted.generation;
    try {
      const store = await this.deps.store();
      for (const run of runs) {
        const steps = await this.steps.of(store, run);
        if (!this.isShowing(sessionId) || generation !== this.posted.generation) return;
        const json = JSON.stringify(steps);
        const final = isFinal(run.status);
        const posted = this.posted.steps.get(run.id);
        this.posted.steps.set(run.id, { json, final });
        if (posted?.json === json || (!posted && steps.length === 0)) continue;
        await this.post(hostNotification('steps', { run_id: run.id, steps }));
      }
    } catch (e) {
      this.deps.log.warn(`Runboard: could not read the steps of a runbook run: ${(e as Error).message}`);
    }
  }

  /** Reads the shown session's steps again every few seconds, or stops. */
  private watchSteps(on: boolean): void {
    if (on && !this.stepsTimer) {
      this.stepsTimer = setInterval(() => {
        if (this.current.kind === 'showing' && this.current.sessionId !== null) this.sendSteps(this.current.sessionId);
      }, this.deps.stepsRefreshMs ?? heartbeatRefreshMs);
    } else if (!on && this.stepsTimer) {
      clearInterval(this.stepsTimer);
      this.stepsTimer = undefined;
    }
  }

  private async sendDiffs(sessionId: string, runs: readonly Run[]): Promise<void> {
    try {
      const store = await this.deps.store();
      for (const run of runs) {
        const diff = await this.diffs.of(store, run.id);
        if (diff && this.isShowing(sessionId)) await this.post(hostNotification('diff', { diff }));
      }
    } catch (e) {
      this.deps.log.warn(`Runboard: could not read a diff summary: ${(e as Error).message}`);
    }
  }

  private isShowing(sessionId: string): boolean {
    return this.current.kind === 'showing' && this.current.sessionId === sessionId;
  }

  private post(message: HostMessage): PromiseLike<unknown> {
    // A hidden page is gone; what is posted meanwhile would reach the next one, which asks afresh with `ready`.
    if (!this.inView()) return Promise.resolve(false);
    return this.page.post(message);
  }
}
