// queue_run's follow_up, as a model calls it (through the same tool object `ocr mcp` and the editor's tools serve):
// the person is told which conversation it continues before saying yes, and the run resumes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../../domain';
import { OcrError } from '../store/errors';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { agentTools } from './index';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let session: Session;
const queueRun = agentTools.find((t) => t.name === 'queue_run')!;

beforeAll(async () => {
  db = await createTestDatabase('ocr_tool_follow_up');
  store = await openStore(db.url);
  session = await store.createSession({ title: 'Agents', lanes: ['A', 'B'] });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

/** A finished gemini run in lane A whose worker recorded the agent's session id. */
async function conversation(sessionId: string): Promise<string> {
  const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'start', executor: 'agent', spec: { profile: 'gemini' } });
  await store.registerWorker({ id: 'tool-test', host: 'test', pid: process.pid, concurrency: 1, labels: {} });
  const [claimed] = await store.claimRuns('tool-test', 1, { sessions: [session.id], lanes: ['A'] });
  await store.recordAgent({ runId: run.id, workerId: 'tool-test', attempt: claimed!.attempt }, { cli: 'gemini', profile: 'gemini', sessionId, inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costSource: 'none', denials: [] });
  await store.finishAndClaim('tool-test', [{ runId: run.id, attempt: claimed!.attempt, status: 'succeeded', exitCode: 0 }], 0);
  return run.id;
}

describe('queue_run with follow_up', () => {
  it('says in its question which conversation the run continues, and queues it resuming that session', async () => {
    const fresh = await queueRun.confirmation(store, { session: session.id, lane: 'A', intent: 'go on', executor: 'agent', follow_up: true });
    expect(fresh!.message).toMatch(/as the prompt of the default coding agent \(a new conversation: lane A has no agent conversation to continue yet\)\?$/);

    const first = await conversation('eeeeeeee-0000-4000-8000-000000000001');
    const input = { session: session.id, lane: 'A', intent: 'yes, use the second option', executor: 'agent', follow_up: true };
    expect((await queueRun.confirmation(store, input))!.message).toMatch(new RegExp(`as a follow-up that continues the gemini conversation of run ${first.slice(0, 8)}\\?$`));
    const answer = JSON.parse(await queueRun.call(store, input)) as Record<string, unknown>;
    expect(answer).toMatchObject({ executor: 'agent', profile: 'gemini', conversation: `continues the gemini conversation of run ${first.slice(0, 8)}` });
    expect((await store.getRun(answer.run_id as string)).spec).toEqual({ profile: 'gemini', resume: 'eeeeeeee-0000-4000-8000-000000000001' });
  });

  it('refuses follow_up on a shell run, saying what to change', async () => {
    const error = await queueRun.call(store, { session: session.id, lane: 'B', intent: 'ls', follow_up: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OcrError);
    expect((error as OcrError).line).toBe('follow_up: a follow-up continues a coding agent\'s conversation, so it goes with executor "agent" (set executor to "agent", or leave follow_up out)');
  });
});
