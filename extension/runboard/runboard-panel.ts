import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { z } from 'zod';
import type { Log } from '../log';

export const openRunboardCommand = 'ocr.openRunboard';
export const runboardViewType = 'ocr.runboard';
const title = 'Runboard';

const fromWebview = z.discriminatedUnion('type', [z.object({ type: z.literal('ready') })]);

/** The single Runboard panel: created on first use, revealed afterwards, restored by VS Code after a reload. */
export class RunboardPanel {
  private static current: RunboardPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  /** Whether the person can see the Runboard now. */
  static get visible(): boolean {
    return RunboardPanel.current?.panel.visible ?? false;
  }

  static createOrShow(extensionUri: vscode.Uri, version: string, log: Log): RunboardPanel {
    if (RunboardPanel.current) {
      RunboardPanel.current.panel.reveal();
      return RunboardPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(runboardViewType, title, vscode.ViewColumn.Active, webviewOptions(extensionUri));
    RunboardPanel.current = new RunboardPanel(panel, extensionUri, version, log);
    return RunboardPanel.current;
  }

  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, version: string, log: Log): void {
    panel.webview.options = webviewOptions(extensionUri);
    RunboardPanel.current = new RunboardPanel(panel, extensionUri, version, log);
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly version: string,
    private readonly log: Log,
  ) {
    panel.webview.html = placeholderHtml(panel.webview);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'extension', 'media', 'ocr.svg');
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
    panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message), undefined, this.disposables);
  }

  // Posting before the webview said `ready` would be lost, so the first message always answers `ready`.
  private receive(message: unknown): void {
    const parsed = fromWebview.safeParse(message);
    if (!parsed.success) {
      this.log.warn(`ignored a malformed message from the Runboard: ${parsed.error.message}`);
      return;
    }
    this.log.info('Runboard ready');
    void this.panel.webview.postMessage({ type: 'hello', version: this.version });
  }

  private dispose(): void {
    RunboardPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'extension', 'media')],
  };
}

function placeholderHtml(webview: vscode.Webview): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `font-src ${webview.cspSource}`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>${title}</title>
  <style nonce="${nonce}">
    body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 1rem 2rem; }
    h1 { font-weight: 600; font-size: 1.6em; }
    #status { color: var(--vscode-descriptionForeground); }
  </style>
</head>
<body>
  <main>
    <h1 id="title">Ops Control Room Runboard</h1>
    <p id="status">Connecting…</p>
  </main>
  <script nonce="${nonce}">
    const vscode = acquireVsCodeApi();
    window.addEventListener('message', (event) => {
      if (event.data && event.data.type === 'hello') {
        document.getElementById('status').textContent = 'Connected to Ops Control Room ' + event.data.version + '. Sessions and their lanes will appear here.';
      }
    });
    vscode.postMessage({ type: 'ready' });
  </script>
</body>
</html>`;
}
