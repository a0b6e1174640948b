// The Workers view: every worker the database knows (this editor's and `ocr worker` processes anywhere), each with
// its host, version, state, slots and heartbeat age (a warning when it is stale), and as children the runs it holds
// and the repositories it serves. It reads what `ocr workers` reads and words it the same way. While it is visible it
// reads the workers again every few seconds and on the queue's notifications, and ages the heartbeat text each second;
// hidden, it reads nothing.
import * as vscode from 'vscode';
import { oneLine, plainOneLine, type Run, runDuration, shortId } from '../../domain';
import { describeWorker, heartbeatText, isStale, repoNames, slotsText, workerAgents, workerLanes, workerLeaseSeconds, workerRepoIds, type WorkerWithRuns } from '../../domain/worker-liveness';
import { repoIdOf } from '../../worker/engine/repo';
import { listWorkersWithRuns } from '../../worker/runs/list-workers';
import type { Disposable as StoreDisposable } from '../../worker/store/store';
import type { Backend } from '../backend';
import type { Log } from '../log';
import { runIcon, runTooltip } from '../sessions/run-labels';
import type { SessionsModel } from '../sessions/sessions-model';
import type { EditorWorker } from '../worker/editor-worker';

export const workersViewId = 'ocr.workers';
/** How often a visible view reads the workers again: heartbeats change no row anyone is notified of. */
export const workersRefreshMs = 2000;

export class WorkerNode {
  readonly kind = 'worker';
  constructor(
    readonly entry: WorkerWithRuns,
    /** the worker inside this editor */
    readonly own: boolean,
  ) {}
}
export class WorkerRunNode {
  readonly kind = 'workerRun';
  /** what Show Run Log, Cancel Run and the other run commands take */
  readonly runId: string;
  constructor(readonly run: Run) {
    this.runId = run.id;
  }
}
export class WorkerReposNode {
  readonly kind = 'workerRepos';
  constructor(
    readonly workerId: string,
    readonly names: string[],
  ) {}
}
export class WorkersMessageNode {
  readonly kind = 'message';
  constructor(
    readonly text: string,
    readonly detail?: string,
  ) {}
}
export type WorkersTreeNode = WorkerNode | WorkerRunNode | WorkerReposNode | WorkersMessageNode;

/** What this editor's own worker row offers: drain or stop while it runs, start when it is off; others offer nothing. */
export function workerContext(own: boolean, editor: EditorWorker['state']['kind'], rowState: WorkerWithRuns['worker']['state']): string {
  if (!own) return 'worker';
  if (editor === 'on' && rowState === 'running') return 'worker.editor.running';
  if (editor === 'off' || editor === 'failed') return 'worker.editor.stopped';
  return 'worker.editor.busy';
}

