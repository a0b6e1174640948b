// The tools for other agents against a real PostgreSQL: what a model reads back from each, and the errors it gets for
// bad input, each naming the field and what to do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run, Session } from '../../domain';
import { OcrError } from '../store/errors';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import { agentTools } from './index';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
let web: Session;
let finished: Run;

const tool = (name: string) => agentTools.find((t) => t.name === name)!;
const call = (name: string, input: unknown) => tool(name).call(store, input);
const json = async (name: string, input: unknown) => JSON.parse(await call(name, input)) as Record<string, unknown>;
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable('the call was accepted'),
    (e: unknown) => {
      expect(e).toBeInstanceOf(OcrError);
      return (e as OcrError).line;
    },
  );

/** A worker takes the session's next run in `lane`, logs `lines` and ends it. */
async function runToEnd(lane: string, lines: Array<{ stream: 'stdout' | 'stderr' | 'system'; text: string; data?: unknown }>, exitCode: number): Promise<Run> {
  const worker = `tools-test-${lane}`;
  await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 1, labels: {} });
  const { claimed } = await store.finishAndClaim(worker, [], 1, { sessions: [web.id], lanes: [lane] });
  const run = claimed[0]!;
  await store.appendEvents({ runId: run.id, workerId: worker, attempt: run.attempt }, lines);
  await store.finishAndClaim(worker, [{ runId: run.id, attempt: run.attempt, status: exitCode === 0 ? 'succeeded' : 'failed', exitCode }], 0);
  return store.getRun(run.id);
}

