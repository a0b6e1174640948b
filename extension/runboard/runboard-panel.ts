// The single Runboard panel: created on first use, revealed afterwards, restored by VS Code after a window reload. The
// panel serves the page (webview/) and hands its messages to a RunboardHost, which speaks the protocol.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { agentProfiles, availableAgents } from '../../worker/engine/executors';
import { type ExecutorOption, runboardAssets, runboardHtml } from '../../webview/protocol';
import type { CommandContext } from '../commands/context';
import { readSettings } from '../settings';
import { type RunboardDeps, RunboardHost } from './runboard-host';

export const openRunboardCommand = 'ocr.openRunboard';
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
    onDidChangeStore: ctx.backend.onDidChange,
    setActiveSession: (id) => ctx.setActiveSession(id),
    onDidChangeActiveSession: ctx.onDidChangeActiveSession,
    executors: executorOptions,
    log: ctx.log,
    showError: (message) => void vscode.window.showErrorMessage(message),
  };
}

/** The shell, and every agent profile whose CLI this machine has; the `ocr.defaultExecutor` first. */
export function executorOptions(): ExecutorOption[] {
  const { settings } = readSettings();
  const config = { agents: settings['agents.profiles'] };
  const available = new Set(availableAgents(config));
  const options: ExecutorOption[] = [
    { id: 'shell', label: 'shell', executor: 'shell', profile: null },
    ...Object.keys(agentProfiles(config))
      .filter((p) => available.has(p))
      .map((p): ExecutorOption => ({ id: `agent:${p}`, label: p, executor: 'agent', profile: p })),
  ];
  const preferred = settings.defaultExecutor;
  return options.sort((a, b) => Number((b.profile ?? 'shell') === preferred) - Number((a.profile ?? 'shell') === preferred));
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
