// Coding-agent runs end to end: the fake CLIs (which accept only the built-in profiles' argv and replay the real
// stream formats) driven by a real worker against a real database and git repository.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentCli, agentSteps, isFinal, type Run, type RunEvent, type Session } from '../../domain';
import { eventually, makeRepo, tempDir } from '../engine/git.test-support';
import { describeRepo } from '../engine/repo';
import { Worker } from '../engine/worker';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';

const fakes = path.join(__dirname, 'fixtures', 'fake-cli');
const profiles = Object.fromEntries(AgentCli.options.map((cli) => [cli, { cli, program: path.join(fakes, cli) }]));

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const dir = tempDir('ocr-agent-runs-');
const workers: Worker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore(db.url);
  process.env.FAKE_AGENT_STATE = path.join(dir.path, 'agent-state');
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

async function repoSession(name: string): Promise<{ session: Session; repo: string }> {
  const repo = path.join(dir.path, name);
  mkdirSync(repo, { recursive: true });
  makeRepo(repo, { 'README.md': '# app\n' });
  const info = await describeRepo(repo);
  const session = await store.createSession({ title: name, repo_id: info.repoId, repo_path: info.repoPath, base_ref: info.baseRef, lanes: ['A', 'B'] });
  return { session, repo };
}

async function startWorker(session: Session, repo: string): Promise<Worker> {
  const worker = new Worker(store, {
    worktreeRoot: path.join(dir.path, 'worktrees'),
    repos: [repo],
    sessions: [session.id],
    agents: profiles,
    passEnv: ['FAKE_AGENT_STATE'],
    pollMs: 500,
    recoverMs: 500,
  });
  workers.push(worker);
  await worker.start();
  return worker;
}

async function finished(runId: string): Promise<Run> {
  let run = await store.getRun(runId);
  await eventually(async () => isFinal((run = await store.getRun(runId)).status), `run ${runId} finished`, 30_000);
  return run;
}

async function events(runId: string): Promise<RunEvent[]> {
  return store.listEvents(runId, 0, 5000);
}

const agentRun = (session: Session, lane: string, intent: string, spec: Record<string, unknown>) =>
  store.createRun({ session_id: session.id, lane, intent, executor: 'agent', spec });

