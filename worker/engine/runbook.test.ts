// Runbook runs through the real worker: steps in order with their own states, inputs as data, retries with backoff,
// approval gates that park a run without a lease, cancel at every point, and a run resumed where its worker was lost.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type Run, type RunEvent, type Session } from '../../domain';
import { parseRunbook, type RunbookFile } from '../runbooks/files';
import { SecretBox } from '../runbooks/secrets';
import { queueRunbookRun } from '../runs/queue-runbook-run';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { bundleFixture, eventually, tempDir } from './git.test-support';
import { Worker, type WorkerOptions } from './worker';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const dir = tempDir();
const keyFile = path.join(dir.path, 'secret.key');
const secrets = () => SecretBox.fromFile(keyFile, { create: true });
const workers: Worker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore(db.url);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

async function startWorker(session: Session, options: WorkerOptions = {}, log?: (line: string) => void): Promise<Worker> {
  const worker = new Worker(store, { worktreeRoot: path.join(dir.path, 'worktrees'), sessions: [session.id], pollMs: 200, recoverMs: 200, secretKeyFile: keyFile, ...options }, { log });
  workers.push(worker);
  await worker.start();
  return worker;
}

function runbook(name: string, text: string): RunbookFile {
  const parsed = parseRunbook(text, path.join(dir.path, `${name}.yaml`));
  if ('problems' in parsed) throw new Error(parsed.problems.map((p) => p.message).join('\n'));
  return parsed;
}

async function finished(runId: string, limitMs = 30_000): Promise<Run> {
  let run = await store.getRun(runId);
  await eventually(async () => isFinal((run = await store.getRun(runId)).status), `run ${runId} finished`, limitMs);
  return run;
}

async function events(runId: string): Promise<RunEvent[]> {
  return store.listEvents(runId, 0, 100_000);
}

const scratch = (lanes = ['A']) => store.createSession({ title: 'runbooks', lanes });