beforeAll(async () => {
  db = await createTestDatabase('ocr_tools');
  store = await openStore(db.url);
  web = await store.createSession({ title: 'Web app', intent: 'ship the login page', lanes: ['A', 'B', 'C'], repo_url: 'https://example.com/web.git' });
  await store.createSession({ title: 'Old', lanes: ['A'] }).then((s) => store.archiveSession(s.id));
  await store.createRun({ session_id: web.id, lane: 'C', intent: 'npm test' });
  finished = await runToEnd('C', [
    { stream: 'system', text: 'started on test' },
    { stream: 'stdout', text: '\x1b[32m✓ login renders\x1b[0m' },
    { stream: 'stdout', text: 'downloading 10%\r\x1b[2Kdownloading 100%' },
    { stream: 'stderr', text: 'Error: expected 200, got 500 \x1b]8;;https://evil.example\x07link\x1b]8;;\x07' },
    { stream: 'stdout', text: 'a very long line, ' },
    { stream: 'stdout', text: 'continued by the worker', data: { continued: true } },
    { stream: 'system', text: 'exit code 1\nsecond system line' },
  ], 1);
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

describe('the tools', () => {
  it('are five, each with a description for a model and an object input', () => {
    expect(agentTools.map((t) => t.name)).toEqual(['list_sessions', 'get_run', 'read_log', 'queue_run', 'cancel_run']);
    for (const t of agentTools) {
      expect(t.description.length).toBeGreaterThan(100);
      expect(t.input.def.type).toBe('object');
    }
    expect(agentTools.filter((t) => !t.readOnly).map((t) => t.name)).toEqual(['queue_run', 'cancel_run']);
  });
});

describe('queue_run', () => {
  it('queues a shell run in the lane, through the same path as every client, and says how many are ahead', async () => {
    const first = await json('queue_run', { session: web.id.slice(0, 8), lane: 'A', intent: 'npm run build' });
    expect(first).toMatchObject({ session_id: web.id, lane: 'A', status: 'queued', executor: 'shell', runs_ahead_in_lane: 0 });
    const second = await json('queue_run', { session: web.id, lane: 'A', intent: '  npm run lint  ' });
    expect(second.runs_ahead_in_lane).toBe(1);
    const run = await store.getRun(second.run_id as string);
    expect(run).toMatchObject({ lane: 'A', intent: 'npm run lint', status: 'queued', executor: 'shell', spec: {} });
  });

  it('queues an agent run with its profile', async () => {
    const answer = await json('queue_run', { session: web.id, lane: 'B', intent: 'fix the flaky login test', executor: 'agent', profile: 'claude' });
    expect(answer).toMatchObject({ executor: 'agent', profile: 'claude' });
    expect((await store.getRun(answer.run_id as string)).spec).toEqual({ profile: 'claude' });
  });

  it('asks a person first, showing the intent as code, the lane and the session', async () => {
    const c = await tool('queue_run').confirmation(store, { session: web.id, lane: 'B', intent: 'rm -rf `build`', executor: 'shell' });
    expect(c).toEqual({
      title: 'Run in lane B?',
      message: `Run \`\` rm -rf \`build\` \`\` in lane B of session "Web app" (${web.id.replace(/-/g, '').slice(0, 8)}), as a shell command?`,
    });
    const agent = await tool('queue_run').confirmation(store, { session: web.id, lane: 'B', intent: 'line one\nline two', executor: 'agent' });
    expect(agent!.message).toContain('\n```text\nline one\nline two\n```\n');
    expect(agent!.message).toMatch(/as the prompt of the default coding agent\?$/);
    expect(await tool('list_sessions').confirmation(store, {})).toBeUndefined();
  });

  it('refuses bad input with the field and what to do, before asking anyone', async () => {
    const q = tool('queue_run');
    expect(await refusal(q.call(store, { session: web.id, lane: 'no spaces!', intent: 'x' }))).toMatch(/^lane: a lane name is 1 to 16 letters/);
    expect(await refusal(q.confirmation(store, { session: web.id, lane: 'Z', intent: 'x' }))).toBe('lane: "Z" is not a lane of session "Web app" (use one of its lanes: A, B, C)');
    expect(await refusal(q.call(store, { session: web.id, lane: 'A', intent: '   ' }))).toMatch(/^intent: a run needs an intent/);
    expect(await refusal(q.call(store, { lane: 'A', intent: 'x' }))).toMatch(/^session: /);
    expect(await refusal(q.call(store, { session: 'deadbeef', lane: 'A', intent: 'x' }))).toBe('session: no session has the id "deadbeef" (call list_sessions for the sessions and their ids)');
    expect(await refusal(q.call(store, { session: 'Web app', lane: 'A', intent: 'x' }))).toMatch(/^session: "Web app" is not a session id/);
    expect(await refusal(q.call(store, { session: web.id, lane: 'A', intent: 'x', executor: 'python' }))).toMatch(/^executor: /);
    expect(await refusal(q.call(store, { session: web.id, lane: 'A', intent: 'x', profile: 'claude' }))).toMatch(/^profile: .*executor "agent"/);
    expect(await refusal(q.call(store, { session: web.id, lane: 'A', intent: 'x', executor: 'agent', profile: '../evil' }))).toMatch(/^profile: a profile name is/);
    expect(await refusal(q.call(store, 'npm test'))).toMatch(/^input: /);
  });
});

describe('list_sessions', () => {
  it('lists the active sessions with each lane\'s state, queue and last finished run', async () => {
    const { sessions } = (await json('list_sessions', {})) as { sessions: Array<Record<string, unknown>> };
    expect(sessions.map((s) => s.title)).toEqual(['Web app']);
    expect(sessions[0]).toMatchObject({ session_id: web.id, intent: 'ship the login page', repository: 'https://example.com/web.git', status: 'active' });
    const lanes = sessions[0]!.lanes as Array<Record<string, unknown>>;
    expect(lanes.map((l) => [l.lane, l.state, l.queued])).toEqual([['A', 'queued', 2], ['B', 'queued', 1], ['C', 'idle', 0]]);
    expect(lanes[2]!.last_finished).toMatchObject({ run_id: finished.id, intent: 'npm test', status: 'failed', exit_code: 1 });
    expect(lanes[0]!.running).toBeNull();
  });

  it('lists archived sessions when asked, and one session by its id', async () => {
    const all = (await json('list_sessions', { include_archived: true })) as { sessions: Array<{ title: string; status: string }> };
    expect(all.sessions.map((s) => [s.title, s.status])).toEqual([['Old', 'archived'], ['Web app', 'active']]);
    const one = (await json('list_sessions', { session: web.id.slice(0, 6) })) as { sessions: Array<{ title: string }> };
    expect(one.sessions.map((s) => s.title)).toEqual(['Web app']);
  });
});

describe('get_run and cancel_run', () => {
  it('get_run: status, exit code and timing', async () => {
    const r = await json('get_run', { run: finished.id });
    expect(r).toMatchObject({ run_id: finished.id, lane: 'C', status: 'failed', exit_code: 1, executor: 'shell', worker: 'tools-test-C' });
    expect(r.duration_ms).toEqual(expect.any(Number));
    expect(r.finished_at).toEqual(expect.any(String));
    expect(await refusal(call('get_run', { run: 'zz' }))).toMatch(/^run: "zz" is not a run id/);
  });

  it('cancel_run: a queued run at once, a finished one stays as it is; asks first', async () => {
    const { run_id } = await json('queue_run', { session: web.id, lane: 'C', intent: 'sleep 100' });
    const c = await tool('cancel_run').confirmation(store, { run: run_id });
    expect(c!.title).toMatch(/^Cancel run [0-9a-f]{8}\?$/);
    expect(c!.message).toBe('Cancel `sleep 100` (queued) in lane C of session "Web app"?');
    expect(await json('cancel_run', { run: run_id })).toMatchObject({ outcome: 'canceled', status: 'canceled' });
    expect((await store.getRun(run_id as string)).status).toBe('canceled');
    expect(await json('cancel_run', { run: finished.id })).toMatchObject({ outcome: 'already_finished', status: 'failed' });
  });
});

describe('read_log', () => {
  it('gives the last lines as plain text, numbered, with pieces of one line joined', async () => {
    const text = await call('read_log', { run: finished.id, tail: 4 });
    expect(text).toBe(
      [
        `run ${finished.id.replace(/-/g, '').slice(0, 8)} in lane C: failed (exit code 1), ${text.split('\n')[0]!.split(', ')[1]!.split(' — ')[0]} — npm test`,
        'lines 4-7 of 7:',
        '4  Error: expected 200, got 500 link',
        '5  a very long line, continued by the worker',
        '6  ── exit code 1',
        '7  ── second system line',
        '',
      ].join('\n'),
    );
    expect(text).not.toMatch(/\x1b|\x07/);
  });

  it('gives every line by default, colors and carriage returns resolved', async () => {
    const lines = (await call('read_log', { run: finished.id })).split('\n');
    expect(lines.slice(1, 5)).toEqual(['lines 1-7 of 7:', '1  ── started on test', '2  ✓ login renders', '3  downloading 100%']);
  });

  it('searches, ignoring case', async () => {
    const text = await call('read_log', { run: finished.id, search: 'ERROR' });
    expect(text.split('\n').slice(1)).toEqual(['1 of 7 lines contain "ERROR":', '4  Error: expected 200, got 500 link', '']);
    expect((await call('read_log', { run: finished.id, search: 'nothing like it' })).split('\n')[1]).toBe('no line of 7 contains "nothing like it"');
  });

  it('says when a run has no output yet and may get more', async () => {
    const { run_id } = await json('queue_run', { session: web.id, lane: 'A', intent: 'echo later' });
    expect((await call('read_log', { run: run_id })).split('\n')[1]).toBe('no output yet (the run is queued; more lines may come)');
  });

  it('refuses a tail out of range', async () => {
    expect(await refusal(call('read_log', { run: finished.id, tail: 0 }))).toMatch(/^tail: /);
    expect(await refusal(call('read_log', { run: finished.id, tail: 'all' }))).toMatch(/^tail: /);
  });
});
