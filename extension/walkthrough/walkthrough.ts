// The first-run walkthrough (package.json `contributes.walkthroughs`): opened once per machine on the first activation,
// again with "OCR: Get Started"; its commands for adding a worker machine; the context keys its steps wait for.
import path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import type { CommandContext } from '../commands/context';
import { register } from '../commands/register';
import { readSettings } from '../settings';
import { WalkthroughProgress } from './progress';
import { workerCommandLine } from './worker-command-line';

/** The walkthrough's id in package.json; VS Code knows it as `<extension id>#<this>`. */
export const walkthroughId = 'ocr.firstRun';
/** A flag in the machine's global state: the walkthrough was opened once. */
const shownKey = 'ocr.walkthrough.shown';
const workerGuideHeading = /^## Add a worker machine\s*$/;

export function registerWalkthrough(ctx: CommandContext): { disposables: vscode.Disposable[]; progress: WalkthroughProgress } {
  const progress = new WalkthroughProgress(ctx);
  const disposables = [
    progress,
    register(ctx, 'ocr.openWalkthrough', async () => openWalkthrough(ctx.extension)),
    register(ctx, 'ocr.copyWorkerCommand', async () => copyWorkerCommand(ctx)),
    register(ctx, 'ocr.openWorkerGuide', async () => openWorkerGuide(ctx.extension)),
  ];
  // after activation returns, like everything else that shows something
  setTimeout(() => void openOnFirstRun(ctx).catch((e: unknown) => ctx.log.error('could not open the walkthrough', e)), 0);
  return { disposables, progress };
}

function openWalkthrough(extension: vscode.ExtensionContext): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openWalkthrough', `${extension.extension.id}#${walkthroughId}`, false);
}

/** Opens the walkthrough the first time the extension activates on this machine, unless the setting says not to. */
async function openOnFirstRun(ctx: CommandContext): Promise<void> {
  const { extension, log } = ctx;
  if (extension.extensionMode === vscode.ExtensionMode.Test) return;
  if (extension.globalState.get<boolean>(shownKey)) {
    log.info('walkthrough: not opened, the first activation on this machine is past');
    return;
  }
  // set first: a window that reloads while the walkthrough opens must not open it again; and a first activation told
  // not to open it is the first all the same (a later start, whose settings may still be loading, must not open it)
  await extension.globalState.update(shownKey, true);
  const wanted = z.boolean().catch(true).parse(vscode.workspace.getConfiguration('ocr').get('walkthrough.openOnFirstRun'));
  if (!wanted) {
    log.info('walkthrough: not opened (ocr.walkthrough.openOnFirstRun is false)');
    return;
  }
  await openWalkthrough(extension);
  log.info('walkthrough: opened on the first activation on this machine');
}

/** Puts the `ocr worker` command line for another machine on the clipboard, and answers it. */
async function copyWorkerCommand(ctx: CommandContext): Promise<string> {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  const { settings } = readSettings();
  const supabase = settings.backend === 'supabase' && settings['supabase.url'] ? `${settings['supabase.url'].replace(/\/$/, '')}/functions/v1/ops-api` : undefined;
  const line = workerCommandLine({ repoName: folder ? path.basename(folder.uri.fsPath) : undefined, concurrency: settings['worker.concurrency'], ...(supabase ? { apiUrl: supabase } : {}) });
  await vscode.env.clipboard.writeText(line);
  const shared = settings.backend === 'postgres' || Boolean(process.env.OCR_DATABASE_URL);
  const connect = 'Connect to Postgres…';
  const guide = 'How to Add a Worker Machine';
  // not awaited: the command is done once the line is copied, whatever the person does with the message
  const asked = supabase
    ? vscode.window.showInformationMessage(`Copied: ${line}. On the other machine, put a worker token (\`ocr token create --name NAME\`, or Set Worker Token… here) into ~/.config/ocr/worker-token first.`, guide)
    : shared
    ? vscode.window.showInformationMessage(`Copied: ${line}. On the other machine, put the database URL into ~/.config/ocr/db-url first.`, guide)
    : vscode.window.showInformationMessage(
        `Copied: ${line}. The queue is in the embedded database on this machine, which no other machine reaches: connect to a PostgreSQL both machines reach first.`,
        connect,
        guide,
      );
  void asked.then((answer) => {
    if (answer === connect) void vscode.commands.executeCommand('ocr.connectPostgres');
    if (answer === guide) void vscode.commands.executeCommand('ocr.openWorkerGuide');
  });
  return line;
}

/** The README that ships with the extension, at its "Add a worker machine" section. */
async function openWorkerGuide(extension: vscode.ExtensionContext): Promise<void> {
  const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(extension.extensionUri, 'README.md'));
  let line = 0;
  for (let i = 0; i < document.lineCount; i++) {
    if (workerGuideHeading.test(document.lineAt(i).text)) {
      line = i;
      break;
    }
  }
  const at = new vscode.Range(line, 0, line, 0);
  const editor = await vscode.window.showTextDocument(document, { preview: true, selection: at });
  editor.revealRange(at, vscode.TextEditorRevealType.AtTop);
}
