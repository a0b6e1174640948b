// `ocr run` for coding agents as a user types it (the built bundle, a real PostgreSQL): --follow-up continues the lane's
// last conversation or says it starts a new one, the agent's options and limits land in the run's spec, and a wrong
// flag is refused by name.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../../domain';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { type CliResult, refused, runOcr } from './cli.test-support';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let session: Session;

const ocr = (...args: string[]): Promise<CliResult> => runOcr(['run', '--session', session.id.slice(0, 8), ...args], { env: { OCR_DATABASE_URL: db.url } });
const queued = async (r: CliResult) => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const [first, id] = r.stdout.trim().split('\n');
  return { line: first!, run: await store.getRun(id!) };
};

beforeAll(async () => {
  db = await createTestDatabase('ocr_cli_run');
  store = (await openStore(db.url)) as PostgresStore;
  session = await store.createSession({ title: 'agents', lanes: ['A', 'B'] });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

/** A finished claude run in `lane` whose worker recorded the agent's session id. */
async function conversation(lane: string, sessionId: string): Promise<string> {
  const run = await store.createRun({ session_id: session.id, lane, intent: 'start', executor: 'agent', spec: { profile: 'claude' } });
  const worker = `cli-run-${randomBytes(3).toString('hex')}`;
  await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 1, labels: {} });
  const [claimed] = await store.claimRuns(worker, 1, { sessions: [session.id], lanes: [lane] });
  const lease = { runId: run.id, workerId: worker, attempt: claimed!.attempt };
  await store.recordAgent(lease, { cli: 'claude', profile: 'claude', sessionId, inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costSource: 'none', denials: [] });
  await store.finishAndClaim(worker, [{ runId: run.id, attempt: claimed!.attempt, status: 'succeeded', exitCode: 0 }], 0);
  return run.id;
}

describe('ocr run for coding agents', () => {
  it('--follow-up starts a new conversation in a lane that has none, then continues the last one', async () => {
    const fresh = await queued(await ocr('--lane', 'A', '--follow-up', '--agent', 'claude', '--', 'fix', 'the', 'bug'));
    expect(fresh.line).toMatch(/^queued run [0-9a-f]{8} in lane A; started a new conversation: lane A has no agent conversation to continue yet$/);
    expect(fresh.run).toMatchObject({ executor: 'agent', intent: 'fix the bug', spec: { profile: 'claude' } });
    await store.cancelRun(fresh.run.id);

    const first = await conversation('A', 'dddddddd-0000-4000-8000-000000000001');
    // --follow-up alone: an agent run, with the profile of the conversation it continues
    const next = await queued(await ocr('--lane', 'A', '--follow-up', '--', 'now add a test'));
    expect(next.line).toBe(`queued run ${next.run.id.slice(0, 8)} in lane A; continues the claude conversation of run ${first.slice(0, 8)}`);
    expect(next.run).toMatchObject({ executor: 'agent', spec: { profile: 'claude', resume: 'dddddddd-0000-4000-8000-000000000001' } });

    const json = await ocr('--lane', 'A', '--follow-up', '--json', '--', 'and docs');
    expect(JSON.parse(json.stdout)).toMatchObject({ follow_up: { kind: 'continues', sessionId: 'dddddddd-0000-4000-8000-000000000001', profile: 'claude', fromRunId: first } });
  });

  it('puts --model, --allow-tool (repeated), --max-cost and --max-minutes in the run\'s spec', async () => {
    const { run } = await queued(await ocr('--lane', 'B', '--agent', 'claude', '--model', 'sonnet', '--allow-tool', 'Edit', '--allow-tool', 'Bash(npm test)', '--max-cost', '2.00', '--max-minutes', '30', '--', 'refactor'));
    expect(run.spec).toEqual({ profile: 'claude', model: 'sonnet', allowedTools: ['Edit', 'Bash(npm test)'], maxBudgetUsd: 2, timeoutSeconds: 1800 });
    // --max-minutes works for a shell run too
    // the session's and the lane's caps: nothing spent yet, so the run's own limit stands
    const capped = await queued(await ocr('--lane', 'B', '--agent', 'claude', '--max-cost', '2', '--session-max-cost', '20', '--lane-max-cost', '5', '--', 'more'));
    expect(capped.run.spec).toEqual({ profile: 'claude', maxBudgetUsd: 2 });
    const shell = await queued(await ocr('--lane', 'B', '--max-minutes', '2', '--', 'npm', 'test'));
    expect(shell.run).toMatchObject({ executor: 'shell', spec: { timeoutSeconds: 120 } });
  });

  // a flag's value that cannot be read is a usage error (exit 2); a combination that cannot run is refused (exit 1)
  it.each([
    [['--max-cost', 'two'], /^ocr: .*--max-cost "two": give an amount in US dollars above 0, such as 2\.00/],
    [['--max-cost', '0'], /--max-cost "0": give an amount in US dollars above 0/],
    [['--max-cost', '-1'], /--max-cost/],
    [['--session-max-cost', 'lots'], /--session-max-cost "lots": give an amount in US dollars above 0/],
    [['--lane-max-cost', '0'], /--lane-max-cost "0": give an amount in US dollars above 0/],
    [['--max-minutes', '0'], /--max-minutes "0": give a whole number from 1 to 10080/],
    [['--max-minutes', '1.5'], /--max-minutes "1\.5": give a whole number/],
    [['--max-minutes', '5', '--timeout', '60'], /^ocr: --max-minutes: the run already has a time limit from --timeout \(give one of --max-minutes and --timeout\)\n$/],
    [['--model', '--dangerously-skip-permissions'], /--model/],
    [['--allow-tool', ''], /--allow-tool "": give a tool name/],
    [['--executor', 'shell', '--follow-up'], /^ocr: --follow-up: applies to a coding-agent run, not to --executor shell \(leave out --executor shell, or name the agent with --agent\)\n$/],
    [['--executor', 'shell', '--max-cost', '1'], /^ocr: --max-cost: applies to a coding-agent run/],
  ])('refuses %j, naming the flag', async (flags, line) => {
    const before = (await store.listRuns({ sessionId: session.id })).length;
    const usage = !flags.includes('--executor') && !flags.includes('--timeout');
    refused(await ocr('--lane', 'A', ...flags, '--', 'x'), line, usage ? 2 : 1);
    expect(await store.listRuns({ sessionId: session.id })).toHaveLength(before);
  });
});
