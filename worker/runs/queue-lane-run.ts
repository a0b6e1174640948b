// Queuing a run in a lane: the one function the palette, the Sessions tree, the Runboard, the `ocr run` command and
// the tools for other agents call, so that a lane run means the same wherever it is asked for.
import { LaneRunRequest, type Run } from '../../domain';
import { parseInput } from '../store/errors';
import type { Store } from '../store/store';
import { type FollowUp, followUpOf } from './follow-up';

/** The queued run; for a follow-up, also whether it continues the lane's conversation or starts a new one (and why). */
export type QueuedLaneRun = Run & { followUp?: FollowUp };

export async function queueLaneRun(store: Store, input: LaneRunRequest): Promise<QueuedLaneRun> {
  const request = parseInput(LaneRunRequest, input);
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
    if (request.max_cost_usd !== undefined) spec.maxBudgetUsd = request.max_cost_usd;
  }
  if (request.timeout_seconds !== undefined) spec.timeoutSeconds = request.timeout_seconds;
  const run = await store.createRun({
    session_id: request.session_id,
    lane: request.lane,
    intent: request.intent,
    executor: request.run_with.executor,
    spec,
    priority: request.priority,
  });
  return followUp ? { ...run, followUp } : run;
}
