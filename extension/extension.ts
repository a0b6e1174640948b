import * as vscode from 'vscode';
import { createLog } from './log';
import { openRunboardCommand, RunboardPanel, runboardViewType } from './runboard/runboard-panel';
import { SessionsTreeProvider, sessionsViewId } from './sessions/sessions-tree';
import { createStatusBarItem } from './status-bar';

export function activate(context: vscode.ExtensionContext): void {
  const log = createLog(context);
  const version = String(context.extension.packageJSON.version);
  const sessions = new SessionsTreeProvider();
  context.subscriptions.push(
    sessions,
    vscode.window.registerTreeDataProvider(sessionsViewId, sessions),
    createStatusBarItem(),
    vscode.commands.registerCommand(openRunboardCommand, () => RunboardPanel.createOrShow(context.extensionUri, version, log)),
    vscode.window.registerWebviewPanelSerializer(runboardViewType, {
      async deserializeWebviewPanel(panel) {
        RunboardPanel.revive(panel, context.extensionUri, version, log);
      },
    }),
  );
  log.info(`Ops Control Room ${version} activated (VS Code ${vscode.version}, ${vscode.env.uiKind === vscode.UIKind.Web ? 'web' : 'desktop'} UI)`);
}

export function deactivate(): void {}
