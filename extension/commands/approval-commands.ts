// OCR: Approve Run, OCR: Reject Run — a runbook run waiting at an approval gate. One function each, which the
// palette, the Sessions tree, the notification and the Runboard call alike.
import * as vscode from 'vscode';
import { type Run, shortId } from '../../domain';
import { runIdOf } from './args';
import type { CommandContext } from './context';
import { pickRun } from './pick';
import { register } from './register';

export async function approveRun(ctx: CommandContext, runId: string, note?: string): Promise<Run> {
  const run = await (await ctx.store()).approveRun(runId, note);
  ctx.log.info(`run ${run.id} approved at step ${run.approval?.step_id ?? '?'}`);
  return run;
}

export async function rejectRun(ctx: CommandContext, runId: string, reason?: string): Promise<Run> {
  const run = await (await ctx.store()).rejectRun(runId, reason);
  ctx.log.info(`run ${run.id} rejected${reason ? `: ${reason}` : ''}`);
  return run;
}

/** The reason a person gives for rejecting (undefined when they backed out). */
export async function askRejectReason(run: Pick<Run, 'id' | 'lane'>): Promise<string | undefined> {
  return vscode.window.showInputBox({
    title: `Reject run ${shortId(run.id)} in lane ${run.lane}`,
    prompt: 'Why? (kept with the run)',
    placeHolder: 'not during the freeze',
  });
}

export function registerApprovalCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.approveRun', async (arg?: unknown) => {
      const runId = runIdOf(arg) ?? (await pickRun(ctx, ['waiting'], 'Approve which run?'))?.id;
      return runId ? (await approveRun(ctx, runId)).id : undefined;
    }),
    register(ctx, 'ocr.rejectRun', async (arg?: unknown) => {
      const scripted = typeof arg === 'object' && arg !== null && typeof (arg as { reason?: unknown }).reason === 'string' ? (arg as { reason: string }).reason : undefined;
      const run = runIdOf(arg) ? await (await ctx.store()).getRun(runIdOf(arg)!) : await pickRun(ctx, ['waiting'], 'Reject which run?');
      if (!run) return undefined;
      const reason = scripted ?? (await askRejectReason(run));
      if (reason === undefined) return undefined;
      return (await rejectRun(ctx, run.id, reason)).id;
    }),
  ];
}
