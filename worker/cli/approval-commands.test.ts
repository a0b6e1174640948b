// `ocr approve`, `ocr reject`, `ocr status` of waiting runs and `ocr logs --step`, as a user runs them: the real
// bundle as a process, runbook runs queued by `ocr runbook run` and carried out by a real Worker up to their gates.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type Run } from '../../domain';
import { eventually, makeRepo, tempDir } from '../engine/git.test-support';
import { Worker } from '../engine/worker';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import { type CliResult, runOcr } from './cli.test-support';



let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
let worker: Worker;
let sessionId: string;
let approved: string;
let rejected: string;
let other: string;
/** who the database says decides: the login role of the test server's URL */
let me: string;
const dir = tempDir('ocr-cli-approvals-');
const repo = path.join(dir.path, 'repo');
const keyFile = path.join(dir.path, 'secret.key');

const ocr = (args: string[]): Promise<CliResult> => runOcr(args, { cwd: repo, env: { OCR_DATABASE_URL: db.url, OCR_SECRET_KEY_FILE: keyFile } });

const json = (r: CliResult) => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

const gated = `name: gated
title: Gated release
inputs:
  - key: what
    required: true
steps:
  - id: before
    run: [echo, "building {{ inputs.what }}"]
  - id: gate
    approval:
      message: "Ship {{ inputs.what }}?"
  - id: after
    run: 'echo "shipped $OCR_INPUT_WHAT"'
`;

async function finished(runId: string): Promise<Run> {
  let run = await store.getRun(runId);
  await eventually(async () => isFinal((run = await store.getRun(runId)).status), `run ${runId} finished`, 30_000);
  return run;
}

beforeAll(async () => {
  db = await createTestDatabase('ocr_cli_approvals');
  store = await openStore(db.url);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  me = (await client.query<{ u: string }>('select session_user as u')).rows[0]!.u;
  await client.end();
  mkdirSync(repo);
  makeRepo(repo, { 'README.md': 'a project\n', '.ocr/runbooks/gated.yaml': gated });
  sessionId = json(await ocr(['--json', 'session', 'new', '--title', 'release', '--repo', repo])).id;
  approved = json(await ocr(['--json', 'runbook', 'run', 'gated', '--session', sessionId, '--lane', 'A', '--input', 'what=v1.2'])).id;
  rejected = json(await ocr(['--json', 'runbook', 'run', 'gated', '--session', sessionId, '--lane', 'B', '--input', 'what=v1.3'])).id;
  // a run of another session, which no worker serves: it stays queued
  const elsewhere = json(await ocr(['--json', 'session', 'new', '--title', 'elsewhere'])).id;
  other = json(await ocr(['--json', 'run', '--session', elsewhere, '--lane', 'A', '--', 'echo', 'hi'])).id;
  worker = new Worker(store, { worktreeRoot: path.join(dir.path, 'worktrees'), sessions: [sessionId], concurrency: 2, pollMs: 200, recoverMs: 200, secretKeyFile: keyFile });
  await worker.start();
  await eventually(async () => (await store.listRuns({ sessionId, status: ['waiting'] })).length === 2, 'both runs wait at their gate');
});

afterAll(async () => {
  await worker?.stop({ graceMs: 0 });
  await store?.close();
  await db?.drop();
  dir.remove();
});