describe('coding-agent runs', () => {
  it('claude: its version is asked with the run\'s environment; edits land in the worktree, its steps are stored with the raw lines, its session and cost are kept on the run, and a follow-up resumes it', async () => {
    const { session, repo } = await repoSession('claude-edits');
    await startWorker(session, repo);
    process.env.OCR_WORKER_ONLY_SECRET = 'not for agents';
    const first = await finished((await agentRun(session, 'A', 'edit notes.md', { profile: 'claude' })).id);
    expect(first).toMatchObject({ status: 'succeeded', exit_code: 0 });
    // its version was asked with the run's environment, not the worker's
    const versionEnv = JSON.parse(readFileSync(path.join(process.env.FAKE_AGENT_STATE!, 'version-env.json'), 'utf8')) as string[];
    expect(versionEnv).toContain('FAKE_AGENT_STATE');
    expect(versionEnv).not.toContain('OCR_WORKER_ONLY_SECRET');
    expect(first.agent).toMatchObject({ cli: 'claude', profile: 'claude', costSource: 'reported', denials: [] });
    expect(first.agent?.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.agent?.costUsd).toBeGreaterThan(0);
    expect(first.agent?.needsInput).toBeUndefined();

    const log = await events(first.id);
    const steps = log.flatMap((e) => agentSteps(e.data));
    expect(steps.map((s) => s.kind)).toEqual(expect.arrayContaining(['init', 'message', 'tool_call', 'tool_result', 'file_edit', 'usage', 'result']));
    expect(steps.find((s) => s.kind === 'file_edit')).toMatchObject({ path: 'notes.md' });
    // every line is kept as it came: the stream's JSON is the event's text
    expect(log.filter((e) => e.stream === 'stdout').every((e) => e.text.startsWith('{'))).toBe(true);
    const worktree = log.map((e) => /created worktree (\S+)/.exec(e.text)?.[1]).find(Boolean)!;
    expect(readFileSync(path.join(worktree, 'notes.md'), 'utf8')).toContain('edited by fake claude');

    const followUp = await finished((await agentRun(session, 'A', 'edit more.md', { profile: 'claude', resume: first.agent!.sessionId })).id);
    expect(followUp).toMatchObject({ status: 'succeeded' });
    expect(followUp.agent?.sessionId).toBe(first.agent!.sessionId);
    expect(existsSync(path.join(worktree, 'more.md'))).toBe(true);
  });

  it('marks a run that ended on a denied tool, or on a question, as needing input, and says so in its log', async () => {
    const { session, repo } = await repoSession('needs-input');
    await startWorker(session, repo);
    const denied = await finished((await agentRun(session, 'A', 'deny Bash', { profile: 'claude' })).id);
    expect(denied.status).toBe('succeeded');
    expect(denied.agent?.needsInput).toMatchObject({ reason: 'permission', detail: expect.stringContaining('Bash') });
    expect(denied.agent?.denials[0]).toMatchObject({ tool: 'Bash' });
    expect((await events(denied.id)).some((e) => e.level === 'warn' && e.text.startsWith('needs input (permission)'))).toBe(true);

    const asked = await finished((await agentRun(session, 'B', 'ask', { profile: 'gemini' })).id);
    expect(asked.agent).toMatchObject({ cli: 'gemini', needsInput: { reason: 'question' } });
    expect(asked.agent?.needsInput?.detail).toMatch(/\?$/);
  });

  it('codex: the thread id from its stream is the session a follow-up resumes, and its tokens are priced with the model asked for', async () => {
    const { session, repo } = await repoSession('codex');
    await startWorker(session, repo);
    const first = await finished((await agentRun(session, 'A', 'edit a.txt', { profile: 'codex', model: 'gpt-5' })).id);
    expect(first.status).toBe('succeeded');
    expect(first.agent).toMatchObject({ cli: 'codex', costSource: 'priced', inputTokens: 1000, outputTokens: 100 });
    const thread = first.agent!.sessionId!;
    expect(thread).toBeTruthy();
    const next = await finished((await agentRun(session, 'A', 'edit b.txt', { profile: 'codex', model: 'gpt-5', resume: thread })).id);
    expect(next.agent?.sessionId).toBe(thread);
  });

  it('stops a run whose cost passes its budget, fails it with the reason, and keeps what it spent', async () => {
    const { session, repo } = await repoSession('budget');
    await startWorker(session, repo);
    // a first turn of a million input tokens ($1.25 at gpt-5's price) before a long command
    const run = await finished((await agentRun(session, 'A', 'sleep 60 cost 1', { profile: 'codex', model: 'gpt-5', maxBudgetUsd: 0.5 })).id);
    expect(run.status).toBe('failed');
    expect(run.error).toContain('passed its budget of $0.50');
    expect(run.agent).toMatchObject({ overBudget: true, budgetUsd: 0.5 });
    expect(run.agent?.costUsd).toBeGreaterThan(0.5);
    expect(new Date(run.finished_at!).getTime() - new Date(run.started_at!).getTime()).toBeLessThan(30_000);
  });

  it('cancels claude with SIGINT first, so it writes its final result, and records the cancel though it exits 0', async () => {
    const { session, repo } = await repoSession('cancel');
    await startWorker(session, repo);
    const run = await agentRun(session, 'A', 'sleep 60', { profile: 'claude' });
    await eventually(async () => (await events(run.id)).some((e) => agentSteps(e.data).some((s) => s.kind === 'init')), 'the agent started', 20_000);
    await store.cancelRun(run.id);
    const done = await finished(run.id);
    expect(done.status).toBe('canceled');
    const steps = (await events(run.id)).flatMap((e) => agentSteps(e.data));
    expect(steps.find((s) => s.kind === 'result')).toMatchObject({ ok: false, subtype: 'error_during_execution' });
  });

  it('keeps every line of a stream that breaks off, and fails the run with its exit code', async () => {
    const { session, repo } = await repoSession('crash');
    await startWorker(session, repo);
    const run = await finished((await agentRun(session, 'A', 'crash', { profile: 'claude' })).id);
    expect(run).toMatchObject({ status: 'failed', exit_code: 1 });
    const log = await events(run.id);
    const last = log.filter((e) => e.stream === 'stdout').at(-1)!;
    expect(last.text.startsWith('{')).toBe(true);
    expect(agentSteps(last.data)).toEqual([]);
  });

  it('keeps a 5 MB line that is no event, with bytes that are not UTF-8, as plain lines, and reads the events after it', async () => {
    const { session, repo } = await repoSession('garbage');
    await startWorker(session, repo);
    const run = await finished((await agentRun(session, 'A', 'garbage edit after.md', { profile: 'claude' })).id);
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(run.agent?.costUsd).toBeGreaterThan(0);
    const log = await events(run.id);
    const pieces = log.filter((e) => e.stream === 'stdout' && e.text.startsWith('{"type":"assistant","message":"aaa') || (e.data as { continued?: boolean } | null)?.continued);
    expect(pieces.reduce((n, e) => n + e.text.length, 0)).toBeGreaterThan(5 * 1024 * 1024);
    expect(pieces.every((e) => agentSteps(e.data).length === 0)).toBe(true);
    expect(pieces.at(-1)!.text).toContain('\uFFFD');
    expect(log.flatMap((e) => agentSteps(e.data)).find((s) => s.kind === 'file_edit')).toMatchObject({ path: 'after.md' });
  });
});
