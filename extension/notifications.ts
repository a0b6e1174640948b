// When a run ends while the Runboard is out of sight, a notification says so, with what one does next.
import * as vscode from 'vscode';
import { oneLine, runDuration, shortId } from '../domain';
import type { RunTransition, SessionsModel } from './sessions/sessions-model';
import { readSettings } from './settings';

export function watchRunEnds(model: SessionsModel, runboardVisible: () => boolean): vscode.Disposable {
  return model.onDidFinishRun(({ run }: RunTransition) => {
    if (!readSettings().settings['notifications.enabled'] || runboardVisible()) return;
    const intent = oneLine(run.intent, 60);
    const took = runDuration(run);
    const actions = ['Show Log', ...(run.status === 'succeeded' ? ['Open Diff'] : ['Retry'])];
    const text = `Lane ${run.lane}: "${intent}" ${run.status}${took ? ` after ${took}` : ''}${run.error ? ` — ${run.error}` : ''} (${shortId(run.id)})`;
    const show = run.status === 'failed' ? vscode.window.showErrorMessage : run.status === 'canceled' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(text, ...actions).then((choice) => {
      if (choice === 'Show Log') void vscode.commands.executeCommand('ocr.showRunLog', { runId: run.id });
      else if (choice === 'Open Diff') void vscode.commands.executeCommand('ocr.openLaneDiff', { runId: run.id });
      else if (choice === 'Retry') void vscode.commands.executeCommand('ocr.retryRun', { runId: run.id });
    });
  });
}
