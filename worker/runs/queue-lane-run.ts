// Queuing a run in a lane: the one function the palette, the Sessions tree, the Runboard, the `ocr run` command and
// the tools for other agents call, so that a lane run means the same wherever it is asked for.
import type { z } from 'zod';
import { formatUsd, LaneRunRequest, type NewRun, type Run } from '../../domain';
import { OcrError, parseInput } from '../store/errors';
import type { Store } from '../store/store';
import { type FollowUp, followUpOf } from './follow-up';

/** The queued run; for a follow-up, also whether it continues the lane's conversation or starts a new one (and why). */
export type QueuedLaneRun = Run & { followUp?: FollowUp };

export async function queueLaneRun(store: Store, input: LaneRunRequest): Promise<QueuedLaneRun> {
  const { run: newRun, followUp } = await laneRun(store, parseInput(LaneRunRequest, input));
  const run = await store.createRun(newRun);
  return followUp ? { ...run, followUp } : run;
}

/** The run a lane run request queues (its spec: the agent's profile, resumed session, tools and budget), not queued yet. */
export async function laneRun(store: Store, request: z.output<typeof LaneRunRequest>): Promise<{ run: NewRun; followUp?: FollowUp }> {
  const spec: Record<string, unknown> = {};
  let followUp: FollowUp | undefined;
  if (request.run_with.executor === 'agent') {
    let profile = request.run_with.profile;
    if (request.follow_up) {
      followUp = await followUpOf(store, request.session_id, request.lane, profile);
      if (followUp.kind === 'continues') {
        profile = followUp.profile;
        spec.resume = followUp.sessionId;
      }
    }
    if (profile) spec.profile = profile;
    if (request.model !== undefined) spec.model = request.model;
    const allowedTools = [...new Set([...(followUp?.kind === 'continues' ? (followUp.allowedTools ?? []) : []), ...(request.allowed_tools ?? [])])];
    if (allowedTools.length > 0) spec.allowedTools = allowedTools.slice(0, 100);
    const budget = await withinSpendLimits(store, request);
    if (budget !== undefined) spec.maxBudgetUsd = budget;
  }
  if (request.timeout_seconds !== undefined) spec.timeoutSeconds = request.timeout_seconds;
  const run: NewRun = {
    session_id: request.session_id,
    lane: request.lane,
    intent: request.intent,
    executor: request.run_with.executor,
    spec,
    priority: request.priority,
  };
  return followUp ? { run, followUp } : { run };
}

/**
 * The run's cost limit: its own, lowered to what is left of its session's and its lane's limits (the cost the agent runs
 * there have recorded so far, running ones included). Refused when a limit is spent already. Each run gets what is left
 * when it is queued: runs going at the same time in several lanes can together pass the session's limit by what they
 * spend at once, never by more than one run's share each.
 */
async function withinSpendLimits(store: Store, request: z.output<typeof LaneRunRequest>): Promise<number | undefined> {
  let limit = request.max_cost_usd;
  if (request.session_max_cost_usd === undefined && request.lane_max_cost_usd === undefined) return limit;
  const runs = await store.listRuns({ sessionId: request.session_id, limit: 10_000 });
  const spentIn = (lane?: string) => runs.filter((r) => lane === undefined || r.lane === lane).reduce((sum, r) => sum + (r.agent?.costUsd ?? 0), 0);
  const limits = [
    { what: 'session', field: 'session_max_cost_usd', max: request.session_max_cost_usd, spent: spentIn() },
    { what: `lane ${request.lane}`, field: 'lane_max_cost_usd', max: request.lane_max_cost_usd, spent: spentIn(request.lane) },
  ] as const;
  for (const { what, field, max, spent } of limits) {
    if (max === undefined) continue;
    const left = max - spent;
    if (left < 0.005) {
      throw new OcrError(
        'invalid_state',
        `${field}: the ${what} has spent $${formatUsd(spent)} of its $${formatUsd(max)} on coding agents`,
        'raise the limit (ocr.agents.sessionMaxCostUsd / ocr.agents.laneMaxCostUsd, or --session-max-cost / --lane-max-cost), or start a new session',
      );
    }
    limit = limit === undefined ? left : Math.min(limit, left);
  }
  return limit === undefined ? undefined : Math.round(limit * 10_000) / 10_000;
}