export class WorkersTreeProvider implements vscode.TreeDataProvider<WorkersTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<WorkersTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private entries: WorkerWithRuns[] | undefined;
  private problem: string | undefined;
  private reading: Promise<void> | undefined;
  private readAgain = false;
  private ticker: NodeJS.Timeout | undefined;
  private ticks = 0;
  private queueSubscription: StoreDisposable | undefined;
  private visible = false;
  /** the id of the worker inside this editor, kept once seen: its row stays (stopped) after it stops */
  private ownId: string | undefined;
  /** the workspace's repositories, named by their folders: what this editor's worker serves without a session yet */
  private workspaceRepos: Array<{ repo_id: string | null; repo_path: string | null }> = [];
  private workspaceReposRead = false;

  constructor(
    private readonly backend: Backend,
    private readonly model: SessionsModel,
    private readonly editorWorker: EditorWorker,
    private readonly log: Log,
  ) {
    this.noteOwnId();
    this.disposables.push(
      editorWorker.onDidChange(() => {
        this.noteOwnId();
        this.readWhenSeen();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => {
        this.workspaceReposRead = false;
        this.readWhenSeen();
      }),
      backend.onDidChange(() => {
        this.queueSubscription?.dispose();
        this.queueSubscription = undefined;
        this.readWhenSeen();
      }),
    );
  }

  /** Follows the view's visibility: reads and ticks only while it is seen. */
  attach(view: vscode.TreeView<WorkersTreeNode>): vscode.Disposable {
    const follow = (visible: boolean) => {
      this.visible = visible;
      if (visible) this.start();
      else this.pause();
    };
    follow(view.visible);
    return view.onDidChangeVisibility((e) => follow(e.visible));
  }

  /** Reads the workers now (a command, a notification). */
  refresh(): void {
    this.read();
  }

  /** Reads now when the view is seen; otherwise the next time it is. */
  private readWhenSeen(): void {
    if (this.visible) this.read();
    else this.entries = undefined;
  }

  async getChildren(node?: WorkersTreeNode): Promise<WorkersTreeNode[]> {
    if (!node) {
      if (!this.entries && !this.problem) await this.read();
      if (this.problem) return [new WorkersMessageNode('Cannot read the workers', this.problem)];
      return (this.entries ?? []).map((e) => new WorkerNode(e, e.worker.id === this.ownId));
    }
    if (node instanceof WorkerNode) {
      const names = repoNames(node.entry.worker, this.knownRepos());
      return [...node.entry.runs.map((r) => new WorkerRunNode(r)), ...(names.length > 0 ? [new WorkerReposNode(node.entry.worker.id, names)] : [])];
    }
    return [];
  }

  getTreeItem(node: WorkersTreeNode): vscode.TreeItem {
    const now = Date.now();
    if (node instanceof WorkerNode) {
      const { worker: w, runs } = node.entry;
      const hasChildren = runs.length > 0 || workerRepoIds(w).length > 0;
      const item = new vscode.TreeItem(w.id, hasChildren ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      item.id = `worker:${w.id}`;
      item.description = `${node.own ? 'this editor · ' : ''}${describeWorker(node.entry, now)}`;
      item.iconPath = workerIcon(node.entry, now);
      item.tooltip = workerTooltip(node, this.knownRepos(), now);
      item.contextValue = workerContext(node.own, this.editorWorker.state.kind, w.state);
      item.accessibilityInformation = { label: `worker ${w.id}, ${item.description}` };
      return item;
    }
    if (node instanceof WorkerRunNode) {
      const r = node.run;
      const item = new vscode.TreeItem(`${r.lane}: ${oneLine(plainOneLine(r.intent), 60)}`, vscode.TreeItemCollapsibleState.None);
      item.id = `worker-run:${r.claimed_by ?? ''}:${r.id}`;
      item.description = [shortId(r.id), runDuration(r, now)].filter(Boolean).join(' · ');
      item.iconPath = runIcon(r);
      item.tooltip = runTooltip(r);
      item.contextValue = `workerRun.${r.status}`;
      item.command = { command: 'ocr.showRunLog', title: 'Show Run Log', arguments: [{ runId: r.id }] };
      return item;
    }
    if (node instanceof WorkerReposNode) {
      const item = new vscode.TreeItem(node.names.join(', '), vscode.TreeItemCollapsibleState.None);
      item.id = `worker-repos:${node.workerId}`;
      item.description = node.names.length === 1 ? 'repository it serves' : 'repositories it serves';
      item.iconPath = new vscode.ThemeIcon('repo');
      item.contextValue = 'workerRepos';
      return item;
    }
    const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    item.description = node.detail;
    item.tooltip = node.detail;
    item.iconPath = new vscode.ThemeIcon('warning');
    return item;
  }

  /** Where repositories were seen: the sessions' folders, then this workspace's. */
  private knownRepos(): Array<{ repo_id: string | null; repo_path: string | null }> {
    return [...this.model.sessions, ...this.workspaceRepos];
  }

  private async readWorkspaceRepos(): Promise<void> {
    if (this.workspaceReposRead) return;
    this.workspaceReposRead = true;
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    this.workspaceRepos = await Promise.all(folders.map(async (folder) => ({ repo_id: (await repoIdOf(folder)) ?? null, repo_path: folder })));
  }

  private noteOwnId(): void {
    const state = this.editorWorker.state;
    if (state.kind === 'on') this.ownId = state.status.id;
  }

  private start(): void {
    void this.subscribeToQueue();
    this.read();
    if (this.ticker) return;
    // each second the heartbeat ages; every few seconds it is read again
    this.ticker = setInterval(() => {
      this.ticks += 1;
      if ((this.ticks * 1000) % workersRefreshMs === 0) this.read();
      else this.changed.fire(undefined);
    }, 1000);
  }

  private pause(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.queueSubscription?.dispose();
    this.queueSubscription = undefined;
  }

  /** A run became claimable: a worker is about to take it, so its row is read again a moment later. */
  private async subscribeToQueue(): Promise<void> {
    if (this.queueSubscription) return;
    try {
      const store = await this.backend.store();
      if (!this.visible || this.queueSubscription) return;
      this.queueSubscription = store.onQueueChange(() => setTimeout(() => this.read(), 250));
    } catch {
      // read() says why the workers cannot be read
    }
  }

  /** One read at a time; asked again while reading, it reads once more afterwards. */
  private read(): Promise<void> {
    if (this.reading) {
      this.readAgain = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        const store = await this.backend.store();
        // for the repositories' names
        await Promise.all([this.model.ensureStarted().catch(() => undefined), this.readWorkspaceRepos()]);
        this.entries = await listWorkersWithRuns(store);
        this.problem = undefined;
      } catch (e) {
        if (this.problem === undefined) this.log.warn(`the Workers view cannot read the workers: ${(e as Error).message}`);
        this.problem = (e as Error).message;
      }
    })().finally(() => {
      this.reading = undefined;
      this.changed.fire(undefined);
      if (this.readAgain) {
        this.readAgain = false;
        void this.read();
      }
    });
    return this.reading;
  }

  dispose(): void {
    this.pause();
    for (const d of this.disposables) d.dispose();
    this.changed.dispose();
  }
}

