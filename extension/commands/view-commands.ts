// OCR: Show Run Log, OCR: Open Lane Diff, OCR: Apply Lane Changes. Each is one function the palette, the tree's menus,
// scripts and the Runboard call alike.
import * as vscode from 'vscode';
import { z } from 'zod';
import type { Run } from '../../domain';
import type { Store } from '../../worker/store/store';
import { type ApplyLaneResult, applyLaneChanges, openLaneDiff, type OpenLaneDiffResult, untrustedReason } from '../diff/lane-diff';
import { showRunLog } from '../runs/run-log';
import { laneOf, runIdOf } from './args';
import type { CommandContext } from './context';
import { pickRun } from './pick';
import { register } from './register';

/** A line of a run to open its log at (Search Run Logs…, scripts): its seq, and the text in it to select. */
const RunLineArg = z.object({ runId: z.string().uuid(), seq: z.number().int().min(1), match: z.string().optional() });

export async function openRunLog(ctx: CommandContext, runId: string, at?: { seq: number; match?: string }): Promise<void> {
  await showRunLog(await ctx.store(), runId, at ?? {});
}

export async function openRunDiff(ctx: CommandContext, run: Run): Promise<OpenLaneDiffResult> {
  const store = await ctx.store();
  return openLaneDiff(store, run, await store.getSession(run.session_id));
}

/** Applies the run's changes to the session's repository, or the workspace's first folder; asks first unless told not to. */
export async function applyRunChanges(ctx: CommandContext, run: Run, options: { confirm: boolean }): Promise<ApplyLaneResult> {
  const store = await ctx.store();
  const session = await store.getSession(run.session_id);
  const target = session.repo_path ?? vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
  if (!target) throw new Error("there is no working tree to apply the changes to: open the session's repository as a workspace folder");
  return applyLaneChanges(store, run, session, target, options);
}

export function registerViewCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.showRunLog', async (arg?: unknown) => {
      const runId = runIdOf(arg) ?? (await pickRun(ctx, ['queued', 'running', 'succeeded', 'failed', 'canceled'], 'Show the log of which run?'))?.id;
      if (!runId) return undefined;
      const line = RunLineArg.safeParse(arg);
      await openRunLog(ctx, runId, line.success ? { seq: line.data.seq, match: line.data.match } : undefined);
      return runId;
    }),

    register(ctx, 'ocr.openLaneDiff', async (arg?: unknown) => {
      // In an untrusted workspace: one message, and no picker, store or git first.
      if (saysUntrusted('Open Lane Diff')) return undefined;
      const run = await runWithDiff(ctx, await ctx.store(), arg, 'Open the diff of which run?');
      if (!run) return undefined;
      await openRunDiff(ctx, run);
      return run.id;
    }),

    register(ctx, 'ocr.applyLaneChanges', async (arg?: unknown) => {
      if (saysUntrusted('Apply Lane Changes')) return undefined;
      const run = await runWithDiff(ctx, await ctx.store(), arg, 'Apply the changes of which run?');
      if (!run) return undefined;
      const scripted = typeof arg === 'object' && arg !== null && 'runId' in arg && (arg as { confirm?: unknown }).confirm === false;
      return applyRunChanges(ctx, run, { confirm: !scripted });
    }),
  ];
}

function saysUntrusted(action: 'Open Lane Diff' | 'Apply Lane Changes'): boolean {
  const reason = untrustedReason(action);
  if (reason) void vscode.window.showWarningMessage(reason);
  return reason !== undefined;
}

/** The run itself, or for a lane its newest finished run: the lane's changes so far. */
async function runWithDiff(ctx: CommandContext, store: Store, arg: unknown, placeHolder: string): Promise<Run | undefined> {
  const runId = runIdOf(arg);
  if (runId) return store.getRun(runId);
  const lane = laneOf(arg);
  if (lane) {
    const runs = await store.listRuns({ sessionId: lane.sessionId, lane: lane.lane, status: ['succeeded', 'failed', 'canceled'], limit: 1 });
    if (!runs[0]) {
      void vscode.window.showInformationMessage(`Lane ${lane.lane} has no finished run yet, so it has no changes to show.`);
      return undefined;
    }
    return runs[0];
  }
  return pickRun(ctx, 'finished', placeHolder);
}
