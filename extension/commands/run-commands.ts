// OCR: Run in Lane, Cancel Run, Retry Run. Each is one function the palette, the tree's menus, scripts and the Runboard
// call alike; the command only asks for what its caller did not give.
import * as vscode from 'vscode';
import { type CancelOutcome, type ExecutorChoice, type LaneRunRequest, lastConversation, type Run, shortId } from '../../domain';
import { followUpText } from '../../worker/runs/follow-up';
import { type QueuedLaneRun, queueLaneRun } from '../../worker/runs/queue-lane-run';
import { readSettings, type Settings } from '../settings';
import { laneState } from '../sessions/sessions-tree';
import { laneOf, runIdOf, sessionIdOf } from './args';
import type { CommandContext } from './context';
import { pickExecutor, pickLane, pickRun, pickSession } from './pick';
import { register } from './register';

/** What a script passes to `ocr.runInLane`: a lane run request, its session the active one when it names none. */
const isScriptedRequest = (arg: unknown): arg is Record<string, unknown> =>
  typeof arg === 'object' && arg !== null && !Array.isArray(arg) && 'intent' in arg;

/**
 * A lane run asked for in the editor (the palette, the tree, the Runboard, a notification's Reply): an agent run gets
 * the budget settings when it names no limit of its own, and a follow-up that could not continue the lane's
 * conversation says so.
 */
export async function queueLaneRunFromEditor(ctx: CommandContext, request: LaneRunRequest): Promise<QueuedLaneRun> {
  const run = await queueLaneRun(await ctx.store(), withAgentBudgets(request, readSettings().settings));
  if (run.followUp) ctx.log.info(`run ${run.id} in lane ${run.lane}: ${followUpText(run.followUp)}`);
  if (run.followUp?.kind === 'new') void vscode.window.showInformationMessage(`Lane ${run.lane}: ${followUpText(run.followUp)}.`);
  return run;
}

/**
 * `ocr.agents.maxCostUsd` and `ocr.agents.maxMinutes` for an agent run that names no cost or time limit, and the
 * session's and lane's limits (`ocr.agents.sessionMaxCostUsd`, `ocr.agents.laneMaxCostUsd`) unless it names its own.
 */
export function withAgentBudgets(
  request: LaneRunRequest,
  settings: Pick<Settings, 'agents.maxCostUsd' | 'agents.maxMinutes' | 'agents.sessionMaxCostUsd' | 'agents.laneMaxCostUsd'>,
): LaneRunRequest {
  if (request.run_with?.executor !== 'agent') return request;
  const maxCost = settings['agents.maxCostUsd'];
  const maxMinutes = settings['agents.maxMinutes'];
  const sessionMax = settings['agents.sessionMaxCostUsd'];
  const laneMax = settings['agents.laneMaxCostUsd'];
  return {
    ...request,
    ...(request.session_max_cost_usd === undefined && sessionMax !== null ? { session_max_cost_usd: sessionMax } : {}),
    ...(request.lane_max_cost_usd === undefined && laneMax !== null ? { lane_max_cost_usd: laneMax } : {}),
    ...(request.max_cost_usd === undefined && maxCost !== null ? { max_cost_usd: maxCost } : {}),
    ...(request.timeout_seconds === undefined && maxMinutes !== null ? { timeout_seconds: maxMinutes * 60 } : {}),
  };
}

export async function cancelRun(ctx: CommandContext, runId: string): Promise<CancelOutcome> {
  const { outcome, run } = await (await ctx.store()).cancelRun(runId);
  if (outcome === 'already_finished') void vscode.window.showInformationMessage(`Run ${shortId(run.id)} had already finished (${run.status}).`);
  ctx.log.info(`cancel run ${run.id}: ${outcome}`);
  return outcome;
}

export async function retryRun(ctx: CommandContext, runId: string): Promise<Run> {
  const run = await (await ctx.store()).retryRun(runId);
  ctx.log.info(`run ${runId} retried as ${run.id}`);
  return run;
}

export function registerRunCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.runInLane', async (arg?: unknown) => {
      const store = await ctx.store();
      if (isScriptedRequest(arg)) {
        const run = await queueLaneRunFromEditor(ctx, { ...arg, session_id: arg.session_id ?? ctx.activeSessionId } as LaneRunRequest);
        return run.id;
      }
      const target = laneOf(arg);
      const sessionId = target?.sessionId ?? sessionIdOf(arg);
      await ctx.model.ensureStarted();
      const session = sessionId ? ctx.model.session(sessionId) ?? (await store.getSession(sessionId)) : await pickActiveOrAsk(ctx);
      if (!session) return undefined;
      const lane = target?.lane ?? (await pickLane(ctx, session));
      if (!lane) return undefined;
      const intent = await vscode.window.showInputBox({
        title: `Run in lane ${lane} of "${session.title}"`,
        prompt: `What should lane ${lane} do? (${laneState(ctx.model.runs(session.id, lane))})`,
        placeHolder: 'npm test',
        validateInput: (v) => (v.trim() ? undefined : 'A run needs an intent'),
      });
      if (!intent) return undefined;
      const runWith: ExecutorChoice | undefined = await pickExecutor();
      if (!runWith) return undefined;
      const followUp = await askFollowUp(ctx.model.runs(session.id, lane), runWith);
      if (followUp === undefined) return undefined;
      const run = await queueLaneRunFromEditor(ctx, { session_id: session.id, lane, intent, run_with: runWith, ...(followUp ? { follow_up: true } : {}) });
      await ctx.setActiveSession(session.id);
      return run.id;
    }),

    register(ctx, 'ocr.cancelRun', async (arg?: unknown) => {
      const runId = runIdOf(arg) ?? (await pickRun(ctx, ['queued', 'running'], 'Cancel which run?'))?.id;
      return runId ? cancelRun(ctx, runId) : undefined;
    }),

    register(ctx, 'ocr.retryRun', async (arg?: unknown) => {
      const runId = runIdOf(arg) ?? (await pickRun(ctx, ['failed', 'canceled', 'succeeded'], 'Retry which run?'))?.id;
      return runId ? (await retryRun(ctx, runId)).id : undefined;
    }),
  ];
}

async function pickActiveOrAsk(ctx: CommandContext) {
  const active = ctx.activeSessionId ? ctx.model.session(ctx.activeSessionId) : undefined;
  return active ?? (await pickSession(ctx, 'Run in which session?'));
}

/**
 * For an agent run in a lane whose last conversation that agent can continue: follow it up (first, the usual answer) or
 * start a new one. False when there is nothing to ask; undefined when the person backed out.
 */
async function askFollowUp(runs: readonly Run[], runWith: ExecutorChoice): Promise<boolean | undefined> {
  if (runWith.executor !== 'agent') return false;
  const last = lastConversation(runs);
  if (!last || (runWith.profile !== undefined && runWith.profile !== last.agent?.profile)) return false;
  const followUp = { label: 'Follow up', description: `continue the ${last.agent!.profile} conversation of run ${shortId(last.id)}`, value: true };
  const fresh = { label: 'New conversation', description: 'the agent starts without what it was told before', value: false };
  return (await vscode.window.showQuickPick([followUp, fresh], { title: `Lane ${last.lane} has an agent conversation`, placeHolder: 'Follow up, or start a new conversation?' }))?.value;
}
