// The single Runboard panel: created on first use, revealed afterwards, restored by VS Code after a window reload. The
// panel serves the page (webview/) and hands its messages to a RunboardHost, which speaks the protocol.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { executorOptions } from '../../worker/engine/executors';
import { type ExecutorOption, shortId } from '../../domain';
import { runboardAssets, runboardHtml } from '../../webview/page-html';
import { approveRun, askRejectReason, rejectRun } from '../commands/approval-commands';
import type { CommandContext } from '../commands/context';
import { cancelRun, queueLaneRunFromEditor, retryRun } from '../commands/run-commands';
import { startSession } from '../commands/session-commands';
import { compareInLanesCommand, pickAttemptCommand } from '../commands/compare-commands';
import { compareGroup } from '../../worker/lanes/compare';
import { applyRunChanges, openRunDiff, openRunLog } from '../commands/view-commands';
import { openLaneFileDiff } from '../diff/lane-diff';
import { readSettings } from '../settings';
import { openArtifact } from './artifact-documents';
import { exportFileName, type LogExportFormat, toFile, writeLogExport } from './log-export';
import type { RunboardActions } from './request-handlers';
import { type RunboardDeps, RunboardHost } from './runboard-host';

export const openRunboardCommand = 'ocr.openRunboard';
/** "Run Runbook…" in a lane's menu: the command that asks which runbook and its inputs, given `{ session_id, lane }` */
export const runRunbookCommand = 'ocr.runRunbook';
export const runboardViewType = 'ocr.runboard';
const title = 'Runboard';

export class RunboardPanel {
  private static current: RunboardPanel | undefined;
  private readonly host: RunboardHost;
  private readonly disposables: vscode.Disposable[] = [];

  /** Whether the person can see the Runboard now. */
  static get visible(): boolean {
    return RunboardPanel.current?.panel.visible ?? false;
  }

