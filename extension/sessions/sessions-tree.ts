// The Sessions view: session → lane → runs (newest first), live from the sessions model. A coding agent's run says
// what it is doing while it runs, what it cost once it ended, and is marked when it needs the person's input. A lane
// says which ports its runs have and what its worktree takes on disk. Archived sessions sit in a group of their own at
// the end, where Clean Up Session removes their worktrees.
import * as vscode from 'vscode';
import { conflictTitle, isFinal, laneConflictsOf, type LanePorts, oneLine, plainOneLine, portRangeText, type Run, type Session, shortId, timeAgo } from '../../domain';
import { defaultWorktreeRoot } from '../../worker/engine/worktree';
import { describeDiskUsage } from '../../worker/lanes/disk-usage';
import { OcrError } from '../../worker/store/errors';
import { readSettings } from '../settings';
import { agentRunLabel } from './agent-labels';
import { type LaneSize, LaneSizes } from './lane-sizes';
import { describeRun, runIcon, runTooltip } from './run-labels';
import type { ConflictRadar } from '../lanes/conflict-radar';
import type { SessionsModel } from './sessions-model';

export const sessionsViewId = 'ocr.sessions';

export class SessionNode {
  readonly kind = 'session';
  constructor(readonly session: Session) {}
}
export class LaneNode {
  readonly kind = 'lane';
  constructor(
    readonly session: Session,
    readonly lane: string,
  ) {}
}
export class RunNode {
  readonly kind = 'run';
  constructor(readonly run: Run) {}
}
/** The archived sessions, collapsed at the end of the tree. */
export class ArchivedNode {
  readonly kind = 'archived';
  constructor(readonly sessions: readonly Session[]) {}
}
export class MessageNode {
  readonly kind = 'message';
  constructor(
    readonly text: string,
    readonly detail?: string,
  ) {}
}
export type SessionsTreeNode = SessionNode | LaneNode | RunNode | ArchivedNode | MessageNode;

/** The worktree root of the editor's worker: where the lanes it runs have their folders. */
export const editorWorktreeRoot = (): string => readSettings().settings['worktrees.root'] || defaultWorktreeRoot();

