// Activation: everything is registered at once, nothing is opened. The database is started or connected on first
// need (the Sessions view, a command, the worker), so activating stays cheap.
import * as vscode from 'vscode';
import { Backend } from './backend';
import { sessionIdOf } from './commands/args';
import { registerBackendCommands } from './commands/backend-commands';
import { CommandContext } from './commands/context';
import { registerApprovalCommands } from './commands/approval-commands';
import { registerRunbookCommands } from './commands/runbook-commands';
import { registerRunCommands } from './commands/run-commands';
import { registerSessionCommands } from './commands/session-commands';
import { registerSupabaseCommands } from './commands/supabase-commands';
import { registerCleanupCommands } from './commands/cleanup-commands';
import { registerViewCommands } from './commands/view-commands';
import { registerSearchCommands } from './commands/search-commands';
import { registerLandCommands } from './commands/land-commands';
import { ComparisonArg, registerCompareCommands, revealComparisonCommand } from './commands/compare-commands';
import { registerDiffContent } from './diff/lane-diff';
import { createLog } from './log';
import { registerLanguageModelTools } from './lm-tools/register';
import { registerRunLogContent } from './runs/run-log';
import { type ApprovalPrompt, watchApprovals, watchNeedsInput, watchRunEnds } from './notifications';
import type { RunboardDeps } from './runboard/runboard-host';
import { openRunboardCommand, RunboardPanel, runboardDeps, runboardViewType } from './runboard/runboard-panel';
import { SessionsModel } from './sessions/sessions-model';
import { SessionsTreeProvider, sessionsViewId } from './sessions/sessions-tree';
import { RunbookDiagnostics } from './runbooks/runbook-diagnostics';
import { RunbookIndex } from './runbooks/runbook-index';
import { RunbooksTreeProvider, runbooksViewId } from './runbooks/runbooks-tree';
import { registerRunsView } from './runs-view/runs-commands';
import { readSettings } from './settings';
import { createStatusBarItem } from './status-bar';
import { EditorWorker } from './worker/editor-worker';
import { registerWorkersView } from './workers/workers-commands';
import type { Progress as WalkthroughProgress } from './walkthrough/progress';
import { registerWalkthrough } from './walkthrough/walkthrough';

let stopWorker: (() => Promise<void>) | undefined;

/**
 * What the extension hands to other extensions and to its own extension-host tests: a read-only window on what the
 * person sees (the Sessions tree, the status bar) without reaching into private state.
 */
export interface OcrApi {
  sessionsTree: Pick<SessionsTreeProvider, 'getChildren' | 'getTreeItem'>;
  statusBar(): { text: string; tooltip: string };
  workerState(): string;
  activeSessionId(): string | undefined;
  /** what the Runboard's host is built on (the editor's sessions, active session and commands), for a page of one's own */
  runboardDeps(): RunboardDeps;
  runbooksTree: Pick<RunbooksTreeProvider, 'getChildren' | 'getTreeItem'>;
  /** the approvals asked for in notifications since activation, oldest first */
  approvalPrompts(): readonly ApprovalPrompt[];
  /** what the walkthrough's context keys say the person has done in this window */
  walkthroughProgress(): WalkthroughProgress;
}

