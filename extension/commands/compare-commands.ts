// OCR: Compare in Lanes… — one intent tried in 2 to 4 lanes, each its own way — and OCR: Show Comparison. The palette,
// the Sessions tree and the Runboard call the same functions; the Runboard's Compare view shows the group.
import * as vscode from 'vscode';
import { z } from 'zod';
import { type ComparisonAttempt, type ExecutorChoice, isFinal, isVerifyRun, maxAttempts, minAttempts, type Session, shortId } from '../../domain';
import { executorOptions } from '../../worker/engine/executors';
import { type QueuedComparison, queueComparison, sessionGroups } from '../../worker/lanes/compare';
import { laneState } from '../sessions/sessions-tree';
import { readSettings } from '../settings';
import { RunArg, sessionIdOf } from './args';
import { landLaneCommand } from './land-commands';
import { OcrError } from '../../worker/store/errors';
import type { CommandContext } from './context';
import { pickSession } from './pick';
import { register } from './register';
import { withAgentBudgets } from './run-commands';

export const compareInLanesCommand = 'ocr.compareInLanes';
/** Reveals the Runboard on a session's comparison group (the Runboard registers it). */
export const revealComparisonCommand = 'ocr.revealComparison';
export const ComparisonArg = z.object({ sessionId: z.string().uuid(), groupId: z.string().uuid() });
/** "Pick" on an attempt: lands its lane and archives the other attempts' branches, given `{ runId }` */
export const pickAttemptCommand = 'ocr.pickAttempt';

/**
 * Queues a comparison asked for in the editor: each agent attempt gets the budget settings, as a lane run from the
 * editor does (ocr.agents.maxCostUsd, maxMinutes; the session and lane limits are not applied to a comparison's
 * attempts one by one: each attempt is a lane run of its own and is refused or lowered like one).
 */
export async function queueComparisonFromEditor(ctx: CommandContext, request: Parameters<typeof queueComparison>[1]): Promise<QueuedComparison> {
  const { settings } = readSettings();
  const budget = withAgentBudgets(
    { session_id: request.session_id, lane: 'A', intent: request.intent, run_with: { executor: 'agent' } },
    { ...settings, 'agents.sessionMaxCostUsd': null, 'agents.laneMaxCostUsd': null },
  );
  const queued = await queueComparison(await ctx.store(), {
    ...request,
    ...(request.max_cost_usd === undefined && budget.max_cost_usd !== undefined ? { max_cost_usd: budget.max_cost_usd } : {}),
    ...(request.timeout_seconds === undefined && budget.timeout_seconds !== undefined ? { timeout_seconds: budget.timeout_seconds } : {}),
  });
  ctx.log.info(`comparison ${queued.groupId} queued in lanes ${[...new Set(queued.runs.map((r) => r.lane))].join(', ')}`);
  return queued;
}

/** A comparison request a script or test passes, with its session the active one when it names none. */
const isScripted = (arg: unknown): arg is Record<string, unknown> => typeof arg === 'object' && arg !== null && 'attempts' in arg;

export function registerCompareCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, compareInLanesCommand, async (arg?: unknown) => {
      if (isScripted(arg)) {
        const queued = await queueComparisonFromEditor(ctx, { ...arg, session_id: arg.session_id ?? ctx.activeSessionId } as Parameters<typeof queueComparison>[1]);
        return queued.groupId;
      }
      const store = await ctx.store();
      await ctx.model.ensureStarted();
      const sessionId = sessionIdOf(arg);
      const session = sessionId ? ctx.model.session(sessionId) ?? (await store.getSession(sessionId)) : await pickActiveOrAsk(ctx);
      if (!session) return undefined;
      const asked = await askComparison(ctx, session);
      if (!asked) return undefined;
      const queued = await queueComparisonFromEditor(ctx, asked);
      await ctx.setActiveSession(session.id);
      // from the palette or the tree: show the comparison; the Runboard that asked shows it itself
      const fromRunboard = typeof arg === 'object' && arg !== null && (arg as { from?: unknown }).from === 'runboard';
      if (!fromRunboard) void vscode.commands.executeCommand(revealComparisonCommand, { sessionId: session.id, groupId: queued.groupId });
      return queued.groupId;
    }),

    register(ctx, pickAttemptCommand, async (arg?: unknown) => pickAttempt(ctx, RunArg.parse(arg).runId)),

    register(ctx, 'ocr.showComparison', async (arg?: unknown) => {
      const session = sessionIdOf(arg) ? await (await ctx.store()).getSession(sessionIdOf(arg)!) : await pickActiveOrAsk(ctx);
      if (!session) return undefined;
      const groups = await sessionGroups(await ctx.store(), session.id);
      if (groups.length === 0) {
        void vscode.window.showInformationMessage(`"${session.title}" has no comparisons yet: start one with Compare in Lanes….`);
        return undefined;
      }
      const items = groups.map((g) => ({ label: g.intent, description: `${shortId(g.groupId)} · lanes ${g.lanes.join(', ')} · ${g.done ? 'done' : 'running'}`, group: g }));
      const picked = groups.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { placeHolder: 'Show which comparison?' });
      if (!picked) return undefined;
      await vscode.commands.executeCommand(revealComparisonCommand, { sessionId: session.id, groupId: picked.group.groupId });
      return picked.group.groupId;
    }),
  ];
}

/**
 * Pick: lands the attempt's lane the way Land Lane… does (asking how, for the message, and to confirm, naming the
 * branch), then archives the other attempts' lanes. Refused while an attempt of the group is still going.
 */