describe('runbook runs', () => {
  it('runs its steps in order, each with its state, its lines and its inputs as data; leaves a manifest', async () => {
    const session = await scratch();
    const pwned = path.join(dir.path, 'pwned');
    const file = runbook(
      'greet',
      `name: greet
title: Greet
inputs:
  - key: who
    required: true
  - key: token
    secret: true
steps:
  - id: hello
    run: 'echo "hello $OCR_INPUT_WHO"'
  - id: argv
    run: [printf, "%s|", "{{ inputs.who }}"]
  - id: secret
    run: 'echo "the token is $OCR_INPUT_TOKEN"'
  - id: never
    if: "inputs.who == 'nobody'"
    run: 'echo never'
  - id: link
    run: 'echo "::artifact link Report https://example.com/r/1"; echo report > "$OCR_ARTIFACTS_DIR/report.txt"'
`,
    );
    const hostile = `$(touch ${pwned})`;
    const run = await queueRunbookRun(store, file, { session_id: session.id, inputs: { who: hostile, token: 's3cr3t-value' }, lane: 'A' }, secrets);
    expect(JSON.stringify(run.spec)).not.toContain('s3cr3t-value');
    await startWorker(session);
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    expect(existsSync(pwned)).toBe(false);
    const steps = await store.listSteps(run.id);
    expect(steps.map((s) => [s.step_id, s.status])).toEqual([
      ['hello', 'succeeded'],
      ['argv', 'succeeded'],
      ['secret', 'succeeded'],
      ['never', 'skipped'],
      ['link', 'succeeded'],
    ]);
    const lines = await events(run.id);
    const of = (step: string) => lines.filter((e) => e.step === step && e.stream === 'stdout').map((e) => e.text);
    expect(of('hello')).toEqual([`hello ${hostile}`]);
    expect(of('argv')).toEqual([`${hostile}|`]);
    expect(of('secret')).toEqual(['the token is ***']);
    expect(lines.some((e) => e.text.includes('s3cr3t-value'))).toBe(false);
    // the worker's lines about a step (its end, a skip) belong to that step
    expect(lines.some((e) => e.level === 'success' && e.step === 'hello' && e.text.startsWith('step hello: succeeded'))).toBe(true);
    expect(lines.filter((e) => e.step === 'never').map((e) => e.text)).toEqual(["step never: skipped (inputs.who == 'nobody')"]);
    const artifacts = await store.listArtifacts(run.id);
    expect(artifacts.map((a) => [a.kind, a.name]).sort()).toEqual([
      ['file', 'report.txt'],
      ['link', 'Report'],
      ['manifest', 'manifest.json'],
    ]);
    const manifest = JSON.parse(artifacts.find((a) => a.kind === 'manifest')!.content!);
    expect(manifest).toMatchObject({ runbook: { name: 'greet', version: 1 }, inputs: { who: hostile, token: '***' }, steps: expect.any(Array) });
    expect(manifest.steps.map((s: { status: string }) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'skipped', 'succeeded']);
  });

  it('publishes each version once, and a run keeps the version it was queued with', async () => {
    const session = await scratch();
    const v1 = runbook('versions', 'name: versions\ntitle: Versions\nsteps:\n  - id: say\n    run: echo one\n');
    const v2 = runbook('versions', 'name: versions\ntitle: Versions\nsteps:\n  - id: say\n    run: echo two\n');
    const first = await queueRunbookRun(store, v1, { session_id: session.id, lane: 'A' }, secrets);
    const again = await queueRunbookRun(store, v1, { session_id: session.id, lane: 'A' }, secrets);
    const second = await queueRunbookRun(store, v2, { session_id: session.id, lane: 'A' }, secrets);
    expect([first.spec.version, again.spec.version, second.spec.version]).toEqual([1, 1, 2]);
    await startWorker(session);
    for (const [run, text] of [[first, 'one'], [second, 'two']] as const) {
      await finished(run.id);
      expect((await events(run.id)).filter((e) => e.step === 'say' && e.stream === 'stdout').map((e) => e.text)).toEqual([text]);
    }
  });

  it('tries a failing step again after its backoff, and fails the run when the tries are used up', async () => {
    const session = await scratch(['A', 'B']);
    const counter = path.join(dir.path, 'tries');
    const flaky = runbook(
      'flaky',
      `name: flaky
title: Flaky
steps:
  - id: third-time
    retry: { max_attempts: 3, backoff: fixed, initial_seconds: 0.2 }
    run: 'n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "try $n"; [ $n -ge 3 ]'
`,
    );
    const hopeless = runbook('hopeless', 'name: hopeless\ntitle: Hopeless\nsteps:\n  - id: no\n    retry: { max_attempts: 2, initial_seconds: 0.1 }\n    run: exit 7\n  - id: after\n    run: echo never\n');
    const a = await queueRunbookRun(store, flaky, { session_id: session.id, lane: 'A' }, secrets);
    const b = await queueRunbookRun(store, hopeless, { session_id: session.id, lane: 'B' }, secrets);
    await startWorker(session, { concurrency: 2 });
    expect((await finished(a.id)).status).toBe('succeeded');
    expect((await store.listSteps(a.id))[0]).toMatchObject({ status: 'succeeded', tries: 3 });
    const failed = await finished(b.id);
    expect(failed).toMatchObject({ status: 'failed', error: 'step no exited 7' });
    expect((await store.listSteps(b.id)).map((s) => [s.step_id, s.status, s.tries])).toEqual([
      ['no', 'failed', 2],
      ['after', 'skipped', 0],
    ]);
  });

  it('parks at an approval without a lease, keeps the lane, and resumes on another worker once approved', async () => {
    const session = await scratch();
    const gated = runbook(
      'gated',
      `name: gated
title: Gated
steps:
  - id: before
    run: echo before; echo "3 tables" > "$OCR_ARTIFACTS_DIR/plan.txt"
  - id: gate
    approval: { message: "Go on?" }
  - id: after
    run: echo after
`,
    );
    const run = await queueRunbookRun(store, gated, { session_id: session.id, lane: 'A' }, secrets);
    const behind = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo behind' });
    const said: string[] = [];
    const first = await startWorker(session, { id: 'first-worker' }, (line) => said.push(line));
    await eventually(async () => (await store.getRun(run.id)).status === 'waiting', 'the run waits at its gate');
    const waiting = await store.getRun(run.id);
    expect(waiting).toMatchObject({ lease_expires_at: null, approval: { step_id: 'gate', message: 'Go on?' } });
    // the worker lets go of the run just after the database records the wait
    await eventually(() => first.status().running.length === 0, 'the first worker holds no run while it waits');
    // what the step before the gate left is kept, the gate's line is the log's last, and the worker wrote nothing
    // for the run once it had let go of its lease
    expect((await store.listArtifacts(run.id)).map((a) => [a.name, a.content])).toEqual([['plan.txt', '3 tables\n']]);
    expect((await events(run.id)).at(-1)).toMatchObject({ step: 'gate', level: 'warn', text: expect.stringContaining('waiting for approval — Go on?') });
    expect(said.filter((line) => line.includes(run.id))).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect((await store.getRun(behind.id)).status).toBe('queued'); // the lane is kept for the waiting run
    await expect(store.approveRun(behind.id)).rejects.toMatchObject({ code: 'invalid_state' });
    await first.stop({ graceMs: 0 });
    const second = await startWorker(session, { id: 'second-worker' });
    await store.approveRun(run.id, 'looks good');
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', claimed_by: second.id, approval: { decision: 'approved', decided_by: expect.any(String) } });
    expect((await store.listSteps(run.id)).map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect((await events(run.id)).filter((e) => e.stream === 'stdout').map((e) => e.text)).toEqual(['before', 'after']);
    await expect(store.approveRun(run.id)).rejects.toMatchObject({ code: 'invalid_state', message: expect.stringContaining('approved by') });
    expect((await finished(behind.id)).status).toBe('succeeded');
  });

  it('a rejected run ends canceled with the reason; a waiting run can be canceled', async () => {
    const session = await scratch(['A', 'B']);
    const gated = runbook('gate-only', 'name: gate-only\ntitle: Gate\nsteps:\n  - id: gate\n    approval: { message: "Deploy?" }\n  - id: deploy\n    run: echo deployed\n');
    const rejected = await queueRunbookRun(store, gated, { session_id: session.id, lane: 'A' }, secrets);
    const canceled = await queueRunbookRun(store, gated, { session_id: session.id, lane: 'B' }, secrets);
    await startWorker(session, { concurrency: 2 });
    await eventually(async () => (await store.listRuns({ sessionId: session.id, status: ['waiting'] })).length === 2, 'both wait');
    expect(await store.rejectRun(rejected.id, 'not today')).toMatchObject({ status: 'canceled', error: 'rejected: not today' });
    expect(await store.cancelRun(canceled.id)).toMatchObject({ outcome: 'canceled' });
    for (const id of [rejected.id, canceled.id]) {
      expect((await store.getRun(id)).status).toBe('canceled');
      expect((await store.listSteps(id)).map((s) => s.status)).toEqual(['canceled', 'skipped']);
    }
  });

  it('cancel mid-step stops the step, and the later steps are skipped', async () => {
    const session = await scratch();
    const slow = runbook('slow', 'name: slow\ntitle: Slow\nsteps:\n  - id: wait\n    run: "echo waiting; sleep 60"\n  - id: then\n    run: echo then\n');
    const run = await queueRunbookRun(store, slow, { session_id: session.id, lane: 'A' }, secrets);
    await startWorker(session);
    await eventually(async () => (await events(run.id)).some((e) => e.text === 'waiting'), 'the step runs');
    await store.cancelRun(run.id);
    expect((await finished(run.id)).status).toBe('canceled');
    expect((await store.listSteps(run.id)).map((s) => s.status)).toEqual(['canceled', 'skipped']);
  });

  it('a failed run with attempts left waits out its backoff before it is claimed again', async () => {
    const session = await scratch();
    const marker = path.join(dir.path, 'attempts');
    const retried = runbook(
      'retried',
      `name: retried
title: Retried
policy: { max_attempts: 2 }
steps:
  - id: once
    run: 'if [ -e ${marker} ]; then echo second; else touch ${marker}; echo first; exit 1; fi'
`,
    );
    const run = await queueRunbookRun(store, retried, { session_id: session.id, lane: 'A' }, secrets);
    await startWorker(session);
    await eventually(async () => (await store.getRun(run.id)).run_after !== null, 'the run backs off');
    const backingOff = await store.getRun(run.id);
    expect(backingOff.status).toBe('queued');
    expect(Date.parse(backingOff.run_after!)).toBeGreaterThan(Date.now() + 1000);
    const done = await finished(run.id, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(Date.parse(done.started_at!)).toBeGreaterThanOrEqual(Date.parse(backingOff.run_after!));
  });

  it('a runbook with a secret input cannot run on a worker without the key, and says so', async () => {
    const session = await scratch();
    const file = runbook('keyed', 'name: keyed\ntitle: Keyed\ninputs:\n  - key: token\n    secret: true\n    required: true\nsteps:\n  - id: use\n    run: echo "$OCR_INPUT_TOKEN"\n');
    const run = await queueRunbookRun(store, file, { session_id: session.id, lane: 'A', inputs: { token: 'hidden' } }, secrets);
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'ocr-other-key-'));
    try {
      writeFileSync(path.join(elsewhere, 'secret.key'), Buffer.alloc(32, 7).toString('base64'));
      await startWorker(session, { secretKeyFile: path.join(elsewhere, 'secret.key') });
      expect(await finished(run.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('sealed with another key') });
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a worker killed with SIGKILL mid-step: another resumes the run at that step (steps are at least once)', async () => {
    const session = await scratch();
    const marker = path.join(dir.path, 'resumed');
    const file = runbook(
      'resumable',
      `name: resumable
title: Resumable
steps:
  - id: first
    run: echo first
  - id: long
    run: 'if [ -e ${marker} ]; then echo "long, again"; else touch ${marker}; echo "long, first try"; sleep 600; fi'
  - id: last
    run: echo last
`,
    );
    const run = await queueRunbookRun(store, file, { session_id: session.id, lane: 'A' }, secrets);
    const fixture = await bundleFixture(path.join(__dirname, 'fixtures', 'worker-process.ts'), dir.path);
    const doomed = spawn(process.execPath, [fixture, db.url, JSON.stringify({ id: 'doomed-runbook', worktreeRoot: path.join(dir.path, 'worktrees'), sessions: [session.id], leaseSeconds: 2, recoverMs: 60_000, secretKeyFile: keyFile })], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      await eventually(async () => (await events(run.id)).some((e) => e.text === 'long, first try'), 'the long step runs');
      doomed.kill('SIGKILL');
    } finally {
      doomed.kill('SIGKILL');
    }
    await startWorker(session, { id: 'rescuer-runbook', leaseSeconds: 2, recoverMs: 200 });
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, claimed_by: 'rescuer-runbook' });
    const steps = await store.listSteps(run.id);
    expect(steps.map((s) => [s.step_id, s.status, s.tries])).toEqual([
      ['first', 'succeeded', 1],
      ['long', 'succeeded', 2],
      ['last', 'succeeded', 1],
    ]);
    const out = (await events(run.id)).filter((e) => e.stream === 'stdout').map((e) => e.text);
    expect(out).toEqual(['first', 'long, first try', 'long, again', 'last']);
  });
});