  /** Opens the Runboard on `sessionId` (when given), or reveals the open one and switches it to that session. */
  static createOrShow(ctx: CommandContext, sessionId: string | undefined): RunboardPanel {
    const existing = RunboardPanel.current;
    if (existing) {
      existing.panel.reveal();
      if (sessionId) existing.host.show(sessionId);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(runboardViewType, title, vscode.ViewColumn.Active, webviewOptions(ctx.extension.extensionUri));
    RunboardPanel.current = new RunboardPanel(panel, ctx, sessionId);
    return RunboardPanel.current;
  }

  /** Opens the Runboard on the session and shows the comparison group in its Compare view. */
  static showComparison(ctx: CommandContext, sessionId: string, groupId: string): void {
    RunboardPanel.createOrShow(ctx, sessionId).host.showComparison(sessionId, groupId);
  }

  /** A panel VS Code restored after a reload; the page names the session it showed in its `ready`. */
  static revive(panel: vscode.WebviewPanel, ctx: CommandContext): void {
    panel.webview.options = webviewOptions(ctx.extension.extensionUri);
    RunboardPanel.current = new RunboardPanel(panel, ctx, undefined);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    ctx: CommandContext,
    openedFor: string | undefined,
  ) {
    const extensionUri = ctx.extension.extensionUri;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'extension', 'media', 'ocr.svg');
    this.host = new RunboardHost(runboardDeps(ctx), { post: (m) => panel.webview.postMessage(m), get visible() { return panel.visible; } }, openedFor);
    panel.webview.html = pageHtml(panel.webview, extensionUri);
    this.disposables.push(
      this.host,
      panel.webview.onDidReceiveMessage((message: unknown) => this.host.receive(message)),
      panel.onDidChangeViewState(() => this.host.visibilityChanged()),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  private dispose(): void {
    if (RunboardPanel.current === this) RunboardPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

export function runboardDeps(ctx: CommandContext): RunboardDeps {
  return {
    store: () => ctx.store(),
    model: ctx.model,
    setActiveSession: (id) => ctx.setActiveSession(id),
    onDidChangeActiveSession: ctx.onDidChangeActiveSession,
    executors: runboardExecutors,
    actions: runboardActions(ctx),
    log: ctx.log,
    showError: (message) => void vscode.window.showErrorMessage(message),
    radar: ctx.radar,
  };
}

/** The page's requests, answered by the functions behind the palette's commands. */
export function runboardActions(ctx: CommandContext): RunboardActions {
  const runOf = async (runId: string) => (await ctx.store()).getRun(runId);
  return {
    startSession: async (input) => (await startSession(ctx, input, { quiet: true })).id,
    queueLaneRun: async (request) => (await queueLaneRunFromEditor(ctx, request)).id,
    cancelRun: (runId) => cancelRun(ctx, runId),
    retryRun: async (runId) => (await retryRun(ctx, runId)).id,
    openDiff: async (runId, file) => {
      const run = await runOf(runId);
      if (file === undefined) return void (await openRunDiff(ctx, run));
      const store = await ctx.store();
      await openLaneFileDiff(store, run, await store.getSession(run.session_id), file);
    },
    applyDiff: async (runId) => applyRunChanges(ctx, await runOf(runId), { confirm: true }),
    openLog: (runId) => openRunLog(ctx, runId),
    copyText: async (text) => vscode.env.clipboard.writeText(text),
    exportLog: ({ runId, format, step }) => exportLog(ctx, runId, format, step),
    openArtifact: (runId, artifactId) =>
      openArtifact({ extension: ctx.extension, store: () => ctx.store(), openDiff: async (id) => void (await openRunDiff(ctx, await runOf(id))) }, runId, artifactId),
    approveRun: async (runId) => void (await approveRun(ctx, runId)),
    rejectRun: async (runId) => {
      const reason = await askRejectReason(await runOf(runId));
      if (reason === undefined) return false;
      await rejectRun(ctx, runId, reason);
      return true;
    },
    runRunbook: async (sessionId, lane) => void (await vscode.commands.executeCommand(runRunbookCommand, { session_id: sessionId, lane })),
    landLane: async (sessionId, lane) => (await vscode.commands.executeCommand<{ outcome: string } | undefined>('ocr.landLane', { sessionId, lane }))?.outcome === 'landed',
    resetLane: async (sessionId, lane) => (await vscode.commands.executeCommand<{ outcome: string } | undefined>('ocr.resetLane', { sessionId, lane }))?.outcome === 'reset',
    compare: async (groupId) => compareGroup(await ctx.store(), groupId),
    compareInLanes: async (sessionId) => (await vscode.commands.executeCommand<string | undefined>(compareInLanesCommand, { sessionId, from: 'runboard' })) ?? null,
    pickAttempt: async (runId) => (await vscode.commands.executeCommand<{ picked: boolean; message: string | null } | undefined>(pickAttemptCommand, { runId })) ?? { picked: false, message: null },
  };
}

/**
 * Export Log: a save dialog, then the run's log from the database. A file the person names, rather than another
 * document: the log document already shows the log, and an export is to keep or hand on, JSON for tools.
 */
async function exportLog(ctx: CommandContext, runId: string, format: LogExportFormat, step: string | null): Promise<{ saved: boolean; lines: number; name: string | null }> {
  const store = await ctx.store();
  const run = await store.getRun(runId);
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri ?? vscode.Uri.file(os.homedir());
  const target = await vscode.window.showSaveDialog({
    title: `Export the log of run ${shortId(run.id)} in lane ${run.lane}${step ? `, step ${step}` : ''}`,
    defaultUri: vscode.Uri.joinPath(folder, exportFileName(run, format, step)),
    filters: format === 'json' ? { JSON: ['json'] } : { Log: ['log', 'txt'] },
    saveLabel: 'Export',
  });
  if (!target) return { saved: false, lines: 0, name: null };
  let lines: number;
  if (target.scheme === 'file') lines = await toFile(target.fsPath, (sink) => writeLogExport(store, runId, format, step, sink));
  else {
    // a folder the editor reaches some other way: written whole, through the editor
    let text = '';
    lines = await writeLogExport(store, runId, format, step, { write: async (chunk) => void (text += chunk) });
    await vscode.workspace.fs.writeFile(target, Buffer.from(text, 'utf8'));
  }
  ctx.log.info(`exported the log of run ${run.id} (${lines} lines) to ${target.toString(true)}`);
  return { saved: true, lines, name: path.posix.basename(target.path) };
}

/** The shell, and every agent profile whose CLI this machine has; the `ocr.defaultExecutor` first. */
export function runboardExecutors(): ExecutorOption[] {
  const { settings } = readSettings();
  return executorOptions({ agents: settings['agents.profiles'] }, settings.defaultExecutor);
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] };
}

function pageHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', file)).toString();
  return runboardHtml({
    cspSource: webview.cspSource,
    nonce: randomBytes(16).toString('base64'),
    scriptUri: asset(runboardAssets.script),
    styleUri: asset(runboardAssets.style),
    codiconsUri: asset(runboardAssets.codicons),
    title,
  });
}
