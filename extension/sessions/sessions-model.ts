// What the editor knows of the queue: the active sessions and their runs, kept live from watchSession (no polling
// here; the store's listener has its own fallback). The tree, the status bar, notifications and the Runboard read it.
import * as vscode from 'vscode';
import type { Disposable as StoreDisposable, Store } from '../../worker/store/store';
import { isFinal, type Run, type Session } from '../../domain';
import type { Backend } from '../backend';
import type { Log } from '../log';

export interface RunTransition {
  run: Run;
  previous: Run['status'];
}

export class SessionsModel implements vscode.Disposable {
  private sessionList: Session[] = [];
  private readonly runsBySession = new Map<string, Run[]>();
  private readonly watches = new Map<string, StoreDisposable>();
  private storeSubscriptions: StoreDisposable[] = [];
  private started: Promise<void> | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly finished = new vscode.EventEmitter<RunTransition>();
  private readonly disposables: vscode.Disposable[] = [];
  private error: string | undefined;

  /** Something in the sessions or their runs changed. */
  readonly onDidChange = this.changed.event;
  /** A run this window saw queued or running has finished, failed or been canceled. */
  readonly onDidFinishRun = this.finished.event;

  constructor(
    private readonly backend: Backend,
    private readonly log: Log,
  ) {
    this.disposables.push(backend.onDidChange(() => this.reset()));
  }

  /** Starts watching, opening the store when nobody has yet. */
  ensureStarted(): Promise<void> {
    this.started ??= this.start().catch((e: unknown) => {
      this.started = undefined;
      this.error = (e as Error).message;
      this.log.error('could not load sessions', e);
      this.changed.fire();
      throw e;
    });
    return this.started;
  }

  get loadError(): string | undefined {
    return this.error;
  }

  get sessions(): readonly Session[] {
    return this.sessionList;
  }

  session(id: string): Session | undefined {
    return this.sessionList.find((s) => s.id === id);
  }

  /** Newest first. */
  runs(sessionId: string, lane?: string): readonly Run[] {
    const runs = this.runsBySession.get(sessionId) ?? [];
    return lane === undefined ? runs : runs.filter((r) => r.lane === lane);
  }

  run(id: string): Run | undefined {
    for (const runs of this.runsBySession.values()) {
      const found = runs.find((r) => r.id === id);
      if (found) return found;
    }
    return undefined;
  }

  private async start(): Promise<void> {
    const store = await this.backend.store();
    this.error = undefined;
    this.storeSubscriptions.push(store.onSessionsChange(() => void this.reloadSessions(store)));
    await this.reloadSessions(store);
  }

  private async reloadSessions(store: Store): Promise<void> {
    try {
      this.sessionList = await store.listSessions();
    } catch (e) {
      this.log.error('could not list sessions', e);
      return;
    }
    const ids = new Set(this.sessionList.map((s) => s.id));
    for (const [id, watch] of this.watches) {
      if (!ids.has(id)) {
        watch.dispose();
        this.watches.delete(id);
        this.runsBySession.delete(id);
      }
    }
    for (const s of this.sessionList) {
      if (this.watches.has(s.id)) continue;
      this.watches.set(
        s.id,
        store.watchSession(s.id, (snapshot) => this.applySnapshot(s.id, snapshot.runs), {
          onError: (e) => this.log.warn(`watching session ${s.id}: ${(e as Error).message}`),
        }),
      );
    }
    this.changed.fire();
  }

  private applySnapshot(sessionId: string, runs: Run[]): void {
    const before = new Map((this.runsBySession.get(sessionId) ?? []).map((r) => [r.id, r.status]));
    const known = this.runsBySession.has(sessionId);
    this.runsBySession.set(sessionId, runs);
    if (known) {
      for (const run of runs) {
        const previous = before.get(run.id);
        if (previous && !isFinal(previous) && isFinal(run.status)) this.finished.fire({ run, previous });
      }
    }
    this.changed.fire();
  }

  private reset(): void {
    for (const w of this.watches.values()) w.dispose();
    this.watches.clear();
    for (const s of this.storeSubscriptions) s.dispose();
    this.storeSubscriptions = [];
    this.runsBySession.clear();
    this.sessionList = [];
    this.started = undefined;
    this.changed.fire();
  }

  dispose(): void {
    this.reset();
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
    this.finished.dispose();
  }
}
