// The Runbooks view: the workspace's runbooks (title; kind and env beside it), each with its inputs as children, and
// the files that are not runbooks yet because of a problem (their problems are in the Problems panel). Clicking a
// runbook opens its file; its inline action runs it.
import path from 'node:path';
import * as vscode from 'vscode';
import type { Runbook, RunbookInput } from '../../domain';
import type { RunbookProblem } from '../../worker/runbooks/files';
import { describeInput, inputName } from './input-text';
import type { IndexedRunbook, RunbookIndex } from './runbook-index';

export const runbooksViewId = 'ocr.runbooks';

export class RunbookNode {
  readonly kind = 'runbook';
  constructor(readonly runbook: IndexedRunbook) {}
  get file(): string {
    return this.runbook.file;
  }
}
export class RunbookInputNode {
  readonly kind = 'input';
  constructor(
    readonly runbook: IndexedRunbook,
    readonly input: RunbookInput,
  ) {}
}
export class RunbookProblemNode {
  readonly kind = 'problem';
  constructor(
    readonly file: string,
    readonly problems: RunbookProblem[],
  ) {}
}
export type RunbooksTreeNode = RunbookNode | RunbookInputNode | RunbookProblemNode;

const kindIcons: Record<Runbook['kind'], string> = {
  deploy: 'rocket',
  healthcheck: 'pulse',
  spec: 'checklist',
  incident: 'flame',
  schema_sync: 'database',
  custom: 'notebook',
};

const typeIcons: Record<RunbookInput['type'], string> = { string: 'symbol-string', number: 'symbol-number', boolean: 'symbol-boolean', enum: 'symbol-enum' };

/** "deploy · prod", "deploy · env from inputs.target", "healthcheck" */
export function describeRunbook(runbook: Pick<Runbook, 'kind' | 'env'>): string {
  if (runbook.env === undefined) return runbook.kind;
  const fromInput = /^\{\{\s*inputs\.([a-z][a-z0-9_]*)\s*\}\}$/.exec(runbook.env);
  return `${runbook.kind} · ${fromInput ? `env from inputs.${fromInput[1]}` : runbook.env}`;
}

export class RunbooksTreeProvider implements vscode.TreeDataProvider<RunbooksTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunbooksTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly index: RunbookIndex) {
    this.subscription = index.onDidChange(() => this.changed.fire(undefined));
  }

  async getChildren(node?: RunbooksTreeNode): Promise<RunbooksTreeNode[]> {
    if (!node) {
      await this.index.ready();
      const broken = new Map<string, RunbookProblem[]>();
      for (const p of this.index.problems) {
        // a runbook that reads well but shares its name with another is still listed; its problem is in the panel
        if (this.index.find(p.file)) continue;
        broken.set(p.file, [...(broken.get(p.file) ?? []), p]);
      }
      return [...this.index.runbooks.map((r) => new RunbookNode(r)), ...[...broken].map(([file, problems]) => new RunbookProblemNode(file, problems))];
    }
    if (node instanceof RunbookNode) return node.runbook.runbook.inputs.map((input) => new RunbookInputNode(node.runbook, input));
    return [];
  }

  getTreeItem(node: RunbooksTreeNode): vscode.TreeItem {
    const several = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
    if (node instanceof RunbookNode) {
      const { runbook, file, folder } = node.runbook;
      const item = new vscode.TreeItem(runbook.title, runbook.inputs.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
      item.id = `runbook:${file}`;
      item.description = [describeRunbook(runbook), several ? folder.name : ''].filter(Boolean).join(' · ');
      item.iconPath = new vscode.ThemeIcon(kindIcons[runbook.kind], runbook.env === 'prod' ? new vscode.ThemeColor('charts.red') : undefined);
      item.tooltip = tooltip(node.runbook);
      item.contextValue = 'runbook';
      item.command = { command: 'vscode.open', title: 'Open Runbook', arguments: [vscode.Uri.file(file)] };
      return item;
    }
    if (node instanceof RunbookInputNode) {
      const { input } = node;
      const item = new vscode.TreeItem(input.key, vscode.TreeItemCollapsibleState.None);
      item.id = `runbook-input:${node.runbook.file}:${input.key}`;
      item.description = describeInput(input);
      item.iconPath = new vscode.ThemeIcon(input.secret ? 'key' : typeIcons[input.type]);
      item.tooltip = [inputName(input), input.description ?? '', describeInput(input)].filter(Boolean).join('\n');
      item.contextValue = 'runbookInput';
      return item;
    }
    const first = node.problems[0]!;
    const item = new vscode.TreeItem(path.basename(node.file), vscode.TreeItemCollapsibleState.None);
    item.id = `runbook-problem:${node.file}`;
    item.description = `${node.problems.length} problem${node.problems.length === 1 ? '' : 's'}: ${first.message}`;
    item.tooltip = node.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n');
    item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
    item.contextValue = 'runbookProblem';
    const at = new vscode.Position(Math.max(0, first.line - 1), Math.max(0, first.column - 1));
    item.command = { command: 'vscode.open', title: 'Open Runbook', arguments: [vscode.Uri.file(node.file), { selection: new vscode.Range(at, at) }] };
    return item;
  }

  dispose(): void {
    this.subscription.dispose();
    this.changed.dispose();
  }
}

function tooltip(indexed: IndexedRunbook): vscode.MarkdownString {
  const { runbook, file, folder } = indexed;
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escape(runbook.title)}** · \`${runbook.name}\` · ${escape(describeRunbook(runbook))}\n\n`);
  if (runbook.description) md.appendMarkdown(`${escape(runbook.description)}\n\n`);
  const steps = runbook.steps.map((s) => s.id).join(', ');
  md.appendMarkdown(`${runbook.steps.length} step${runbook.steps.length === 1 ? '' : 's'}: ${escape(steps)}${runbook.lane ? ` · lane ${runbook.lane}` : ''}\n\n`);
  md.appendMarkdown(`\`${path.relative(folder.uri.fsPath, file)}\``);
  return md;
}

const escape = (text: string): string => text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