export function activate(context: vscode.ExtensionContext): OcrApi {
  const started = performance.now();
  const log = createLog(context);
  const version = String(context.extension.packageJSON.version);
  const backend = new Backend(context.secrets, log);
  const model = new SessionsModel(backend, log);
  const worker = new EditorWorker(backend, log, version);
  const ctx = new CommandContext(context, backend, model, worker, log);
  const tree = new SessionsTreeProvider(model, () => ctx.activeSessionId, { radar: ctx.radar });
  const statusBar = createStatusBarItem(worker);
  const runbooks = new RunbookIndex(log);
  const runbooksTree = new RunbooksTreeProvider(runbooks);
  const approvalPrompts: ApprovalPrompt[] = [];
  const walkthrough = registerWalkthrough(ctx);

  const { problems } = readSettings();
  for (const p of problems) log.warn(p);

  context.subscriptions.push(
    backend,
    model,
    worker,
    ctx,
    tree,
    vscode.window.registerTreeDataProvider(sessionsViewId, tree),
    ctx.onDidChangeActiveSession(() => tree.refresh()),
    statusBar,
    ...registerSessionCommands(ctx),
    ...registerCleanupCommands(ctx),
    ...registerRunCommands(ctx),
    ...registerApprovalCommands(ctx),
    ...registerBackendCommands(ctx),
    ...registerSupabaseCommands(ctx),
    ...registerRunbookCommands(ctx, runbooks),
    runbooks,
    runbooksTree,
    vscode.window.registerTreeDataProvider(runbooksViewId, runbooksTree),
    new RunbookDiagnostics(runbooks),
    ...registerViewCommands(ctx),
    ...registerSearchCommands(ctx),
    ...registerLandCommands(ctx),
    ...registerCompareCommands(ctx),
    ...registerRunsView(ctx),
    ...registerWorkersView(ctx),
    ...registerLanguageModelTools(ctx),
    ...walkthrough.disposables,
    // From the palette on the active session; from the tree (or a script) on the session it names.
    vscode.commands.registerCommand(openRunboardCommand, (arg?: unknown) => void RunboardPanel.createOrShow(ctx, sessionIdOf(arg) ?? ctx.activeSessionId)),
    vscode.commands.registerCommand(revealComparisonCommand, (arg?: unknown) => {
      const target = ComparisonArg.parse(arg);
      RunboardPanel.showComparison(ctx, target.sessionId, target.groupId);
    }),
    vscode.window.registerWebviewPanelSerializer(runboardViewType, {
      async deserializeWebviewPanel(panel) {
        RunboardPanel.revive(panel, ctx);
      },
    }),
    watchRunEnds(model, () => RunboardPanel.visible),
    watchNeedsInput(ctx, () => RunboardPanel.visible),
    watchApprovals(ctx, (prompt) => approvalPrompts.push(prompt)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      if (readSettings().settings['worker.autoStart']) void worker.start();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('ocr')) for (const p of readSettings().problems) log.warn(p);
      if (e.affectsConfiguration('ocr.embedded.dataDir') || e.affectsConfiguration('ocr.backend') || e.affectsConfiguration('ocr.supabase')) void backend.reopen();
    }),
  );
  // diff editors and run logs restored after a reload read their content through these
  // the runbooks are read after activation returns: their problems reach the Problems panel without the view open
  setTimeout(() => void runbooks.ready(), 0);
  registerDiffContent(context, () => backend.store());
  registerRunLogContent(context, () => backend.store());
  stopWorker = () => worker.stop(3_000);

  log.info(
    `Ops Control Room ${version} activated in ${(performance.now() - started).toFixed(1)} ms (VS Code ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'} UI, workspace ${vscode.workspace.isTrusted ? 'trusted' : 'untrusted'})`,
  );
  if (!vscode.workspace.isTrusted) log.info('the workspace is not trusted: the worker stays off and nothing runs here');
  else if (readSettings().settings['worker.autoStart']) {
    // after activation returns, so that opening the database never delays it
    setTimeout(() => void worker.start(), 0);
  }
  return {
    sessionsTree: tree,
    statusBar: () => ({ text: statusBar.item.text, tooltip: typeof statusBar.item.tooltip === 'string' ? statusBar.item.tooltip : (statusBar.item.tooltip?.value ?? '') }),
    workerState: () => worker.state.kind,
    activeSessionId: () => ctx.activeSessionId,
    runboardDeps: () => runboardDeps(ctx),
    runbooksTree,
    approvalPrompts: () => approvalPrompts,
    walkthroughProgress: () => walkthrough.progress.progress,
  };
}

/** The worker's runs finish or are canceled; none is left running with nobody to renew its lease. */
export async function deactivate(): Promise<void> {
  await stopWorker?.();
}
