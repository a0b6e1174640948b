// The ops-api edge function, served by Deno against a Supabase-shaped PostgreSQL: every route, every error status,
// what a worker token reaches and its revocation mid-run, the live log stream and its resumption, and a worker over
// HTTPS killed mid-run and recovered through the function.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type Run, type RunEvent } from '../../domain';
import { ocrJs } from '../cli/cli.test-support';
import { alive, eventually, groupMembers, tempDir } from '../engine/git.test-support';
import { Worker } from '../engine/worker';
import { asUser } from '../store/supabase.test-support';
import { HttpWorkerStore } from './http-store';
import { opsApiFixture, type OpsApiFixture } from './ops-api.test-fixture';
import { denoBinary, repoRoot, startOpsApi, userJwt } from './ops-api.test-support';
import { followRunOverApi, sseMessages } from './run-events-client';

let f: OpsApiFixture;
const dir = tempDir();
const worktreeRoot = path.join(dir.path, 'worktrees');
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  // one stream lasts 3 s, so a test sees the function end streams and the client resume them
  f = await opsApiFixture({ streamSeconds: 3 });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

afterAll(async () => {
  await f?.close();
  dir.remove();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, route: string, auth?: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Json }> {
  const response = await fetch(`${f.api.url}/${route}`, {
    method,
    headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/** An error answer: its status, `{ok: false}` and a one-line message matching `message`. */
function refused(answer: { status: number; json: Json }, status: number, code: string, message?: RegExp): void {
  expect(answer.status, JSON.stringify(answer.json)).toBe(status);
  expect(answer.json.ok).toBe(false);
  expect(answer.json.error.code).toBe(code);
  expect(answer.json.error.message).not.toContain('\n');
  if (message) expect(answer.json.error.message).toMatch(message);
}

function httpStore(token = f.token, extra: Partial<ConstructorParameters<typeof HttpWorkerStore>[0]> = {}): HttpWorkerStore {
  const store = new HttpWorkerStore({ url: f.api.url, token, waitMs: 3000, ...extra });
  cleanups.push(() => store.close());
  return store;
}

async function registered(id: string, token = f.token): Promise<{ store: HttpWorkerStore; worker: { id: string; registration: string } }> {
  const store = httpStore(token);
  await store.registerWorker({ id, host: 'box', pid: 1, concurrency: 4, labels: {} });
  // the registration secret, as the store keeps it, for calls a test makes by hand
  const registration = (store as unknown as { registrations: Map<string, string> }).registrations.get(id)!;
  return { store, worker: { id, registration } };
}

async function claimOne(store: HttpWorkerStore, workerId: string, session: string): Promise<Run> {
  const { claimed } = await store.finishAndClaim(workerId, [], 1, { sessions: [session] });
  expect(claimed).toHaveLength(1);
  return claimed[0]!;
}

async function allEvents(runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (;;) {
    const batch = await f.store.listEvents(runId, events.at(-1)?.seq ?? 0, 5000);
    if (batch.length === 0) return events;
    events.push(...batch);
  }
}

async function finished(runId: string, limitMs = 30_000): Promise<Run> {
  let run = await f.store.getRun(runId);
  await eventually(async () => isFinal((run = await f.store.getRun(runId)).status), `run ${runId} finished`, limitMs);
  return run;
}

const line = (text: string) => ({ stream: 'stdout' as const, text, ts: new Date().toISOString() });

describe("the function's code", () => {
  it('type-checks with deno check, with its npm imports from this repository (no network)', () => {
    const check = spawnSync(denoBinary(), ['check', '--node-modules-dir=manual', '--config', 'supabase/functions/ops-api/deno.json', 'supabase/functions/ops-api/index.ts'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 120_000,
    });
    expect(check.stderr).not.toMatch(/error/i);
    expect(check.status).toBe(0);
  });
});

describe('worker routes', () => {
  it('register, claim, log lines, artifact, ports, heartbeat and finish: the functions the Postgres store calls', async () => {
    const session = await f.sessionOfA();
    const run = await f.store.createRun({ session_id: session, lane: 'A', intent: 'echo hi' });
    const { store } = await registered('box-basic');
    const claimed = await claimOne(store, 'box-basic', session);
    expect(claimed).toMatchObject({ id: run.id, status: 'running', claimed_by: 'box-basic', attempt: 1 });
    const lease = { runId: run.id, workerId: 'box-basic', attempt: 1 };
    expect(await store.appendEvents(lease, [line('one'), line('two')], 0)).toBe(2);
    expect(await store.putArtifact(lease, { kind: 'file', name: 'out.txt', content: 'hi' })).toMatchObject({ name: 'out.txt', size: 2 });
    const ports = await store.leaseLanePorts(lease, 4);
    expect(ports).toMatchObject({ session_id: session, lane: 'A', port_count: 4 });
    await store.recordAgent(lease, { cli: 'claude', profile: 'claude', sessionId: 'conversation-1', inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, costSource: 'none', denials: [] });
    expect((await f.store.getRun(run.id)).agent).toMatchObject({ sessionId: 'conversation-1', inputTokens: 10 });
    expect((await store.heartbeat('box-basic', [run.id])).get(run.id)).toBe('held');
    expect(await store.finishAndClaim('box-basic', [{ runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0 }], 0)).toEqual({ claimed: [], refused: [] });
    expect(await f.store.getRun(run.id)).toMatchObject({ status: 'succeeded', exit_code: 0, claimed_by: 'box-basic' });
    expect((await allEvents(run.id)).map((e) => e.text)).toEqual(['one', 'two']);
    const [row] = (await f.store.listWorkers()).filter((w) => w.id === 'box-basic');
    expect(row).toMatchObject({ host: 'box', concurrency: 4, state: 'running' });
    await store.setWorkerState('box-basic', 'stopped');
    expect((await f.store.listWorkers()).find((w) => w.id === 'box-basic')?.state).toBe('stopped');
  });

  it('a batch sent again after a lost answer is stored once, and an end already recorded is answered as refused', async () => {
    const session = await f.sessionOfA();
    const run = await f.store.createRun({ session_id: session, lane: 'A', intent: 'echo' });
    const { store } = await registered('box-resend');
    await claimOne(store, 'box-resend', session);
    const lease = { runId: run.id, workerId: 'box-resend', attempt: 1 };
    const batch = [line('a'), line('b')];
    expect(await store.appendEvents(lease, batch, 0)).toBe(2);
    expect(await store.appendEvents(lease, batch, 0)).toBe(2);
    expect((await allEvents(run.id)).map((e) => e.text)).toEqual(['a', 'b']);
    const end = { runId: run.id, attempt: 1, status: 'succeeded' as const, exitCode: 0 };
    await store.finishAndClaim('box-resend', [end], 0);
    const again = await store.finishAndClaim('box-resend', [end], 0);
    expect(again.refused.map((r) => [r.id, r.status])).toEqual([[run.id, 'succeeded']]);
  });

  it('a batch larger than the function takes goes in parts, in order, each line once', async () => {
    const session = await f.sessionOfA();
    const run = await f.store.createRun({ session_id: session, lane: 'A', intent: 'echo' });
    const { store } = await registered('box-parts');
    await claimOne(store, 'box-parts', session);
    const big = Array.from({ length: 60 }, (_, i) => line(`${i} ${'x'.repeat(100_000)}`));
    expect(await store.appendEvents({ runId: run.id, workerId: 'box-parts', attempt: 1 }, big, 0)).toBe(60);
    const stored = await allEvents(run.id);
    expect(stored.map((e) => Number(e.text.split(' ')[0]))).toEqual([...Array(60).keys()]);
  });

  it('runbook steps through the function: plan, move, park at a gate; an editor approves it back into the queue', async () => {
    const session = await f.sessionOfA();
    const runbook = { name: 'gate', steps: [{ id: 'build', run: 'true' }, { id: 'ok', approval: { message: 'ship?' } }] };
    const template = await asUser(f.pool, f.users.a, async (c) =>
      (await c.query<{ id: string }>('select id from ops.publish_template($1, $2, $3, $4::jsonb, null, $5)', ['gate', 'text', createHash('sha256').update('gate').digest('hex'), JSON.stringify(runbook), f.teams.a])).rows[0]!.id,
    );
    const run = await f.store.createRun({ session_id: session, lane: 'B', intent: 'runbook gate', executor: 'runbook', spec: { template_id: template, name: 'gate', version: 1 } });
    const { store } = await registered('box-steps');
    await claimOne(store, 'box-steps', session);
    expect((await store.getTemplate(template)).runbook).toMatchObject({ name: 'gate' });
    const lease = { runId: run.id, workerId: 'box-steps', attempt: 1 };
    const steps = await store.planSteps(lease, [{ step_id: 'build', title: 'build', kind: 'shell' }, { step_id: 'ok', title: 'ok', kind: 'approval' }]);
    expect(steps.map((s) => s.status)).toEqual(['queued', 'queued']);
    await store.moveStep(lease, 0, 'running');
    expect(await store.moveStep(lease, 0, 'succeeded', { exitCode: 0 })).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect((await store.listSteps(run.id)).map((s) => s.status)).toEqual(['succeeded', 'queued']);
    expect(await store.parkRun(lease, 1, { message: 'ship?' })).toMatchObject({ status: 'waiting' });
    refused(await call('POST', `runs/${run.id}/approve`, f.jwt.b, {}), 404, 'not_found');
    const approved = await call('POST', `runs/${run.id}/approve`, f.jwt.a, { note: 'go' });
    expect(approved.status).toBe(200);
    expect(approved.json.run).toMatchObject({ id: run.id, status: 'queued' });
    // and a run that waits for nobody cannot be approved
    refused(await call('POST', `runs/${run.id}/approve`, f.jwt.a, {}), 409, 'invalid_state');
  });

  it('release, requeue and recover', async () => {
    const session = await f.sessionOfA();
    const runs = await f.store.createRuns(['A', 'B', 'C'].map((lane) => ({ session_id: session, lane, intent: 'echo' })));
    const { store } = await registered('box-back');
    const { claimed } = await store.finishAndClaim('box-back', [], 3, { sessions: [session], leaseSeconds: 2 });
    expect(claimed).toHaveLength(3);
    const lease = (r: Run) => ({ runId: r.id, workerId: 'box-back', attempt: r.attempt });
    const [a, b] = [runs[0]!, runs[1]!];
    expect(await store.releaseRun(lease(claimed.find((r) => r.id === a.id)!))).toMatchObject({ status: 'queued' });
    expect(await store.requeueRun(lease(claimed.find((r) => r.id === b.id)!), 60, 'try later')).toMatchObject({ status: 'queued', error: 'try later' });
    await eventually(async () => (await store.recoverExpired()).some((r) => r.runId === runs[2]!.id && r.outcome === 'requeued'), 'the third lease expired and was recovered', 10_000);
    await store.wakeWorkers();
  });

  it("a worker token claims and reads only its team's sessions, or the sessions it names", async () => {
    const mine = await f.sessionOfA();
    const theirs = await asUser(f.pool, f.users.b, async (c) => (await c.query<{ id: string }>('select id from ops.create_session($1)', ['team b work'])).rows[0]!.id);
    const theirRun = await f.store.createRun({ session_id: theirs, lane: 'A', intent: 'echo b' });
    const myRun = await f.store.createRun({ session_id: mine, lane: 'A', intent: 'echo a' });
    const { store } = await registered('box-scope');
    // asking for B's session too changes nothing: the database narrows the claim to the token's sessions
    const { claimed } = await store.finishAndClaim('box-scope', [], 10, { sessions: [theirs, mine] });
    expect(claimed.map((r) => r.id)).toEqual([myRun.id]);
    expect((await f.store.getRun(theirRun.id)).status).toBe('queued');
    await expect(store.getSession(theirs)).rejects.toMatchObject({ code: 'not_found' });
    expect((await store.listSessions()).map((s) => s.id)).not.toContain(theirs);
    expect((await store.listRuns({ status: ['queued'] })).map((r) => r.id)).not.toContain(theirRun.id);
    await expect(store.listSteps(theirRun.id)).resolves.toEqual([]);

    // a token narrowed to one session claims from it only
    const other = await f.sessionOfA('other');
    const otherRun = await f.store.createRun({ session_id: other, lane: 'A', intent: 'echo' });
    const narrow = await f.newToken('narrow', [mine]);
    const n = await registered('box-narrow', narrow.token);
    expect((await n.store.finishAndClaim('box-narrow', [], 10, {})).claimed.map((r) => r.id)).not.toContain(otherRun.id);
    await expect(n.store.getSession(other)).rejects.toMatchObject({ code: 'not_found' });
  });

  it("a worker id stays its token's: another token may neither register under it nor call as it", async () => {
    const { worker } = await registered('box-owned');
    const teamB = await asUser(f.pool, f.users.b, async (c) => (await c.query<{ token: string }>('select * from ops.create_worker_token($1, $2)', [f.teams.b, 'b-box'])).rows[0]!.token);
    refused(await call('POST', 'worker/register', teamB, { id: 'box-owned', host: 'x', pid: 1, concurrency: 1 }), 403, 'not_authorized', /box-owned belongs to a worker of another team/);
    const second = await f.newToken('second');
    refused(await call('POST', 'worker/heartbeat', second.token, { worker, run_ids: [] }), 403, 'not_authorized', /was not registered with this worker token/);
    refused(await call('POST', 'worker/heartbeat', f.token, { worker: { ...worker, registration: 'x'.repeat(64) }, run_ids: [] }), 403, 'not_authorized', /not registered, or the token is not its token/);
  });

  it('every error status: 400, 401, 403, 404, 405, 409, 413', async () => {
    const session = await f.sessionOfA();
    const run = await f.store.createRun({ session_id: session, lane: 'A', intent: 'echo' });
    const { store, worker } = await registered('box-errors');
    await claimOne(store, 'box-errors', session);

    refused(await call('POST', 'worker/claim', f.token, { worker, max: -1 }), 400, 'invalid_input', /^max: /);
    refused(await call('POST', 'worker/heartbeat', f.token, { run_ids: [] }), 400, 'invalid_input', /^worker: /);
    refused(await call('POST', 'worker/events', f.token, '{"not json'), 400, 'invalid_input', /^body: not JSON/);
    refused(await call('POST', 'worker/events', f.token, { worker, run_id: 'nope', attempt: 1, events: [] }), 400, 'invalid_input', /^run_id: run_id must be a uuid/);

    refused(await call('POST', 'worker/heartbeat', undefined, { worker, run_ids: [] }), 401, 'not_authenticated', /Authorization/);
    refused(await call('POST', 'worker/heartbeat', 'ocrw_' + 'f'.repeat(64), { worker, run_ids: [] }), 401, 'not_authenticated', /unknown or revoked/);
    refused(await call('POST', 'worker/heartbeat', f.jwt.a, { worker, run_ids: [] }), 401, 'not_authenticated', /worker routes take a worker token/);
    refused(await call('GET', 'sessions', f.token), 403, 'not_authorized', /a worker token may only call worker routes/);

    refused(await call('POST', 'worker/nothing', f.token, {}), 404, 'not_found', /no worker route nothing/);
    refused(await call('GET', 'nothing', f.jwt.a), 404, 'not_found', /no route GET \/nothing/);
    refused(await call('GET', 'worker/claim', f.token), 405, 'method_not_allowed');

    // a write under an attempt the worker no longer holds
    refused(await call('POST', 'worker/events', f.token, { worker, run_id: run.id, attempt: 2, events: [line('late')] }), 409, 'lease_lost');
    await expect(store.appendEvents({ runId: run.id, workerId: 'box-errors', attempt: 2 }, [line('late')])).rejects.toMatchObject({ name: 'LeaseLostError', code: 'lease_lost' });

    const huge = JSON.stringify({ worker, run_id: run.id, attempt: 1, events: [line('x'.repeat(5 * 1024 * 1024))] });
    refused(await call('POST', 'worker/events', f.token, huge), 413, 'too_large', /4 MB/);
    refused(await call('POST', 'worker/state', f.token, { worker, state: 'running', padding: 'x'.repeat(70_000) }), 413, 'too_large', /64 KB/);
    // nothing of the refused writes was stored
    expect(await allEvents(run.id)).toEqual([]);
  });

  it('500 when the function cannot verify users, 503 when its database is away: one line that says what to do', async () => {
    const broken = await startOpsApi({ databaseUrl: 'postgres://nobody@127.0.0.1:9/none', jwtSecret: '' });
    try {
      const users = await fetch(`${broken.url}/sessions`, { headers: { authorization: `Bearer ${f.jwt.a}` } });
      expect(users.status).toBe(500);
      expect((await users.json()).error).toEqual({ code: 'internal', message: expect.stringMatching(/^the function cannot verify access tokens: set OCR_JWT_SECRET/) });
      const workers = await fetch(`${broken.url}/worker/recover`, { method: 'POST', headers: { authorization: `Bearer ${f.token}` } });
      expect(workers.status).toBe(503);
      expect((await workers.json()).error).toEqual({ code: 'db_unreachable', message: 'the database is unreachable right now; try again' });
      // the worker's store takes it for a database that is away: worth trying again
      const store = new HttpWorkerStore({ url: broken.url, token: f.token });
      await expect(store.recoverExpired()).rejects.toMatchObject({ code: 'db_unreachable' });
    } finally {
      await broken.stop();
    }
  });

  it('the function never writes a token or a JWT to its log', async () => {
    await call('POST', 'worker/heartbeat', f.token, { run_ids: [] });
    await call('GET', 'sessions', f.jwt.a);
    const log = f.api.output.join('');
    expect(log).toContain('POST /worker/heartbeat 400');
    expect(log).not.toContain(f.token);
    expect(log).not.toContain(f.jwt.a);
    expect(log).not.toMatch(/ocrw_[0-9a-f]{8}/);
  });
});

describe('editor routes', () => {
  it("user A creates a session, queues, lists, cancels and retries runs; user B sees and changes nothing of A's", async () => {
    const created = await call('POST', 'sessions', f.jwt.a, { title: 'from the editor', lanes: ['A', 'B'] });
    expect(created.status).toBe(201);
    const session = created.json.session;
    expect(session).toMatchObject({ title: 'from the editor', team_id: f.teams.a, lanes: ['A', 'B'] });
    const queued = await call('POST', 'runs', f.jwt.a, { session_id: session.id, lane: 'A', intent: 'echo hi' });
    expect(queued.status).toBe(201);
    const run = queued.json.run;
    expect(run).toMatchObject({ status: 'queued', lane: 'A' });

    expect((await call('GET', 'sessions', f.jwt.a)).json.sessions.map((s: { id: string }) => s.id)).toContain(session.id);
    const snapshot = (await call('GET', `sessions/${session.id}`, f.jwt.a)).json;
    expect(snapshot.runs.map((r: { id: string }) => r.id)).toEqual([run.id]);
    expect((await call('GET', `runs?session=${session.id}&status=queued`, f.jwt.a)).json.runs).toHaveLength(1);
    expect((await call('GET', `runs/${run.id}`, f.jwt.a)).json.run.id).toBe(run.id);
    expect((await call('GET', `runs/${run.id}/artifacts`, f.jwt.a)).json.artifacts).toEqual([]);

    // user B: nothing of it exists
    expect((await call('GET', 'sessions', f.jwt.b)).json.sessions.map((s: { id: string }) => s.id)).not.toContain(session.id);
    expect((await call('GET', `runs?session=${session.id}`, f.jwt.b)).json.runs).toEqual([]);
    refused(await call('GET', `sessions/${session.id}`, f.jwt.b), 404, 'not_found');
    refused(await call('GET', `runs/${run.id}`, f.jwt.b), 404, 'not_found');
    refused(await call('GET', `runs/${run.id}/events`, f.jwt.b), 404, 'not_found');
    refused(await call('POST', `runs/${run.id}/cancel`, f.jwt.b), 404, 'not_found');
    refused(await call('POST', 'runs', f.jwt.b, { session_id: session.id, lane: 'A', intent: 'echo b' }), 404, 'not_found');
    expect((await f.store.listRuns({ sessionId: session.id })).map((r) => r.id)).toEqual([run.id]);

    const canceled = await call('POST', `runs/${run.id}/cancel`, f.jwt.a);
    expect(canceled.json).toMatchObject({ ok: true, outcome: 'canceled', run: { status: 'canceled' } });
    const retried = await call('POST', `runs/${run.id}/retry`, f.jwt.a);
    expect(retried.status).toBe(201);
    expect(retried.json.run).toMatchObject({ status: 'queued', retry_of: run.id });
    const rejected = await call('POST', `runs/${retried.json.run.id}/reject`, f.jwt.a, { reason: 'no' });
    refused(rejected, 409, 'invalid_state');

    const archived = await call('POST', `sessions/${session.id}/archive`, f.jwt.a);
    expect(archived.json.session).toMatchObject({ status: 'archived' });
  });

  it('a viewer reads but may not act (403); bad ids and fields are 400', async () => {
    await asUser(f.pool, f.users.a, (c) => c.query('select ops.add_team_member($1, $2, $3)', [f.teams.a, f.users.b, 'viewer']));
    cleanups.push(() => asUser(f.pool, f.users.a, async (c) => void (await c.query('select ops.remove_team_member($1, $2)', [f.teams.a, f.users.b]))));
    const session = await f.sessionOfA('viewed');
    const run = await f.store.createRun({ session_id: session, lane: 'A', intent: 'echo' });
    expect((await call('GET', `runs/${run.id}`, f.jwt.b)).json.run.id).toBe(run.id);
    refused(await call('POST', `runs/${run.id}/cancel`, f.jwt.b), 403, 'not_authorized', /viewer may only read/);
    refused(await call('POST', 'sessions', f.jwt.b, { title: 'x', team_id: f.teams.a }), 403, 'not_authorized');
    refused(await call('GET', 'runs/not-a-run', f.jwt.a), 400, 'invalid_input', /^run: "not-a-run" is not a run id/);
    refused(await call('POST', 'runs', f.jwt.a, { session_id: session, lane: 'A' }), 400, 'invalid_input', /^intent: /);
    refused(await call('POST', 'sessions', f.jwt.a, { title: '' }), 400, 'invalid_input', /^title: a session needs a title/);
    refused(await call('GET', `runs/${run.id}/events?after=-1`, f.jwt.a), 400, 'invalid_input', /^after: /);
  });

  it('access tokens: missing, malformed, expired, signed with another secret, or the anon key are 401', async () => {
    refused(await call('GET', 'sessions'), 401, 'not_authenticated', /Authorization/);
    refused(await call('GET', 'sessions', 'not-a-jwt'), 401, 'not_authenticated', /not a JWT/);
    refused(await call('GET', 'sessions', await userJwt(f.secret, f.users.a, { expiresIn: Math.floor(Date.now() / 1000) - 10 })), 401, 'not_authenticated', /expired/);
    refused(await call('GET', 'sessions', await userJwt('another secret of 32 characters!!', f.users.a)), 401, 'not_authenticated', /signature/);
    refused(await call('GET', 'sessions', await userJwt(f.secret, f.users.a, { role: 'anon' })), 401, 'not_authenticated', /anon key is not enough/);
  });
  it("verifies access tokens signed with the project's asymmetric keys through its JWKS", async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    const server = createHttpServer((req, res) => {
      res.writeHead(req.url === '/auth/v1/.well-known/jwks.json' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const api = await startOpsApi({ databaseUrl: f.db.ownerUrl, jwtSecret: '', env: { SUPABASE_URL: `http://127.0.0.1:${port}` } });
    try {
      const signed = await new SignJWT({ role: 'authenticated', aud: 'authenticated' })
        .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
        .setSubject(f.users.a)
        .setExpirationTime('5m')
        .sign(privateKey);
      const ok = await fetch(`${api.url}/sessions`, { headers: { authorization: `Bearer ${signed}` } });
      expect(ok.status).toBe(200);
      // the legacy secret is not configured: an HS256 token is refused, whatever it claims
      const legacy = await fetch(`${api.url}/sessions`, { headers: { authorization: `Bearer ${f.jwt.a}` } });
      expect(legacy.status).toBe(401);
      expect((await legacy.json()).error.message).toMatch(/HS256 tokens are not accepted/);
    } finally {
      await api.stop();
      server.close();
    }
  });
});

describe('the live log stream', () => {
  /** A run of `count` lines already stored (finished when `finish`), through the worker routes. */
  async function runWithLines(count: number, finish: boolean): Promise<{ run: Run; store: HttpWorkerStore; append(texts: string[]): Promise<void>; end(): Promise<void> }> {
    const session = await f.sessionOfA('stream');
    const run = await f.store.createRun({ session_id: session, lane: 'A', intent: 'lines' });
    const id = `box-stream-${run.id.slice(0, 8)}`;
    const { store } = await registered(id);
    await claimOne(store, id, session);
    const lease = { runId: run.id, workerId: id, attempt: 1 };
    let last = 0;
    const append = async (texts: string[]) => {
      last = await store.appendEvents(lease, texts.map(line), last);
    };
    const end = async () => void (await store.finishAndClaim(id, [{ runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0 }], 0));
    for (let i = 0; i < count; i += 1000) await append(Array.from({ length: Math.min(1000, count - i) }, (_, j) => `line ${i + j + 1}`));
    if (finish) await end();
    return { run, store, append, end };
  }

  it('sends every line after `after` in seq order, then `end` once the run has finished', async () => {
    const { run } = await runWithLines(2500, true);
    const response = await fetch(`${f.api.url}/runs/${run.id}/events?after=100`, { headers: { authorization: `Bearer ${f.jwt.a}` } });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seqs: number[] = [];
    const kinds: string[] = [];
    for await (const m of sseMessages(response.body!)) {
      kinds.push(m.event);
      if (m.event === 'events') {
        const events = JSON.parse(m.data) as RunEvent[];
        seqs.push(...events.map((e) => e.seq));
        expect(m.id).toBe(String(events.at(-1)!.seq));
      }
    }
    expect(kinds[0]).toBe('run');
    expect(kinds.at(-1)).toBe('end');
    expect(seqs).toEqual(Array.from({ length: 2400 }, (_, i) => i + 101));
  });

  it('resumes after a forced disconnect, and across the function ending streams at its time limit: no line lost or doubled', async () => {
    const { run, append, end } = await runWithLines(1500, false);
    // a client cut off mid-stream
    const cut = new AbortController();
    const first: RunEvent[] = [];
    try {
      for await (const batch of followRunOverApi(f.api.url, f.jwt.a, run.id, 0, { signal: cut.signal })) {
        first.push(...batch);
        if (first.length >= 1000) cut.abort();
      }
    } catch {
      // the abort
    }
    expect(first.length).toBeGreaterThanOrEqual(1000);
    // …resumes from its last seq while the run goes on writing, past several 3 s stream ends
    const reconnects: string[] = [];
    const rest: RunEvent[] = [];
    const following = (async () => {
      for await (const batch of followRunOverApi(f.api.url, f.jwt.a, run.id, first.at(-1)!.seq, { onReconnect: (why) => reconnects.push(why) })) rest.push(...batch);
    })();
    for (let i = 0; i < 8; i++) {
      await append(Array.from({ length: 50 }, (_, j) => `live ${i * 50 + j + 1}`));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await end();
    await following;
    const all = [...first, ...rest];
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 1900 }, (_, i) => i + 1));
    expect(all.at(-1)!.text).toBe('live 400');
    expect(reconnects.filter((r) => r === 'time limit').length).toBeGreaterThanOrEqual(2);
  });

  it('a stream resumed with Last-Event-ID starts after it', async () => {
    const { run } = await runWithLines(30, true);
    const response = await fetch(`${f.api.url}/runs/${run.id}/events`, { headers: { authorization: `Bearer ${f.jwt.a}`, 'last-event-id': '25' } });
    const seqs: number[] = [];
    for await (const m of sseMessages(response.body!)) if (m.event === 'events') seqs.push(...(JSON.parse(m.data) as RunEvent[]).map((e) => e.seq));
    expect(seqs).toEqual([26, 27, 28, 29, 30]);
  });
});

describe('a worker over HTTPS', () => {
  it('a revoked token stops its worker at its next call: 401, its run killed, nothing more stored, the run recovered', async () => {
    const token = await f.newToken('to-revoke');
    const session = await f.sessionOfA('revoked', ['A']);
    const run = await f.store.createRun({ session_id: session, lane: 'A', intent: 'sleep 600 & echo "child $!"; for i in $(seq 1 600); do echo "tick $i"; sleep 0.1; done' });
    let refusal = '';
    const store = httpStore(token.token, { onTokenRefused: (m) => (refusal = m) });
    const worker = new Worker(store, { id: 'box-revoked', worktreeRoot, sessions: [session], leaseSeconds: 3, pollMs: 300, recoverMs: 60_000 });
    cleanups.push(() => worker.stop({ graceMs: 0 }));
    await worker.start();
    await eventually(async () => (await allEvents(run.id)).some((e) => e.text === 'tick 5'), 'the run ticking');
    const child = Number((await allEvents(run.id)).map((e) => /^child (\d+)$/.exec(e.text)).find(Boolean)![1]);
    const group = worker.processGroupOf(run.id)!;
    await f.revoke(token.id);
    refused(await call('POST', 'worker/recover', token.token, {}), 401, 'not_authenticated', /unknown or revoked/);
    await eventually(() => refusal !== '', 'the worker told its token was refused');
    expect(refusal).toMatch(/unknown or revoked/);
    // past its lease the worker kills the run it can no longer write for
    await eventually(() => groupMembers(group).length === 0 && !alive(child), 'the run killed', 15_000);
    const count = (await allEvents(run.id)).length;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await allEvents(run.id)).length).toBe(count);
    await eventually(async () => (await f.store.recoverExpired()).some((r) => r.runId === run.id), 'the run recovered');
    expect(await f.store.getRun(run.id)).toMatchObject({ status: 'queued', attempt: 1 });
    await f.store.cancelRun(run.id);
  });

  it('`ocr worker --api` killed mid-run: a second worker recovers the run through the function and completes it', async () => {
    const session = await f.sessionOfA('killed', ['A']);
    const run = await f.store.createRun({
      session_id: session,
      lane: 'A',
      intent: 'if [ "$OCR_ATTEMPT" = 1 ]; then sleep 600 & echo "child $!"; wait; else echo "second attempt"; fi',
    });
    const doomed: ChildProcess = spawn(process.execPath, [ocrJs, 'worker', '--api', f.api.url, '--id', 'doomed', '--lease', '2', '--concurrency', '1'], {
      env: { ...process.env, OCR_WORKER_TOKEN: f.token, OCR_WORKTREES: worktreeRoot, OCR_DATABASE_URL: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    doomed.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    cleanups.push(() => void doomed.kill('SIGKILL'));
    await eventually(async () => (await allEvents(run.id)).some((e) => /^child \d+$/.test(e.text)), 'the first attempt running', 30_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${stderr}`);
    });
    expect(stderr).toContain(`store ops-api at ${f.api.url}`);
    const child = Number(/^child (\d+)$/m.exec((await allEvents(run.id)).map((e) => e.text).join('\n'))![1]);
    doomed.kill('SIGKILL');
    await eventually(() => !alive(child), 'the run died with its worker');
    const rescuer = new Worker(httpStore(), { id: 'rescuer', worktreeRoot, sessions: [session], leaseSeconds: 2, recoverMs: 300, pollMs: 500 });
    cleanups.push(() => rescuer.stop({ graceMs: 0 }));
    await rescuer.start();
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, claimed_by: 'rescuer' });
    expect((await allEvents(run.id)).map((e) => e.text)).toContain('second attempt');
  });

  it('`ocr worker --api` refuses a missing token or a malformed URL in one line', async () => {
    const { runOcr } = await import('../cli/cli.test-support');
    const noToken = await runOcr(['worker', '--api', f.api.url], { env: { OCR_WORKER_TOKEN: '' } });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/^ocr: --api: needs a worker token/);
    const badUrl = await runOcr(['worker', '--api', 'ftp://x', '--token', f.token]);
    expect(badUrl.stderr).toMatch(/^ocr: --api: ftp: is not http or https/);
    const badToken = await runOcr(['worker', '--api', f.api.url, '--token', 'secret']);
    expect(badToken.stderr).toMatch(/^ocr: --token: not a worker token/);
    expect(badToken.stderr).not.toContain('secret');
  });
});
