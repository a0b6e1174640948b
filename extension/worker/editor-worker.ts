// The worker inside the editor: the same engine as `ocr worker`, started and stopped from the status bar. It never
// runs in an untrusted workspace.
import os from 'node:os';
import * as vscode from 'vscode';
import { Worker, type WorkerStatus } from '../../worker/engine/worker';
import { defaultRunEnvNames } from '../../worker/engine/run-env';
import type { Backend } from '../backend';
import type { Log } from '../log';
import { readSettings } from '../settings';
import { NoWorkerTokenError } from '../supabase/supabase-connection';

export type EditorWorkerState =
  | { kind: 'off'; reason: 'paused' | 'untrusted' | 'no-worker-token' }
  | { kind: 'starting' }
  | { kind: 'on'; status: WorkerStatus }
  | { kind: 'stopping' }
  | { kind: 'failed'; error: string };

export class EditorWorker implements vscode.Disposable {
  private worker: Worker | undefined;
  private transition: Promise<void> = Promise.resolve();
  private current: EditorWorkerState;
  private readonly changed = new vscode.EventEmitter<EditorWorkerState>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly backend: Backend,
    private readonly log: Log,
    private readonly version: string,
  ) {
    this.current = vscode.workspace.isTrusted ? { kind: 'off', reason: 'paused' } : { kind: 'off', reason: 'untrusted' };
    // The database moved (Connect to Postgres…): a running worker follows it.
    this.disposables.push(
      backend.onDidChange(() => {
        if (this.worker) void this.restart();
      }),
    );
  }

  get state(): EditorWorkerState {
    return this.current;
  }

  get isOn(): boolean {
    return this.current.kind === 'on' || this.current.kind === 'starting';
  }

  start(): Promise<void> {
    return this.serialise(async () => {
      if (this.worker) return;
      if (!vscode.workspace.isTrusted) {
        this.set({ kind: 'off', reason: 'untrusted' });
        return;
      }
      this.set({ kind: 'starting' });
      try {
        const store = await this.backend.workerStore();
        const { settings } = readSettings();
        const worker = new Worker(
          store,
          {
            id: `${os.hostname()}-editor-${process.pid}`,
            concurrency: settings['worker.concurrency'],
            leaseSeconds: settings['worker.leaseSeconds'],
            repos: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
            worktreeRoot: settings['worktrees.root'] || undefined,
            copyFiles: settings['worktrees.copyFiles'],
            setupCommand: settings['worktrees.setupCommand'] || undefined,
            linkDirs: settings['worktrees.linkDirs'],
            linkMode: settings['worktrees.linkMode'],
            agents: settings['agents.profiles'],
            prices: settings['agents.prices'],
            defaultAgent: settings.defaultExecutor === 'shell' ? undefined : settings.defaultExecutor,
            passEnv: settings['worker.env.pass'],
            allowEnv: settings['worker.env.allow'].length > 0 ? [...defaultRunEnvNames, ...settings['worker.env.allow']] : undefined,
            version: this.version,
          },
          (line) => this.log.info(`worker: ${line}`),
        );
        worker.onStatusChange((status) => {
          if (this.worker === worker && status.state === 'running') this.set({ kind: 'on', status });
        });
        await worker.start();
        this.worker = worker;
        this.set({ kind: 'on', status: worker.status() });
        this.log.info(`worker ${worker.id} started with ${settings['worker.concurrency']} slots`);
      } catch (e) {
        if (e instanceof NoWorkerTokenError) {
          this.log.info(`the worker stays off: ${e.line}`);
          this.set({ kind: 'off', reason: 'no-worker-token' });
          return;
        }
        this.log.error('the worker could not start', e);
        this.set({ kind: 'failed', error: (e as Error).message });
      }
    });
  }

  /** Stops claiming; running runs get `graceMs` to finish, then are canceled. */
  stop(graceMs = 10_000): Promise<void> {
    return this.serialise(async () => {
      const worker = this.worker;
      if (!worker) {
        if (this.current.kind !== 'off') this.set({ kind: 'off', reason: vscode.workspace.isTrusted ? 'paused' : 'untrusted' });
        return;
      }
      this.set({ kind: 'stopping' });
      await worker.stop({ graceMs });
      this.worker = undefined;
      this.log.info(`worker ${worker.id} stopped`);
      this.set({ kind: 'off', reason: vscode.workspace.isTrusted ? 'paused' : 'untrusted' });
    });
  }

  async toggle(): Promise<void> {
    if (this.worker || this.current.kind === 'starting') await this.stop();
    else await this.start();
  }

  private async restart(): Promise<void> {
    await this.stop(5_000);
    await this.start();
  }

  private serialise(task: () => Promise<void>): Promise<void> {
    this.transition = this.transition.then(task, task);
    return this.transition;
  }

  private set(state: EditorWorkerState): void {
    this.current = state;
    this.changed.fire(state);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}
