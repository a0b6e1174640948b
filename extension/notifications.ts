// When a run ends while the Runboard is out of sight, a notification says so, with what one does next; when a run
// waits for approval, a notification asks for it, Runboard or not.
import * as vscode from 'vscode';
import { oneLine, type Run, runDuration, shortId } from '../domain';
import { OcrError } from '../worker/store/errors';
import { approveRun, askRejectReason, rejectRun } from './commands/approval-commands';
import type { CommandContext } from './commands/context';
import type { RunTransition, SessionsModel, WaitingRun } from './sessions/sessions-model';
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

/** An approval the editor asked for in a notification. */
export interface ApprovalPrompt {
  runId: string;
  text: string;
}

/**
 * When a run this window watches stops at an approval gate, a warning says so with Approve and Reject, whether or not
 * the Runboard is visible and whatever `ocr.notifications.enabled` says: an approval must not be missed. Reject asks
 * for the reason; backing out of that asks again while the run still waits. Each gate is asked about once.
 */
export function watchApprovals(ctx: CommandContext, onPrompt: (prompt: ApprovalPrompt) => void = () => undefined): vscode.Disposable {
  const asked = new Set<string>();
  const ask = (run: Run): void => {
    const text = approvalText(run);
    onPrompt({ runId: run.id, text });
    void vscode.window.showWarningMessage(text, approve, reject).then(async (choice) => {
      try {
        if (choice === approve) await approveRun(ctx, run.id);
        else if (choice === reject) {
          const reason = await askRejectReason(run);
          if (reason !== undefined) await rejectRun(ctx, run.id, reason);
          else if (ctx.model.run(run.id)?.status === 'waiting') ask(ctx.model.run(run.id)!);
        }
      } catch (e) {
        ctx.log.error(`${choice === approve ? 'approving' : 'rejecting'} run ${run.id} failed`, e);
        void vscode.window.showErrorMessage(`Ops Control Room: ${e instanceof OcrError ? e.line : (e as Error).message}`);
      }
    });
  };
  return ctx.model.onDidStartWaiting(({ run }: WaitingRun) => {
    const gate = `${run.id} ${run.attempt} ${run.approval?.step ?? ''} ${run.approval?.requested_at ?? ''}`;
    if (asked.has(gate)) return;
    if (asked.size > 1000) asked.clear();
    asked.add(gate);
    ask(run);
  });
}

const approve = 'Approve';
const reject = 'Reject';

/** "Run 1a2b3c4d (runbook deploy-web) in lane A waits for approval: Deploy 1.2.3 to prod?" */
export function approvalText(run: Run): string {
  const name = typeof run.spec.name === 'string' ? ` (runbook ${run.spec.name})` : '';
  const message = run.approval?.message ? oneLine(run.approval.message, 200) : 'approve or reject it';
  return `Run ${shortId(run.id)}${name} in lane ${run.lane} waits for approval: ${message}`;
}