describe('approvals from the command line', () => {
  it('ocr status shows the waiting runs and what each waits for', async () => {
    const text = await ocr(['status', '--session', sessionId]);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^0 running · 2 waiting · 0 queued/);
    expect(text.stdout).toMatch(new RegExp(`^${approved.replace(/-/g, '').slice(0, 8)}\\s+release\\s+A\\s+waiting\\s`, 'm'));
    expect(text.stdout).toContain('waiting for approval (ocr approve RUN, or ocr reject RUN --reason …):\n');
    expect(text.stdout).toMatch(new RegExp(`^ {2}${approved.replace(/-/g, '').slice(0, 8)} {2}lane A {2}step gate: Ship v1\\.2\\? \\(since .*\\)$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^ {2}${rejected.replace(/-/g, '').slice(0, 8)} {2}lane B {2}step gate: Ship v1\\.3\\? \\(since .*\\)$`, 'm'));
    const data = json(await ocr(['status', '--session', sessionId, '--json']));
    expect(data.runs.find((r: { id: string }) => r.id === approved)).toMatchObject({
      status: 'waiting',
      executor: 'runbook',
      approval: { step_id: 'gate', message: 'Ship v1.2?', approvers: [], requested_at: expect.any(String) },
    });
  });

  it('ocr approve lets a waiting run go on; approving it again, or a run that never waited, is refused as the store says', async () => {
    const done = json(await ocr(['approve', approved.slice(0, 8), '--note', 'checked the changelog', '--json']));
    expect(done).toEqual({
      id: approved,
      status: 'queued',
      step_id: 'gate',
      decision: 'approved',
      decided_by: me,
      decided_at: expect.any(String),
      reason: 'checked the changelog',
      error: null,
    });
    expect(await finished(approved)).toMatchObject({ status: 'succeeded' });
    expect((await store.listSteps(approved)).map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);

    const again = await ocr(['approve', approved]);
    expect(again).toEqual({
      code: 1,
      stdout: '',
      stderr: `ocr: run ${approved} is succeeded, not waiting for an approval (it was approved by ${me}) (only a run parked at an approval step can be approved or rejected)\n`,
    });
    const queued = await ocr(['approve', other]);
    expect(queued).toEqual({ code: 1, stdout: '', stderr: `ocr: run ${other} is queued, not waiting for an approval (only a run parked at an approval step can be approved or rejected)\n` });
    expect((await store.getRun(other)).status).toBe('queued');
    expect((await ocr(['approve', 'nope'])).stderr).toMatch(/^ocr: run: "nope" is not a run id \(give the id or its first characters/);
    expect(await ocr(['approve', other, '--note', '  '])).toEqual({ code: 2, stdout: '', stderr: 'ocr: --note "  ": give 1 to 2000 characters\n' });
  });

  it('ocr reject needs a reason, ends the run canceled with it, and refuses a second decision', async () => {
    const noReason = await ocr(['reject', rejected]);
    expect(noReason).toEqual({ code: 2, stdout: '', stderr: 'ocr: --reason: required (give --reason <text>; run `ocr reject --help` for usage)\n' });
    expect((await store.getRun(rejected)).status).toBe('waiting');

    const text = await ocr(['reject', rejected, '--reason', 'not during the freeze']);
    expect(text).toEqual({ code: 0, stderr: '', stdout: `rejected run ${rejected.replace(/-/g, '').slice(0, 8)} at step gate: not during the freeze; it ended canceled\n${rejected}\n` });
    expect(await store.getRun(rejected)).toMatchObject({ status: 'canceled', error: 'rejected: not during the freeze', approval: { decision: 'rejected', reason: 'not during the freeze' } });
    expect((await store.listSteps(rejected)).map((s) => [s.step_id, s.status])).toEqual([
      ['before', 'succeeded'],
      ['gate', 'canceled'],
      ['after', 'skipped'],
    ]);
    const twice = await ocr(['reject', rejected, '--reason', 'again', '--json']);
    expect(twice).toEqual({
      code: 1,
      stdout: '',
      stderr: `ocr: run ${rejected} is canceled, not waiting for an approval (it was rejected by ${me}) (only a run parked at an approval step can be approved or rejected)\n`,
    });
  });

  it("ocr logs --step prints only that step's lines; an unknown step is one line naming the run's steps", async () => {
    const before = await ocr(['logs', approved, '--step', 'before']);
    expect(before.stderr).toBe('');
    const lines = before.stdout.trimEnd().split('\n');
    expect(lines).toContain('building v1.2');
    expect(lines).toContainEqual(expect.stringMatching(/^── step before: succeeded in /));
    expect(lines.every((l) => !/shipped|gate|after/.test(l))).toBe(true);
    const after = await ocr(['logs', approved, '--step', 'after']);
    expect(after.stdout).toContain('shipped v1.2\n');
    expect(after.stdout).not.toContain('building');

    const data = json(await ocr(['logs', approved, '--step', 'after', '--json']));
    expect(data.step).toMatchObject({ step_id: 'after', status: 'succeeded', kind: 'shell', tries: 1 });
    expect(data.events.length).toBeGreaterThan(0);
    expect(data.events.every((e: { step: string | null; text: string }) => e.step === 'after' || e.text.startsWith('step after:'))).toBe(true);
    expect(data.events.map((e: { text: string }) => e.text)).toContain('shipped v1.2');

    expect(await ocr(['logs', approved, '--step', 'deploy'])).toEqual({
      code: 1,
      stdout: '',
      stderr: `ocr: --step "deploy": run ${approved.replace(/-/g, '').slice(0, 8)} has no such step (its steps: before, gate, after)\n`,
    });
    expect((await ocr(['logs', other, '--step', 'before'])).stderr).toBe(
      `ocr: --step "before": run ${other.replace(/-/g, '').slice(0, 8)} has no such step (it has no steps: only a runbook run has steps, once its worker has started it)\n`,
    );
  });
});
