// What the Runboard page asks of the editor. Each request goes through the command a person or a script would use
// (Run in Lane, Cancel Run, Open Lane Diff…), so that it behaves the same from the page, the palette and the tree.
import * as vscode from 'vscode';
import { z } from 'zod';
import { OcrError } from '../../worker/store/errors';
import type { RequestHandlers } from '../../webview/protocol';

/** What the handlers need of the panel: switching the session it shows. */
export interface SessionSwitcher {
  /** Makes the session the shown one; the snapshot follows the response. */
  selectSession(sessionId: string): Promise<void>;
  /** Shows a session that was just created. */
  showCreated(sessionId: string): void;
}

const RunId = z.string().uuid();
const CancelOutcome = z.enum(['canceled', 'cancel_requested', 'already_finished']);
const ApplyResult = z.object({ outcome: z.enum(['applied', 'conflict', 'declined', 'nothing']), message: z.string().optional() });

/** A command's answer, checked: the commands return what their callers need, typed as unknown across executeCommand. */
async function command<T extends z.ZodType>(id: string, arg: unknown, result: T): Promise<z.infer<T>> {
  const answer: unknown = await vscode.commands.executeCommand(id, arg);
  const parsed = result.safeParse(answer);
  // undefined means the command stopped without doing anything (it told the person why)
  if (!parsed.success) throw new OcrError('invalid_state', `${id} did not finish`);
  return parsed.data;
}

export function requestHandlers(panel: SessionSwitcher): RequestHandlers {
  return {
    selectSession: async ({ session_id }) => {
      await panel.selectSession(session_id);
      return {};
    },
    createSession: async ({ title, intent }) => {
      const sessionId = await command('ocr.newSession', { title, intent }, RunId);
      panel.showCreated(sessionId);
      return { session_id: sessionId };
    },
    run: async (p) => {
      if (p.executor === 'runbook') throw new OcrError('invalid_input', "a runbook run starts from a template, not from a lane's input", 'choose the shell or an agent');
      const runId = await command(
        'ocr.runInLane',
        { sessionId: p.session_id, lane: p.lane, intent: p.intent, executor: p.executor, profile: p.profile ?? undefined, priority: p.priority },
        RunId,
      );
      return { run_id: runId };
    },
    cancelRun: async ({ run_id }) => ({ outcome: await command('ocr.cancelRun', { runId: run_id }, CancelOutcome) }),
    retryRun: async ({ run_id }) => ({ run_id: await command('ocr.retryRun', { runId: run_id }, RunId) }),
    openDiff: async ({ run_id }) => {
      await command('ocr.openLaneDiff', { runId: run_id }, RunId);
      return {};
    },
    applyDiff: async ({ run_id }) => {
      const { outcome, message } = await command('ocr.applyLaneChanges', { runId: run_id }, ApplyResult);
      // A conflict or an empty diff was already explained in a notification; the page shows it beside the button too.
      if (outcome === 'conflict') throw new OcrError('patch_conflict', 'the changes do not apply to the workspace; nothing was changed');
      if (outcome === 'nothing') throw new OcrError('diff_unavailable', message || 'there are no changes to apply');
      return { applied: outcome === 'applied' };
    },
    openLog: async ({ run_id }) => {
      await command('ocr.showRunLog', { runId: run_id }, RunId);
      return {};
    },
    copyText: async ({ text }) => {
      await vscode.env.clipboard.writeText(text);
      return {};
    },
  };
}
