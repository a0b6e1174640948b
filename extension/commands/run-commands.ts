// OCR: Run in Lane, Cancel Run, Retry Run
import * as vscode from 'vscode';
import { shortId } from '../../domain';
import { laneState } from '../sessions/sessions-tree';
import { laneOf, RunInLaneArg, runIdOf, sessionIdOf } from './args';
import type { CommandContext } from './context';
import { pickExecutor, pickLane, pickRun, pickSession } from './pick';
import { register } from './register';

/** The priority Ctrl/Cmd+Enter and "high priority" give: ahead of every run at the default 100. */
export const highPriority = 10;

export function registerRunCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.runInLane', async (arg?: unknown) => {
      const store = await ctx.store();
      const scripted = RunInLaneArg.safeParse(arg);
      if (scripted.success || (typeof arg === 'object' && arg !== null && 'intent' in arg)) {
        // a script or the Runboard: everything is in the argument (and a wrong one is reported, not asked again)
        const input = scripted.success ? scripted.data : RunInLaneArg.parse(arg);
        const sessionId = input.sessionId ?? ctx.activeSessionId;
        if (!sessionId) throw new Error('no session: pass sessionId, or make a session active first');
        const run = await store.createRun({
          session_id: sessionId,
          lane: input.lane,
          intent: input.intent,
          executor: input.executor,
          spec: input.profile ? { profile: input.profile } : {},
          priority: input.priority ?? 100,
        });
        return run.id;
      }
      const target = laneOf(arg);
      const sessionId = target?.sessionId ?? sessionIdOf(arg) ?? undefined;
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
      const executor = await pickExecutor();
      if (!executor) return undefined;
      const run = await store.createRun({
        session_id: session.id,
        lane,
        intent,
        executor: executor.executor,
        spec: executor.profile ? { profile: executor.profile } : {},
      });
      await ctx.setActiveSession(session.id);
      return run.id;
    }),

    register(ctx, 'ocr.cancelRun', async (arg?: unknown) => {
      const runId = runIdOf(arg) ?? (await pickRun(ctx, ['queued', 'running'], 'Cancel which run?'))?.id;
      if (!runId) return undefined;
      const { outcome, run } = await (await ctx.store()).cancelRun(runId);
      if (outcome === 'already_finished') void vscode.window.showInformationMessage(`Run ${shortId(run.id)} had already finished (${run.status}).`);
      ctx.log.info(`cancel run ${run.id}: ${outcome}`);
      return outcome;
    }),

    register(ctx, 'ocr.retryRun', async (arg?: unknown) => {
      const runId = runIdOf(arg) ?? (await pickRun(ctx, ['failed', 'canceled', 'succeeded'], 'Retry which run?'))?.id;
      if (!runId) return undefined;
      const run = await (await ctx.store()).retryRun(runId);
      ctx.log.info(`run ${runId} retried as ${run.id}`);
      return run.id;
    }),
  ];
}

async function pickActiveOrAsk(ctx: CommandContext) {
  const active = ctx.activeSessionId ? ctx.model.session(ctx.activeSessionId) : undefined;
  return active ?? (await pickSession(ctx, 'Run in which session?'));
}

