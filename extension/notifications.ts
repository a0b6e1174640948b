// When a run ends while the Runboard is out of sight, a notification says so, with what one does next (for a coding
// agent that asked a question or was denied a tool: Reply, Allow); when a run waits for approval, a notification asks
// for it, Runboard or not.
import * as vscode from 'vscode';
import { oneLine, type Run, runDuration, shortId } from '../domain';
import { OcrError } from '../worker/store/errors';
import { approveRun, askRejectReason, rejectRun } from './commands/approval-commands';
import { queueLaneRunFromEditor } from './commands/run-commands';
import type { CommandContext } from './commands/context';
import type { RunTransition, SessionsModel, WaitingRun } from './sessions/sessions-model';
import { readSettings } from './settings';

export function watchRunEnds(model: SessionsModel, runboardVisible: () => boolean): vscode.Disposable {
  return model.onDidFinishRun(({ run }: RunTransition) => {
    if (!readSettings().settings['notifications.enabled'] || runboardVisible()) return;
    if (needsInput(run)) return; // watchNeedsInput asks for it instead
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

/** A run whose agent stopped for the user: it asked a question, or it was denied a tool. */
const needsInput = (run: Run): boolean => run.status === 'succeeded' && run.agent?.needsInput !== undefined;

/** A needs-input notification the editor showed. */
export interface NeedsInputPrompt {
  runId: string;
  text: string;
}

/**
 * When a coding agent's run ends needing input, the same rule as for any run's end says whether to notify (the
 * setting, the Runboard out of sight); the notification says what the agent asked or was denied, and offers Reply (a
 * follow-up with the person's answer as its prompt) and, for denied tools, Allow (a follow-up that may use them).
 */
export function watchNeedsInput(ctx: CommandContext, runboardVisible: () => boolean, onPrompt: (prompt: NeedsInputPrompt) => void = () => undefined): vscode.Disposable {
  return ctx.model.onDidFinishRun(({ run }: RunTransition) => {
    if (!needsInput(run) || !readSettings().settings['notifications.enabled'] || runboardVisible()) return;
    const text = needsInputText(run);
    onPrompt({ runId: run.id, text });
    const tools = deniedTools(run);
    const allow = tools.length > 0 ? `Allow ${oneLine(tools.join(', '), 40)}` : undefined;
    void vscode.window.showWarningMessage(text, reply, ...(allow ? [allow] : []), showLog).then(async (choice) => {
      try {
        if (choice === reply) await replyTo(ctx, run);
        else if (choice !== undefined && choice === allow) await followUp(ctx, run, `Continue: ${run.intent}`, tools);
        else if (choice === showLog) await vscode.commands.executeCommand('ocr.showRunLog', { runId: run.id });
      } catch (e) {
        ctx.log.error(`answering run ${run.id} failed`, e);
        void vscode.window.showErrorMessage(`Ops Control Room: ${e instanceof OcrError ? e.line : (e as Error).message}`);
      }
    });
  });
}

const reply = 'Reply';
const showLog = 'Show Log';

/** "Lane B needs input: Which database should I use? (run 1a2b3c4d)" / "Lane A needs input: Bash was denied (run …)" */
export function needsInputText(run: Run): string {
  const asked = run.agent?.needsInput;
  const what = asked?.reason === 'permission' ? `${oneLine(asked.detail, 120)} was denied` : oneLine(asked?.detail ?? '', 200);
  return `Lane ${run.lane} needs input: ${what} (run ${shortId(run.id)})`;
}

function deniedTools(run: Run): string[] {
  if (run.agent?.needsInput?.reason !== 'permission') return [];
  return [...new Set(run.agent.denials.map((d) => d.tool))].slice(0, 10);
}

async function replyTo(ctx: CommandContext, run: Run): Promise<void> {
  const asked = run.agent!.needsInput!;
  const answer = await vscode.window.showInputBox({
    title: `Reply to the agent in lane ${run.lane}`,
    prompt: asked.reason === 'question' ? oneLine(asked.detail, 300) : `It was denied ${oneLine(asked.detail, 120)}. What should it do instead?`,
    placeHolder: 'Your answer: it continues the same conversation',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'A reply needs some text'),
  });
  if (answer?.trim()) await followUp(ctx, run, answer, []);
}

/** A follow-up in the run's lane with the run's profile; `allowedTools` added to what the conversation may use. */
async function followUp(ctx: CommandContext, run: Run, intent: string, allowedTools: string[]): Promise<void> {
  const queued = await queueLaneRunFromEditor(ctx, {
    session_id: run.session_id,
    lane: run.lane,
    intent,
    run_with: { executor: 'agent', profile: run.agent!.profile },
    follow_up: true,
    ...(allowedTools.length > 0 ? { allowed_tools: allowedTools } : {}),
  });
  ctx.log.info(`follow-up of run ${run.id} queued as run ${queued.id}`);
}
