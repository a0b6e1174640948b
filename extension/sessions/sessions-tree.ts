// The Sessions view: session → lane → runs (newest first), live from the sessions model. A coding agent's run says
// what it is doing while it runs, what it cost once it ended, and is marked when it needs the person's input.
import * as vscode from 'vscode';
import { isFinal, oneLine, plainOneLine, type Run, type Session, shortId } from '../../domain';
import { agentRunLabel } from './agent-labels';
import { describeRun, runIcon, runTooltip } from './run-labels';
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
export class MessageNode {
  readonly kind = 'message';
  constructor(
    readonly text: string,
    readonly detail?: string,
  ) {}
}
export type SessionsTreeNode = SessionNode | LaneNode | RunNode | MessageNode;

export class SessionsTreeProvider implements vscode.TreeDataProvider<SessionsTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<SessionsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly model: SessionsModel,
    private readonly activeSession: () => string | undefined,
  ) {
    this.subscription = model.onDidChange(() => this.changed.fire(undefined));
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  async getChildren(node?: SessionsTreeNode): Promise<SessionsTreeNode[]> {
    if (!node) {
      try {
        await this.model.ensureStarted();
      } catch (e) {
        return [new MessageNode(`Cannot reach the database`, (e as Error).message)];
      }
      return this.model.sessions.map((s) => new SessionNode(s));
    }
    if (node instanceof SessionNode) return node.session.lanes.map((lane) => new LaneNode(node.session, lane));
    if (node instanceof LaneNode) return this.model.runs(node.session.id, node.lane).map((r) => new RunNode(r));
    return [];
  }

  getTreeItem(node: SessionsTreeNode): vscode.TreeItem {
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
      item.contextValue = 'session';
      return item;
    }
    if (node instanceof LaneNode) {
      const runs = this.model.runs(node.session.id, node.lane);
      const item = new vscode.TreeItem(`Lane ${node.lane}`, runs.length ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
      item.id = `lane:${node.session.id}:${node.lane}`;
      item.description = laneState(runs);
      const current = runs.find((r) => r.status === 'running' || r.status === 'waiting');
      item.iconPath = current ? runIcon(current) : new vscode.ThemeIcon('debug-breakpoint-unverified');
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
    this.subscription.dispose();
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

const escape = (text: string): string => text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
