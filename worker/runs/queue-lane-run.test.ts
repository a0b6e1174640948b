// queueLaneRun against a real PostgreSQL: a follow-up resumes the lane's last agent conversation (recorded on its run
// by the worker that held it), or says why it starts a new one; the agent's options become the run's spec.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunAgent, Session } from '../../domain';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { followUpText } from './follow-up';
import { queueLaneRun } from './queue-lane-run';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const workerId = 'follow-up-test-worker';

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore(db.url);
  await store.registerWorker({ id: workerId, host: 'test', pid: process.pid, concurrency: 4, labels: {} });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

/** A finished agent run in `lane` whose worker recorded the agent's conversation, as a real worker does. */
async function finishedAgentRun(session: Session, lane: string, agent: Partial<RunAgent> & { profile: string }, intent = 'fix it') {
  const run = await queueLaneRun(store, { session_id: session.id, lane, intent, run_with: { executor: 'agent', profile: agent.profile } });
  const [claimed] = await store.claimRuns(workerId, 1, { sessions: [session.id], lanes: [lane] });
  expect(claimed?.id).toBe(run.id);
  const lease = { runId: run.id, workerId, attempt: claimed!.attempt };
  await store.recordAgent(lease, { cli: 'claude', inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, costSource: 'none', denials: [], ...agent });
  await store.finishAndClaim(workerId, [{ runId: run.id, attempt: claimed!.attempt, status: 'succeeded', exitCode: 0 }], 0);
  return store.getRun(run.id);
}

const newSession = (title: string) => store.createSession({ title, lanes: ['A', 'B'] });

describe('queueLaneRun: follow-ups', () => {
  it('continues the lane\'s last conversation with its profile when none is asked for', async () => {
    const session = await newSession('continue');
    await finishedAgentRun(session, 'A', { profile: 'claude', sessionId: 'aaaaaaaa-0000-4000-8000-000000000001' });
    const last = await finishedAgentRun(session, 'A', { profile: 'my-claude', sessionId: 'aaaaaaaa-0000-4000-8000-000000000002' });
    // a newer shell run in the lane and a newer conversation in another lane change nothing
    await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'npm test' });
    await finishedAgentRun(session, 'B', { profile: 'claude', sessionId: 'bbbbbbbb-0000-4000-8000-000000000001' });

    const followUp = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'now add a test', run_with: { executor: 'agent' }, follow_up: true });
    expect(followUp.followUp).toEqual({ kind: 'continues', sessionId: 'aaaaaaaa-0000-4000-8000-000000000002', profile: 'my-claude', fromRunId: last.id });
    expect((await store.getRun(followUp.id)).spec).toEqual({ profile: 'my-claude', resume: 'aaaaaaaa-0000-4000-8000-000000000002' });
    expect(followUpText(followUp.followUp!)).toBe(`continues the my-claude conversation of run ${last.id.slice(0, 8)}`);

    const same = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'and docs', run_with: { executor: 'agent', profile: 'my-claude' }, follow_up: true });
    expect(same.spec).toEqual({ profile: 'my-claude', resume: 'aaaaaaaa-0000-4000-8000-000000000002' });
  });

  it('keeps the tools the conversation was allowed, adding those the follow-up allows', async () => {
    const session = await newSession('allowed tools');
    const run = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'go', run_with: { executor: 'agent', profile: 'claude' }, allowed_tools: ['Edit'] });
    const [claimed] = await store.claimRuns(workerId, 1, { sessions: [session.id] });
    const lease = { runId: run.id, workerId, attempt: claimed!.attempt };
    await store.recordAgent(lease, { cli: 'claude', profile: 'claude', sessionId: 'ffffffff-0000-4000-8000-000000000001', inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costSource: 'none', denials: [{ tool: 'Bash', message: 'denied' }], needsInput: { reason: 'permission', detail: 'Bash' } });
    await store.finishAndClaim(workerId, [{ runId: run.id, attempt: claimed!.attempt, status: 'succeeded', exitCode: 0 }], 0);
    // Allow Bash: the follow-up may use Bash, and still Edit
    const allowed = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'Continue: go', run_with: { executor: 'agent' }, follow_up: true, allowed_tools: ['Bash', 'Edit'] });
    expect(allowed.spec).toEqual({ profile: 'claude', resume: 'ffffffff-0000-4000-8000-000000000001', allowedTools: ['Edit', 'Bash'] });
  });

  it('starts a new conversation, and says why, when the lane has none or it is with another profile', async () => {
    const session = await newSession('new conversation');
    const first = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'start', run_with: { executor: 'agent', profile: 'claude' }, follow_up: true });
    expect(first.spec).toEqual({ profile: 'claude' });
    expect(followUpText(first.followUp!)).toBe('started a new conversation: lane A has no agent conversation to continue yet');
    await store.cancelRun(first.id);

    const last = await finishedAgentRun(session, 'A', { profile: 'claude', sessionId: 'cccccccc-0000-4000-8000-000000000001' });
    const other = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'try codex', run_with: { executor: 'agent', profile: 'codex' }, follow_up: true });
    expect(other.spec).toEqual({ profile: 'codex' });
    expect(followUpText(other.followUp!)).toBe(`started a new conversation: lane A's last conversation (run ${last.id.slice(0, 8)}) is with profile "claude", not "codex"`);

    // without follow_up, an agent run is a new conversation and nothing is said about it
    const fresh = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'fresh', run_with: { executor: 'agent', profile: 'claude' } });
    expect(fresh.followUp).toBeUndefined();
    expect(fresh.spec).toEqual({ profile: 'claude' });
  });

  it('puts the agent\'s model, allowed tools, cost limit and time limit in the run\'s spec', async () => {
    const session = await newSession('options');
    const run = await queueLaneRun(store, {
      session_id: session.id,
      lane: 'B',
      intent: 'refactor',
      run_with: { executor: 'agent', profile: 'claude' },
      model: 'sonnet',
      allowed_tools: ['Bash(npm test)', 'Edit'],
      max_cost_usd: 2.5,
      timeout_seconds: 1800,
    });
    expect((await store.getRun(run.id)).spec).toEqual({ profile: 'claude', model: 'sonnet', allowedTools: ['Bash(npm test)', 'Edit'], maxBudgetUsd: 2.5, timeoutSeconds: 1800 });
  });

  it.each([
    ['follow_up on a shell run', { follow_up: true }, /^follow_up: follow_up applies to a coding-agent run: run it with an agent/],
    ['a model on a shell run', { model: 'sonnet' }, /^model: model applies to a coding-agent run/],
    ['a cost limit on a shell run', { max_cost_usd: 1 }, /^max_cost_usd: max_cost_usd applies to a coding-agent run/],
    ['a cost limit of zero', { run_with: { executor: 'agent' as const }, max_cost_usd: 0 }, /^max_cost_usd: an amount in US dollars above 0, such as 2.50$/],
    ['a tool that reads as an option', { run_with: { executor: 'agent' as const }, allowed_tools: ['--dangerously-skip-permissions'] }, /^allowed_tools\.0: a tool name cannot start with "-"$/],
    ['a blank model', { run_with: { executor: 'agent' as const }, model: '  ' }, /^model: give a model name$/],
  ])('refuses %s, naming the field', async (_name, extra, message) => {
    const session = await newSession('bad input');
    await expect(queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'x', ...extra })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringMatching(message) });
    expect(await store.listRuns({ sessionId: session.id })).toEqual([]);
  });

  it('takes follow_up false on a shell run as an ordinary shell run', async () => {
    const session = await newSession('false');
    const run = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'ls', follow_up: false });
    expect(run).toMatchObject({ executor: 'shell', spec: {} });
  });
});

