// The Runs view: the newest runs of every session, narrowed by the filter set from the view's title bar (its
// description says which), a page at a time ("Load more"), kept current while runs change. Its rows are the Sessions
// view's run nodes, so Show Run Log, Open Lane Diff and Open Runboard take them as they take that view's.
import * as vscode from 'vscode';
import { oneLine, plainOneLine, shortId } from '../../domain';
import { describeFilter } from '../../worker/runs/run-filter-text';
import { parseInput } from '../../worker/store/errors';
import { RunHistoryFilter, type RunHistoryRow } from '../../worker/store/run-history';
import type { CommandContext } from '../commands/context';
import { describeRun, runIcon, runTooltip } from '../sessions/run-labels';
import { RunNode } from '../sessions/sessions-tree';

export const runsViewId = 'ocr.runs';
export const loadMoreCommand = 'ocr.runs.loadMore';
const filterKey = 'ocr.runsFilter';
const pageSize = 50;

export class LoadMoreNode {
  readonly kind = 'loadMore';
}
export class RunsMessageNode {
  readonly kind = 'message';
  constructor(
    readonly text: string,
    readonly detail?: string,
  ) {}
}
export type RunsTreeNode = RunNode | LoadMoreNode | RunsMessageNode;

/** What the view shows: the filter, the runs read so far, and where the next page starts. */
export class RunsView implements vscode.TreeDataProvider<RunsTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly treeView: vscode.TreeView<RunsTreeNode>;
  private readonly subscriptions: vscode.Disposable[] = [];
  private rows: RunHistoryRow[] = [];
  private next: string | null = null;
  private error: string | undefined;
  private loaded = false;
  /** one read at a time; a change seen meanwhile reads again after it */
  private reading: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private currentFilter: RunHistoryFilter;

  constructor(private readonly ctx: CommandContext) {
    const saved = RunHistoryFilter.safeParse(ctx.extension.workspaceState.get(filterKey) ?? {});
    this.currentFilter = saved.success ? saved.data : {};
    this.treeView = vscode.window.createTreeView(runsViewId, { treeDataProvider: this, showCollapseAll: false });
    this.subscriptions.push(
      this.treeView,
      ctx.model.onDidChange(() => this.soon()),
      ctx.model.onDidChangeStore(() => this.soon()),
      this.treeView.onDidChangeVisibility((e) => {
        if (e.visible) this.soon();
      }),
    );
    this.describe();
  }

  get filter(): RunHistoryFilter {
    return this.currentFilter;
  }

  /** The runs the view holds now, in its order. */
  get runs(): readonly RunHistoryRow[] {
    return this.rows;
  }

  async setFilter(filter: RunHistoryFilter): Promise<void> {
    const checked = parseInput(RunHistoryFilter, Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)));
    this.currentFilter = checked;
    await this.ctx.extension.workspaceState.update(filterKey, checked);
    this.describe();
    this.rows = [];
    this.next = null;
    await this.read('first');
  }

  async loadMore(): Promise<void> {
    await this.read('more');
  }

  /** Reads again what the view shows (as many runs as it holds, at least a page). */
  refresh(): Promise<void> {
    return this.read('again');
  }

  private soon(): void {
    if (!this.loaded || !this.treeView.visible) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.read('again'), 300);
  }

  private async read(what: 'first' | 'more' | 'again'): Promise<void> {
    if (this.reading) {
      if (what === 'more') await this.reading;
      else {
        this.again = true;
        return this.reading;
      }
    }
    this.reading = (async () => {
      try {
        const store = await this.ctx.store();
        if (what === 'more' && this.next) {
          const page = await store.listRunHistory({ ...this.currentFilter, limit: pageSize, cursor: this.next });
          this.rows = [...this.rows, ...page.runs];
          this.next = page.next;
        } else {
          const limit = Math.min(1000, Math.max(pageSize, this.rows.length));
          const page = await store.listRunHistory({ ...this.currentFilter, limit });
          this.rows = page.runs;
          this.next = page.next;
        }
        this.error = undefined;
      } catch (e) {
        this.error = (e as Error).message;
        this.ctx.log.warn(`the Runs view could not read the runs: ${this.error}`);
      } finally {
        this.loaded = true;
        this.reading = undefined;
        this.changed.fire(undefined);
      }
    })();
    await this.reading;
    if (this.again) {
      this.again = false;
      await this.read('again');
    }
  }

  private describe(): void {
    const title = (id: string) => this.ctx.model.session(id)?.title;
    this.treeView.description = describeFilter(this.currentFilter, title) || undefined;
  }

  async getChildren(node?: RunsTreeNode): Promise<RunsTreeNode[]> {
    if (node) return [];
    if (!this.loaded) await this.read('first');
    if (this.error) return [new RunsMessageNode('Cannot read the runs', this.error)];
    if (this.rows.length === 0) {
      return [new RunsMessageNode(this.treeView.description ? 'No run matches the filter' : 'No runs yet', this.treeView.description ? 'Clear Filters shows every run' : undefined)];
    }
    return [...this.rows.map((r) => new RunNode(r)), ...(this.next ? [new LoadMoreNode()] : [])];
  }

  getTreeItem(node: RunsTreeNode): vscode.TreeItem {
    if (node instanceof RunNode) {
      const r = node.run as RunHistoryRow;
      const item = new vscode.TreeItem(oneLine(plainOneLine(r.intent), 80), vscode.TreeItemCollapsibleState.None);
      item.id = `history-run:${r.id}`;
      item.description = `${oneLine(plainOneLine(r.session_title), 30)} · ${r.lane} · ${describeRun(r)}`;
      item.iconPath = runIcon(r);
      const tooltip = runTooltip(r);
      tooltip.appendMarkdown(`\n\nSession: ${escape(r.session_title)} (\`${shortId(r.session_id)}\`) · lane ${escape(r.lane)}`);
      item.tooltip = tooltip;
      item.contextValue = `run.${r.status}`;
      item.command = { command: 'ocr.showRunLog', title: 'Show Run Log', arguments: [node] };
      return item;
    }
    if (node instanceof LoadMoreNode) {
      const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
      item.id = 'history-load-more';
      item.description = `${this.rows.length} shown`;
      item.iconPath = new vscode.ThemeIcon('fold-down');
      item.command = { command: loadMoreCommand, title: 'Load More Runs' };
      return item;
    }
    const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    item.description = node.detail;
    item.tooltip = node.detail;
    item.iconPath = new vscode.ThemeIcon(node.text.startsWith('Cannot') ? 'warning' : 'info');
    return item;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}

const escape = (text: string): string => text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
