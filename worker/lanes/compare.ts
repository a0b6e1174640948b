// Compare attempts: queue one intent in 2 to 4 lanes as a comparison group, each attempt with its own executor or agent
// profile and, when asked, a verify command queued right behind it in its lane (so it runs in the attempt's worktree
// once the attempt ends); and read a group back as the Compare table. The palette, the Runboard, `ocr compare` and the
// tools all call these two.
import {
  type Comparison,
  comparisonOf,
  ComparisonRequest,
  DiffSummary,
  isFinal,
  isVerifyRun,
  type NewRun,
  type Run,
} from '../../domain';
import { OcrError, parseInput } from '../store/errors';
import type { Store } from '../store/store';
import { laneRun } from '../runs/queue-lane-run';

export interface QueuedComparison {
  groupId: string;
  /** the attempts and their verify runs, in the order they were queued */
  runs: Run[];
}

export async function queueComparison(store: Store, input: ComparisonRequest): Promise<QueuedComparison> {
  const request = parseInput(ComparisonRequest, input);
  const runs: NewRun[] = [];
  for (const attempt of request.attempts) {
    const { run } = await laneRun(store, {
      session_id: request.session_id,
      lane: attempt.lane,
      intent: attempt.intent ?? request.intent,
      run_with: attempt.run_with,
      priority: 100,
      ...(request.timeout_seconds !== undefined ? { timeout_seconds: request.timeout_seconds } : {}),
      ...(request.max_cost_usd !== undefined && attempt.run_with.executor === 'agent' ? { max_cost_usd: request.max_cost_usd } : {}),
    });
    runs.push(run);
    if (request.verify) {
      runs.push({ session_id: request.session_id, lane: attempt.lane, intent: request.verify, executor: 'shell', spec: { role: 'verify' } });
    }
  }
  const created = await store.createGroup(runs);
  const groupId = created[0]?.group_id;
  if (!groupId) throw new OcrError('invalid_state', 'the comparison was queued without a group id');
  return { groupId, runs: created };
}

// A verify command's summary line is near its end: the last lines are enough, however long its output.
const verifyTailLines = 400;

async function lastLines(store: Store, runId: string): Promise<string[]> {
  const lines: string[] = [];
  for (let after = 0; ; ) {
    const page = await store.listEvents(runId, after, 5000);
    for (const e of page) if (e.stream !== 'system') lines.push(e.text);
    if (lines.length > verifyTailLines) lines.splice(0, lines.length - verifyTailLines);
    if (page.length < 5000) return lines;
    after = page[page.length - 1]!.seq;
  }
}

/** The Compare table of a group: each attempt's status, time, exit code, diff numbers, checks, tokens and cost. */
export async function compareGroup(store: Store, groupId: string): Promise<Comparison> {
  const runs = await store.listRuns({ groupId, limit: 100 });
  if (runs.length === 0) {
    throw new OcrError('not_found', `group: ${groupId} is not a comparison group`, 'queuing a comparison (Compare in Lanes…, `ocr compare new`) prints its group id');
  }
  const diffs = new Map<string, DiffSummary>();
  const logs = new Map<string, string[]>();
  await Promise.all(
    runs.map(async (run) => {
      if (isVerifyRun(run)) {
        if (run.status !== 'queued') logs.set(run.id, await lastLines(store, run.id));
        return;
      }
      if (run.status === 'queued') return;
      const diff = await store.getArtifact(run.id, 'diff');
      const summary = diff ? DiffSummary.safeParse(diff.meta) : undefined;
      if (summary?.success) diffs.set(run.id, summary.data);
    }),
  );
  return comparisonOf(groupId, runs, diffs, logs);
}

/** The comparison groups of a session, newest first: what "Compare" offers to show. */
export async function sessionGroups(store: Store, sessionId: string): Promise<Array<{ groupId: string; intent: string; lanes: string[]; done: boolean; createdAt: string }>> {
  const runs = await store.listRuns({ sessionId, limit: 10_000 });
  const groups = new Map<string, Run[]>();
  for (const run of runs) if (run.group_id) groups.set(run.group_id, [...(groups.get(run.group_id) ?? []), run]);
  return [...groups.entries()]
    .map(([groupId, members]) => {
      const attempts = members.filter((r) => !isVerifyRun(r)).sort((a, b) => a.seq - b.seq);
      return {
        groupId,
        intent: attempts[0]?.intent ?? '',
        lanes: attempts.map((r) => r.lane).sort(),
        done: members.every((r) => isFinal(r.status)),
        createdAt: attempts[0]?.created_at ?? '',
      };
    })
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