describe('queueLaneRun: what a session and a lane may spend', () => {
  it('lowers the run\'s own limit to what is left of its session\'s and lane\'s, and refuses once one is spent, naming it', async () => {
    const session = await newSession('spend limits');
    await finishedAgentRun(session, 'A', { profile: 'claude', costUsd: 1.5, costSource: 'reported' });
    await finishedAgentRun(session, 'B', { profile: 'claude', costUsd: 2, costSource: 'reported' });
    const agent = { executor: 'agent', profile: 'claude' } as const;

    const inA = await queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'more', run_with: agent, max_cost_usd: 5, session_max_cost_usd: 10, lane_max_cost_usd: 2 });
    expect(inA.spec).toMatchObject({ maxBudgetUsd: 0.5 });
    const inB = await queueLaneRun(store, { session_id: session.id, lane: 'B', intent: 'more', run_with: agent, session_max_cost_usd: 4.5 });
    expect(inB.spec).toMatchObject({ maxBudgetUsd: 1 });

    const before = (await store.listRuns({ sessionId: session.id })).length;
    await expect(queueLaneRun(store, { session_id: session.id, lane: 'B', intent: 'no', run_with: agent, lane_max_cost_usd: 2 })).rejects.toMatchObject({
      code: 'invalid_state',
      message: 'lane_max_cost_usd: the lane B has spent $2.00 of its $2.00 on coding agents',
    });
    await expect(queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'no', run_with: agent, session_max_cost_usd: 3.5 })).rejects.toMatchObject({
      message: expect.stringMatching(/^session_max_cost_usd: the session has spent \$3\.50 of its \$3\.50/),
    });
    await expect(queueLaneRun(store, { session_id: session.id, lane: 'A', intent: 'no', session_max_cost_usd: 3 })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('session_max_cost_usd applies to a coding-agent run'),
    });
    expect((await store.listRuns({ sessionId: session.id })).length, 'nothing stored by a refusal').toBe(before);
  });
});