function workerIcon(entry: WorkerWithRuns, now: number): vscode.ThemeIcon {
  const w = entry.worker;
  if (isStale(w, now)) return new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
  switch (w.state) {
    case 'running':
      return new vscode.ThemeIcon('server-process', entry.runs.length > 0 ? new vscode.ThemeColor('charts.blue') : undefined);
    case 'draining':
      return new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('charts.yellow'));
    case 'stopped':
      return new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
  }
}

function workerTooltip(node: WorkerNode, known: Parameters<typeof repoNames>[1], now: number): vscode.MarkdownString {
  const { worker: w } = node.entry;
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**Worker \`${w.id.replace(/`/g, "'")}\`**${node.own ? ' — the worker inside this editor' : ''}\n\n`);
  const lanes = workerLanes(w);
  const repos = repoNames(w, known);
  const agents = workerAgents(w);
  const lines = [
    `Host: ${escape(w.host)}${w.pid !== null ? ` · pid ${w.pid}` : ''}${w.version ? ` · version ${escape(w.version)}` : ''}`,
    `State: ${w.state}${isStale(w, now) ? ' (stale: its runs go to other workers once their leases end)' : ''}`,
    `Slots: ${slotsText(node.entry)} busy · lanes ${lanes ? escape(lanes.join(', ')) : 'all'}`,
    `Heartbeat: ${heartbeatText(w, now)} · lease ${workerLeaseSeconds(w)} s`,
    `Repositories: ${repos.length > 0 ? escape(repos.join(', ')) : 'none named (it serves sessions without a repository)'}`,
    `Agents: ${agents.length > 0 ? escape(agents.join(', ')) : 'none'}`,
    `Started ${new Date(w.started_at).toLocaleString()}`,
  ];
  md.appendMarkdown(lines.join('\n\n'));
  return md;
}

const escape = (text: string): string => text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