export class SessionsTreeProvider implements vscode.TreeDataProvider<SessionsTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SessionsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];
  private readonly sizes: LaneSizes;
  private readonly radar: Pick<ConflictRadar, 'conflicts' | 'onDidChange'> | undefined;

  constructor(
    private readonly model: SessionsModel,
    private readonly activeSession: () => string | undefined,
    options: { worktreeRoot?: () => string; radar?: Pick<ConflictRadar, 'conflicts' | 'onDidChange'> } = {},
  ) {
    this.radar = options.radar;
    this.sizes = new LaneSizes({ root: options.worktreeRoot ?? editorWorktreeRoot, onDidMeasure: () => this.changed.fire(undefined) });
    this.subscriptions = [
      model.onDidChange(() => this.changed.fire(undefined)),
      model.onDidFinishRun(({ run }) => this.sizes.runEnded(run.session_id, run.lane)),
      ...(options.radar ? [options.radar.onDidChange(() => this.changed.fire(undefined))] : []),
    ];
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: SessionsTreeNode): Promise<SessionsTreeNode[]> {
    if (!node) {
      try {
        await this.model.ensureStarted();
      } catch (e) {
        // a named error says what to do about it too (sign in, push the migrations, …)
        return [new MessageNode(`Cannot reach the database`, e instanceof OcrError ? e.line : (e as Error).message)];
      }
      const archived = this.model.allSessions.filter((s) => s.status === 'archived');
      return [...this.model.sessions.map((s) => new SessionNode(s)), ...(archived.length > 0 ? [new ArchivedNode(archived)] : [])];
    }
    if (node instanceof ArchivedNode) return node.sessions.map((s) => new SessionNode(s));
    if (node instanceof SessionNode) return node.session.status === 'archived' ? [] : node.session.lanes.map((lane) => new LaneNode(node.session, lane));
    if (node instanceof LaneNode) return this.model.runs(node.session.id, node.lane).map((r) => new RunNode(r));
    return [];
  }

  getTreeItem(node: SessionsTreeNode): vscode.TreeItem {
    if (node instanceof ArchivedNode) {
      const item = new vscode.TreeItem('Archived', vscode.TreeItemCollapsibleState.Collapsed);
      item.id = 'archived';
      item.description = `${node.sessions.length} session${node.sessions.length === 1 ? '' : 's'}`;
      item.tooltip = 'Archived sessions: Clean Up Session removes their lane worktrees (and branches) from this machine';
      item.iconPath = new vscode.ThemeIcon('archive');
      item.contextValue = 'archived';
      return item;
    }
    if (node instanceof SessionNode && node.session.status === 'archived') {
      const s = node.session;
      const item = new vscode.TreeItem(s.title, vscode.TreeItemCollapsibleState.None);
      item.id = `session:${s.id}`;
      item.description = `archived ${timeAgo(s.archived_at)}`.trim();
      item.iconPath = new vscode.ThemeIcon('archive');
      item.tooltip = new vscode.MarkdownString(
        `**${escape(s.title)}** · archived ${timeAgo(s.archived_at)}\n\n${s.repo_path ? `Repository: \`${s.repo_path}\`` : 'No repository'} · lanes ${s.lanes.join(', ')}\n\nClean Up Session removes its lane worktrees from this machine.`,
      );
      item.contextValue = 'session.archived';
      return item;
    }
    if (node instanceof SessionNode) {
      const s = node.session;
      const active = s.id === this.activeSession();
      const item = new vscode.TreeItem(s.title, active ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `session:${s.id}`;
      const runs = this.model.runs(s.id);
      const running = runs.filter((r) => r.status === 'running').length;
      const waiting = runs.filter((r) => r.status === 'waiting').length;
      const queued = runs.filter((r) => r.status === 'queued').length;
      item.description = [active ? 'active' : '', running ? `${running} running` : '', waiting ? `${waiting} waiting` : '', queued ? `${queued} queued` : '']
        .filter(Boolean)
        .join(' · ');
      item.iconPath = new vscode.ThemeIcon(active ? 'star-full' : 'folder-library');
      item.tooltip = new vscode.MarkdownString(
        `**${escape(s.title)}**${s.intent ? `\n\n${escape(s.intent)}` : ''}\n\n${s.repo_path ? `Repository: \`${s.repo_path}\`` : 'No repository'} · lanes ${s.lanes.join(', ')}`,
      );
      const found = this.radar?.conflicts(s.id);
      if (found && found.conflicts.length > 0) {
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
        item.description = [item.description, 'conflicts'].filter(Boolean).join(' · ');
        item.tooltip.appendMarkdown(`\n\n$(warning) If merged now: ${found.conflicts.map((c) => `${escape(conflictTitle(c, found.user_branch))} (${c.files.map((f) => `\`${f}\``).join(', ')})`).join('; ')}`);
        item.tooltip.supportThemeIcons = true;
      }
      item.contextValue = 'session';
      return item;
    }
    if (node instanceof LaneNode) {
      const runs = this.model.runs(node.session.id, node.lane);
      const item = new vscode.TreeItem(`Lane ${node.lane}`, runs.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      item.id = `lane:${node.session.id}:${node.lane}`;
      const ports = this.model.lanePorts(node.session.id, node.lane);
      const size = this.sizes.get(node.session.id, node.lane);
      item.description = laneDescription(runs, ports, size);
      item.tooltip = laneTooltip(node.lane, runs, ports, size);
      const current = runs.find((r) => r.status === 'running' || r.status === 'waiting');
      item.iconPath = current ? runIcon(current) : new vscode.ThemeIcon('debug-breakpoint-unverified');
      const conflicts = laneConflictsOf(node.lane, this.radar?.conflicts(node.session.id)?.conflicts ?? []);
      if (conflicts.length > 0) {
        if (!current) item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
        const lines = conflicts.map((c) => `$(warning) Conflicts with ${c.with} in ${c.files.map((f) => `\`${f}\``).join(', ')}`).join('\n\n');
        const tooltip = item.tooltip instanceof vscode.MarkdownString ? item.tooltip : new vscode.MarkdownString(escape(String(item.tooltip ?? '')));
        tooltip.appendMarkdown(`\n\n${lines}`);
        tooltip.supportThemeIcons = true;
        item.tooltip = tooltip;
      }
      item.contextValue = 'lane';
      return item;
    }
    if (node instanceof RunNode) {
      const r = node.run;
      const item = new vscode.TreeItem(oneLine(plainOneLine(r.intent), 80), vscode.TreeItemCollapsibleState.None);
      item.id = `run:${r.id}`;
      const agent = agentRunLabel(r);
      item.description = agent?.description ?? describeRun(r);
      item.iconPath = agent?.icon ? new vscode.ThemeIcon(agent.icon.id, new vscode.ThemeColor(agent.icon.color)) : runIcon(r);
      const tooltip = runTooltip(r);
      if (agent) tooltip.appendMarkdown(`\n\n${agent.tooltip.join('\n\n')}`);
      item.tooltip = tooltip;
      item.contextValue = `run.${r.status}`;
      item.command = { command: 'ocr.showRunLog', title: 'Show Run Log', arguments: [node] };
      return item;
    }
    const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
    item.description = node.detail;
    item.tooltip = node.detail;
    item.iconPath = new vscode.ThemeIcon('warning');
    return item;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.sizes.dispose();
    this.changed.dispose();
  }
}

/** "running 1a2b3c4d · 2 queued", "waiting for approval 1a2b3c4d", "idle · last failed": what a lane is doing. */
export function laneState(runs: readonly Run[]): string {
  const running = runs.find((r) => r.status === 'running');
  const waiting = runs.find((r) => r.status === 'waiting');
  const queued = runs.filter((r) => r.status === 'queued').length;
  const last = runs.find((r) => isFinal(r.status));
  const parts = [
    running ? `running ${shortId(running.id)}` : '',
    waiting ? `waiting for approval ${shortId(waiting.id)}` : '',
    queued ? `${queued} queued` : '',
  ].filter(Boolean);
  if (parts.length === 0) return last ? `idle · last ${last.agent?.needsInput ? 'needs input' : last.status}` : 'idle';
  return parts.join(' · ');
}

/** "idle · last succeeded · ports 20000–20009 · 412 MB": what the lane does, its ports, its worktree's own size. */
export function laneDescription(runs: readonly Run[], ports: LanePorts | undefined, size: LaneSize | undefined): string {
  return [laneState(runs), ports ? portRangeText(ports) : '', size && size.usage.entries > 0 ? describeDiskUsage(size.usage).text : ''].filter(Boolean).join(' · ');
}

function laneTooltip(lane: string, runs: readonly Run[], ports: LanePorts | undefined, size: LaneSize | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString(`**Lane ${escape(lane)}** · ${escape(laneState(runs))}`);
  if (ports) {
    const last = ports.port_base + ports.port_count - 1;
    md.appendMarkdown(`\n\nPorts ${ports.port_base}–${last}: its runs get \`OCR_PORT=${ports.port_base}\` and \`OCR_PORT_COUNT=${ports.port_count}\`, no other lane of this database has them; freed when the session is archived.`);
  }
  if (size && size.usage.entries > 0) {
    md.appendMarkdown(`\n\nWorktree: ${escape(describeDiskUsage(size.usage).detail)} (measured ${timeAgo(new Date(size.measuredAt).toISOString())})\n\n\`${size.folder}\``);
  }
  return md;
}

const escape = (text: string): string => text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
