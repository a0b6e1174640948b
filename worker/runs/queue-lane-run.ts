// Queuing a run in a lane: the one function the palette, the Sessions tree, the Runboard, the `ocr run` command and
// the tools for other agents call, so that a lane run means the same wherever it is asked for.
import { LaneRunRequest, type Run } from '../../domain';
import { parseInput } from '../store/errors';
import type { Store } from '../store/store';

export async function queueLaneRun(store: Store, input: LaneRunRequest): Promise<Run> {
  const request = parseInput(LaneRunRequest, input);
  const spec: Record<string, unknown> = {};
  if (request.run_with.executor === 'agent' && request.run_with.profile) spec.profile = request.run_with.profile;
  if (request.timeout_seconds !== undefined) spec.timeoutSeconds = request.timeout_seconds;
  return store.createRun({
    session_id: request.session_id,
    lane: request.lane,
    intent: request.intent,
    executor: request.run_with.executor,
    spec,
    priority: request.priority,
  });
}