export async function pickAttempt(ctx: CommandContext, runId: string): Promise<{ picked: boolean; message: string | null }> {
  const store = await ctx.store();
  const run = await store.getRun(runId);
  if (!run.group_id || isVerifyRun(run)) {
    throw new OcrError('invalid_input', `run ${shortId(run.id)} is not an attempt of a comparison`, 'pick an attempt in the Compare view');
  }
  const group = await store.listRuns({ groupId: run.group_id, limit: 100 });
  const going = group.find((r) => !isFinal(r.status));
  if (going) {
    throw new OcrError('invalid_state', `lane ${going.lane} of this comparison is still ${going.status}`, 'wait for every attempt (and its checks) to end, or cancel it, then pick');
  }
  const others = [...new Set(group.filter((r) => r.lane !== run.lane).map((r) => r.lane))].sort();
  const landed = await landLaneCommand(ctx, { runId }, { archive: others });
  if (landed.outcome !== 'landed') return { picked: false, message: landed.outcome === 'untrusted' ? landed.message : null };
  const { result } = landed;
  const done =
    result.mode !== 'pr'
      ? `landed on ${result.branch} (${result.mode})`
      : result.url
        ? `opened a pull request, ${result.url}`
        : `pushed ${result.plan.laneBranch}; open its pull request with ${result.commands[0] ?? 'gh pr create'}`;
  const archived = (landed.archived ?? []).map((a) => `lane ${a.lane} as ${a.to}`);
  return { picked: true, message: `Picked lane ${run.lane}: ${done}.${archived.length ? ` Archived ${archived.join(', ')}.` : ''}` };
}

async function pickActiveOrAsk(ctx: CommandContext): Promise<Session | undefined> {
  const active = ctx.activeSessionId ? ctx.model.session(ctx.activeSessionId) : undefined;
  return active ?? (await pickSession(ctx, 'Compare in which session?'));
}

/** The intent, the lanes (2 to 4) and, for each, how it runs; then an optional verify command. Undefined: backed out. */
async function askComparison(ctx: CommandContext, session: Session): Promise<Parameters<typeof queueComparison>[1] | undefined> {
  if (session.lanes.length < minAttempts) {
    void vscode.window.showWarningMessage(`"${session.title}" has one lane; a comparison needs ${minAttempts} to ${maxAttempts}.`);
    return undefined;
  }
  const intent = await vscode.window.showInputBox({
    title: `Compare in lanes of "${session.title}"`,
    prompt: 'What should each attempt do? (the prompt for agents, the command for the shell)',
    placeHolder: 'Fix the failing date parsing test',
    validateInput: (v) => (v.trim() ? undefined : 'A comparison needs an intent'),
  });
  if (!intent) return undefined;
  const laneItems = session.lanes.map((lane, i) => ({ label: `Lane ${lane}`, description: laneState(ctx.model.runs(session.id, lane)), lane, picked: i < 3 }));
  const lanes = await vscode.window.showQuickPick(laneItems, {
    title: 'Compare in Lanes: which lanes?',
    placeHolder: `Choose ${minAttempts} to ${maxAttempts} lanes, one attempt in each`,
    canPickMany: true,
  });
  if (!lanes) return undefined;
  if (lanes.length < minAttempts || lanes.length > maxAttempts) {
    void vscode.window.showWarningMessage(`Choose ${minAttempts} to ${maxAttempts} lanes for a comparison (you chose ${lanes.length}).`);
    return undefined;
  }
  const { settings } = readSettings();
  const options = executorOptions({ agents: settings['agents.profiles'] }, settings.defaultExecutor);
  const attempts: ComparisonAttempt[] = [];
  for (const [i, { lane }] of lanes.entries()) {
    // a different way per lane by default: the options in turn
    const suggested = options[i % options.length]!;
    const items = [suggested, ...options.filter((o) => o !== suggested)].map((o) => ({
      label: o.run_with.executor === 'shell' ? '$(terminal) Shell' : `$(sparkle) ${o.label}`,
      description: o.run_with.executor === 'shell' ? 'a shell command' : 'a coding agent',
      choice: o.run_with as ExecutorChoice,
    }));
    const how = await vscode.window.showQuickPick(items, { title: `Compare in Lanes: lane ${lane} (${i + 1} of ${lanes.length})`, placeHolder: `How does lane ${lane} try it?` });
    if (!how) return undefined;
    let own: string | undefined;
    if (how.choice.executor === 'shell') {
      own = await vscode.window.showInputBox({
        title: `Compare in Lanes: lane ${lane} runs a shell command`,
        prompt: 'The command this lane runs (leave as is to run the intent itself)',
        value: intent,
        validateInput: (v) => (v.trim() ? undefined : 'Give a command'),
      });
      if (own === undefined) return undefined;
    }
    attempts.push({ lane, run_with: how.choice, ...(own !== undefined && own.trim() !== intent.trim() ? { intent: own } : {}) });
  }
  const verify = await vscode.window.showInputBox({
    title: 'Compare in Lanes: checks (optional)',
    prompt: "A command run in each attempt's worktree after it, such as npm test; its result is the Compare view's checks. Leave empty for none.",
    placeHolder: 'npm test',
  });
  if (verify === undefined) return undefined;
  return { session_id: session.id, intent, attempts, ...(verify.trim() ? { verify: verify.trim() } : {}) };
}
