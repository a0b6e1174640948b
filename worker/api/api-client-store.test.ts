// The editor's store on Supabase: the ops-api function served by Deno behind a stand-in for the project's gateway, on a
// Supabase-shaped PostgreSQL with users A and B in two teams. A sees and acts on A's sessions only, B sees nothing of
// them; live updates come from polling what changed; a run's log is followed over the function's stream across forced
// disconnects and the stream's own ends with no line lost or doubled; what the project lacks is said with its fix.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Run, RunEvent } from '../../domain';
import { eventually } from '../engine/git.test-support';
import { OcrError } from '../store/errors';
import { openStore } from '../store/open';
import type { SessionSnapshot } from '../store/store';
import { asUser, createSupabaseDatabase } from '../store/supabase.test-support';
import { ApiClientStore, missingMigrations } from './api-client-store';
import { startGateway, startSupabaseProject, type SupabaseProject } from './api-client-store.test-support';
import { startOpsApi, userJwt } from './ops-api.test-support';

let p: SupabaseProject;
const closing: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  // one stream lasts 2 s: following a log crosses the function's planned stream ends too
  p = await startSupabaseProject({ streamSeconds: 2 });
});

afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c();
});

afterAll(async () => {
  await p?.close();
});

function storeOf(user: 'a' | 'b', extra: Partial<ConstructorParameters<typeof ApiClientStore>[0]> = {}): ApiClientStore {
  const store = new ApiClientStore({ url: p.gateway.functionUrl, accessToken: () => p.jwt[user], pollMs: 200, ...extra });
  closing.push(() => store.close());
  return store;
}

async function refusal(work: Promise<unknown>): Promise<OcrError> {
  const e = await work.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(e, 'refused').toBeInstanceOf(OcrError);
  expect((e as OcrError).line).not.toContain('\n');
  return e as OcrError;
}

/** A run of A's session, claimed by a worker of the test's own (the database's owner) so lines can be written. */
async function claimedRun(sessionId: string, workerId: string): Promise<{ run: Run; lease: { runId: string; workerId: string; attempt: number } }> {
  const run = await p.store.createRun({ session_id: sessionId, lane: 'A', intent: 'print lines' });
  await p.store.registerWorker({ id: workerId, host: 'test', pid: process.pid, concurrency: 1, labels: {} });
  const { claimed } = await p.store.finishAndClaim(workerId, [], 1, { sessions: [sessionId] });
  expect(claimed.map((r) => r.id)).toEqual([run.id]);
  return { run, lease: { runId: run.id, workerId, attempt: 1 } };
}

describe('user A and user B', () => {
  it('A creates a session, queues, lists, cancels, retries and archives; B sees and changes nothing of it', async () => {
    const a = storeOf('a');
    const b = storeOf('b');
    const session = await a.createSession({ title: 'A work', intent: 'ship it', lanes: ['A', 'B'] });
    expect(session).toMatchObject({ title: 'A work', created_by: 'a@example.com', status: 'active' });
    const run = await a.createRun({ session_id: session.id, lane: 'B', intent: 'echo hi' });
    expect((await a.listSessions()).map((s) => s.id)).toContain(session.id);
    expect(await a.getSession(session.id)).toMatchObject({ id: session.id, title: 'A work' });
    expect((await a.listRuns({ sessionId: session.id })).map((r) => r.id)).toEqual([run.id]);
    expect((await a.listRuns({ sessionId: session.id, lane: 'A' })).map((r) => r.id)).toEqual([]);
    expect(await a.resolveId('run', run.id.slice(0, 8))).toBe(run.id);
    expect(await a.resolveId('session', session.id.slice(0, 6))).toBe(session.id);

    // B: nothing of A's is there, and nothing of it can be changed
    expect((await b.listSessions({ includeArchived: true })).map((s) => s.id)).not.toContain(session.id);
    expect((await b.listRuns({ limit: 10_000 })).map((r) => r.id)).not.toContain(run.id);
    expect((await b.listRunHistory({})).runs.map((r) => r.id)).not.toContain(run.id);
    expect((await refusal(b.getSession(session.id))).code).toBe('not_found');
    expect((await refusal(b.getRun(run.id))).code).toBe('not_found');
    expect((await refusal(b.listEvents(run.id))).code).toBe('not_found');
    expect((await refusal(b.listArtifacts(run.id))).code).toBe('not_found');
    expect((await refusal(b.resolveId('run', run.id.slice(0, 8)))).code).toBe('not_found');
    for (const act of [() => b.cancelRun(run.id), () => b.retryRun(run.id), () => b.archiveSession(session.id), () => b.createRun({ session_id: session.id, lane: 'A', intent: 'x' })]) {
      const e = await refusal(act());
      expect(e.code).toBe('not_found');
      expect(e.message).toMatch(/does not exist/);
    }
    expect((await p.store.getRun(run.id)).status).toBe('queued');

    const canceled = await a.cancelRun(run.id);
    expect(canceled).toMatchObject({ outcome: 'canceled', run: { id: run.id, status: 'canceled' } });
    const again = await a.retryRun(run.id);
    expect(again).toMatchObject({ status: 'queued', retry_of: run.id });
    const history = await a.listRunHistory({ session_id: session.id, limit: 1 });
    expect(history.runs.map((r) => [r.id, r.session_title])).toEqual([[again.id, 'A work']]);
    const second = await a.listRunHistory({ session_id: session.id, limit: 1, cursor: history.next });
    expect(second.runs.map((r) => r.id)).toEqual([run.id]);
    expect(second.next).toBeNull();
    expect((await a.archiveSession(session.id)).status).toBe('archived');
    expect((await a.listSessions()).map((s) => s.id)).not.toContain(session.id);
    expect((await a.listSessions({ includeArchived: true })).map((s) => s.id)).toContain(session.id);
    expect((await b.listSessions({ includeArchived: true })).map((s) => s.id)).not.toContain(session.id);
  });

  it("a comparison group, steps, artifacts, lane ports and workers: A reads its team's, B none of them", async () => {
    const a = storeOf('a');
    const b = storeOf('b');
    const sessionId = await p.sessionOfA('compare', { lanes: ['A', 'B', 'C'] });
    const group = await a.createGroup([
      { session_id: sessionId, lane: 'A', intent: 'try one' },
      { session_id: sessionId, lane: 'B', intent: 'try two' },
    ]);
    expect(group).toHaveLength(2);
    const groupId = group[0]!.group_id!;
    expect((await a.listRuns({ groupId })).map((r) => r.lane).sort()).toEqual(['A', 'B']);
    expect(await a.listRuns({ groupId: groupId, lane: 'B' })).toHaveLength(1);
    expect(await b.listRuns({ groupId })).toEqual([]);

    const { run, lease } = await claimedRun(await p.sessionOfA('artifacts'), 'box-artifacts');
    await p.store.putArtifact(lease, { kind: 'file', name: 'one.txt', content: 'one' });
    await p.store.putArtifact(lease, { kind: 'file', name: 'two.txt', content: 'two' });
    await p.store.leaseLanePorts(lease, 5);
    await p.store.planSteps(lease, [{ step_id: 'build', title: 'Build', kind: 'shell' }]);
    expect((await a.listArtifacts(run.id)).map((x) => x.content)).toEqual(['one', 'two']);
    expect((await a.getArtifact(run.id, 'file', 'one.txt'))?.content).toBe('one');
    expect((await a.getArtifact(run.id, 'file'))?.content).toBe('two');
    expect(await a.getArtifact(run.id, 'diff')).toBeUndefined();
    expect((await a.listSteps(run.id)).map((s) => s.step_id)).toEqual(['build']);
    expect(await a.listLanePorts(run.session_id)).toMatchObject([{ lane: 'A', port_count: 5 }]);
    expect((await refusal(b.listSteps(run.id))).code).toBe('not_found');
    expect((await refusal(b.listLanePorts(run.session_id))).code).toBe('not_found');
    // the test's worker is of no team: neither user sees it; a token worker of team A is A's team's only
    expect((await a.listWorkers()).map((w) => w.id)).not.toContain('box-artifacts');
    await p.store.finishAndClaim('box-artifacts', [{ runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0 }], 0);
  });

  it("Search Run Logs through the function: A finds the lines of A's runs, B none of them", async () => {
    const a = storeOf('a');
    const b = storeOf('b');
    const session = await a.createSession({ title: 'searched', lanes: ['A'] });
    const { run, lease } = await claimedRun(session.id, 'search-writer');
    await p.store.appendEvents(lease, [{ stream: 'stdout', text: 'npm ERR! code ELIFECYCLE' }, { stream: 'stdout', text: 'done' }]);
    const hits = await a.searchLogs({ query: 'elifecycle', session_id: session.id, context: 1 });
    expect(hits.map((h) => [h.run_id, h.session_title, h.lane, h.text, h.after])).toEqual([[run.id, 'searched', 'A', 'npm ERR! code ELIFECYCLE', ['done']]]);
    expect(await b.searchLogs({ query: 'elifecycle' })).toEqual([]);
    expect((await refusal(a.searchLogs({ query: 'ab' }))).message).toMatch(/^query: give at least 3 characters/);
  });

  it('a viewer of A\'s team reads its sessions but may not act: said so, with who to ask', async () => {
    const sessionId = await p.sessionOfA('viewed');
    const run = await p.store.createRun({ session_id: sessionId, lane: 'A', intent: 'echo' });
    await asUser(p.pool, p.users.a.id, (c) => c.query('select ops.add_team_member($1, $2, $3)', [p.teams.a, p.users.b.id, 'viewer']));
    try {
      const b = storeOf('b');
      expect((await b.getRun(run.id)).id).toBe(run.id);
      const e = await refusal(b.cancelRun(run.id));
      expect(e.code).toBe('not_authorized');
      expect(e.line).toMatch(/viewer may only read.*ask an owner of the team to make you a member/);
      expect((await p.store.getRun(run.id)).status).toBe('queued');
    } finally {
      await asUser(p.pool, p.users.a.id, (c) => c.query('select ops.remove_team_member($1, $2)', [p.teams.a, p.users.b.id]));
    }
  });

  it("runbook versions are the team's: A publishes and reads one, B cannot read it", async () => {
    const a = storeOf('a');
    const b = storeOf('b');
    const runbook = { name: 'deploy', title: 'Deploy', kind: 'custom', inputs: [], steps: [{ id: 'go', kind: 'shell', run: 'echo go' }] };
    const sha = 'a'.repeat(64);
    const published = await a.publishTemplate({ name: 'deploy', text: 'name: deploy', sha256: sha, runbook: runbook as never });
    expect(published).toMatchObject({ name: 'deploy', version: 1 });
    expect((await a.getTemplate(published.id)).id).toBe(published.id);
    expect((await refusal(b.getTemplate(published.id))).code).toBe('not_found');
  });

  it('a worker does not run on a person\'s sign-in', async () => {
    const e = await refusal(storeOf('a').registerWorker());
    expect(e.line).toMatch(/worker token.*Set Worker Token/);
  });
});

describe.each(['stream', 'poll'] as const)('live updates by %s', (mode) => {
  it("watchSession hands over A's session when a run is queued, claimed or finished elsewhere; B's watch is told it does not exist", async () => {
    const a = storeOf('a', { liveUpdates: mode });
    const sessionId = await p.sessionOfA('watched');
    const snapshots: SessionSnapshot[] = [];
    a.watchSession(sessionId, (s) => snapshots.push(s));
    await eventually(() => snapshots.length === 1, 'the first snapshot');
    expect(snapshots[0]!.runs).toEqual([]);
    const { run, lease } = await claimedRun(sessionId, 'box-watch');
    await eventually(() => snapshots.at(-1)?.runs[0]?.status === 'running', 'the run seen running', 5_000);
    await p.store.finishAndClaim(lease.workerId, [{ runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0 }], 0);
    await eventually(() => snapshots.at(-1)?.runs[0]?.status === 'succeeded', 'the run seen finished', 5_000);
    const count = snapshots.length;
    await new Promise((r) => setTimeout(r, 800));
    expect(snapshots.length, 'no snapshot without a change').toBe(count);

    const errors: unknown[] = [];
    const seenByB: SessionSnapshot[] = [];
    storeOf('b', { liveUpdates: mode }).watchSession(sessionId, (s) => seenByB.push(s), { onError: (e) => errors.push(e) });
    await eventually(() => errors.length === 1, "B's watch refused");
    expect((errors[0] as OcrError).code).toBe('not_found');
    expect(seenByB).toEqual([]);
  });

  it("onSessionsChange fires for a session of A's team made elsewhere, not for one of B's", async () => {
    const a = storeOf('a', { liveUpdates: mode });
    let told = 0;
    a.onSessionsChange(() => told++);
    await a.listening();
    await asUser(p.pool, p.users.b.id, (c) => c.query('select ops.create_session($1)', ['of b']));
    await new Promise((r) => setTimeout(r, 800));
    expect(told, "B's session is none of A's business").toBe(0);
    await p.sessionOfA('made elsewhere');
    await eventually(() => told === 1, 'told of the new session', 5_000);
  });

});

describe('streams', () => {
  it('the change stream: one request until the function ends it, opened again after its end and after a forced disconnect', async () => {
    const log: string[] = [];
    const a = storeOf('a', { log: (line) => log.push(line) });
    const sessionId = await p.sessionOfA('change stream');
    const snapshots: SessionSnapshot[] = [];
    a.watchSession(sessionId, (s) => snapshots.push(s));
    let told = 0;
    a.onSessionsChange(() => told++);
    await a.listening();
    await eventually(() => snapshots.length === 1, 'the first snapshot');
    const streamsBefore = p.functionOutput().split('\n').filter((l) => l.includes('POST /changes/stream 200')).length;
    const started = Date.now();
    await p.store.createRun({ session_id: sessionId, lane: 'A', intent: 'one' });
    await eventually(() => snapshots.length === 2, 'the run seen', 3_000);
    expect(Date.now() - started, 'seen within the function\'s look').toBeLessThan(1_500);
    p.gateway.cut();
    await p.store.createRun({ session_id: sessionId, lane: 'B', intent: 'two' });
    await eventually(() => snapshots.length === 3, 'the run seen after the stream was cut', 5_000);
    // the function ends each stream after 2 s: still told after several of those
    await new Promise((r) => setTimeout(r, 4_500));
    await p.sessionOfA('made while streaming');
    await eventually(() => told === 1, 'the new session seen', 5_000);
    const output = p.functionOutput().split('\n');
    const streams = output.filter((l) => l.includes('POST /changes/stream 200')).length - streamsBefore;
    expect(streams, 'a stream per 2 s or so, not a request per second').toBeLessThanOrEqual(6);
    expect(streams).toBeGreaterThanOrEqual(3);
    expect(output.filter((l) => / POST \/changes 200/.test(l))).toEqual([]);
    expect(log.join('\n')).toMatch(/the change stream broke/);
  });

  it('an older function without the change stream: the editor polls instead, and says so', async () => {
    const gateway = await startGateway({ functionOrigin: new URL(p.gateway.functionUrl).origin, jwtSecret: p.secret, users: [], withoutRoutes: ['changes/stream'] });
    closing.push(() => gateway.stop());
    const log: string[] = [];
    const a = new ApiClientStore({ url: gateway.functionUrl, accessToken: () => p.jwt.a, pollMs: 200, log: (line) => log.push(line) });
    closing.push(() => a.close());
    const sessionId = await p.sessionOfA('polled');
    const snapshots: SessionSnapshot[] = [];
    a.watchSession(sessionId, (s) => snapshots.push(s));
    await eventually(() => snapshots.length === 1, 'the first snapshot');
    await p.store.createRun({ session_id: sessionId, lane: 'A', intent: 'polled run' });
    await eventually(() => snapshots.length === 2, 'the run seen by polling', 3_000);
    expect(log).toContain('the ops-api function offers no change stream: looking for changes every 200 ms instead');
  });

  it('follows a live log over the stream through forced disconnects and the stream\'s own ends: every line once, in order', async () => {
    const log: string[] = [];
    const a = storeOf('a', { log: (line) => log.push(line) });
    const sessionId = await p.sessionOfA('streamed');
    const { run, lease } = await claimedRun(sessionId, 'box-stream');
    const received: RunEvent[] = [];
    const following = (async () => {
      for await (const batch of a.followRun(run.id, 0)) received.push(...batch);
    })();
    let cuts = 0;
    let sent = 0;
    let last = 0;
    const started = Date.now();
    // ~7.5 s of writing in small batches: the function ends its 2 s streams, and the test cuts the connections to it
    // three times in between
    while (sent < 600) {
      const batch = Array.from({ length: 20 }, (_, i) => ({ stream: 'stdout' as const, text: `line ${sent + i + 1}`, ts: new Date().toISOString() }));
      last = await p.store.appendEvents(lease, batch, last);
      sent += batch.length;
      if (sent % 200 === 0) {
        await eventually(() => p.gateway.open() > 0, 'a stream open to cut');
        cuts += p.gateway.cut() > 0 ? 1 : 0;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await eventually(() => received.length >= 300, 'half of the lines, live', 10_000);
    expect(received.length, 'lines arrive while the run is still running').toBeLessThan(600 + 1);
    await p.store.finishAndClaim(lease.workerId, [{ runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0 }], 0);
    await following;
    expect(cuts).toBe(3);
    const streams = p.functionOutput().split('\n').filter((l) => l.includes(`GET /runs/${run.id}/events 200`)).length;
    expect(streams, 'streams cut and streams the function ended itself').toBeGreaterThanOrEqual(cuts + 3);
    expect(log.filter((l) => /resumes after line \d+: the stream broke/.test(l)).length, log.join('\n')).toBeGreaterThanOrEqual(3);
    expect(Date.now() - started).toBeGreaterThan(7_000);
    expect(received.map((e) => e.text)).toEqual(Array.from({ length: 600 }, (_, i) => `line ${i + 1}`));
    expect(received.map((e) => e.seq)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
  });
});

describe('what the editor says when something is missing', () => {
  it('the function not deployed: 404 from /functions/v1/ops-api, and the command that deploys it', async () => {
    const store = new ApiClientStore({ url: `${p.gateway.url}/functions/v1/ops-api-missing`, accessToken: () => p.jwt.a });
    closing.push(() => store.close());
    const e = await refusal(store.check());
    expect(e.line).toBe(`the ops-api function is not deployed on this project (${p.gateway.url}/functions/v1/ops-api-missing answered 404) (run \`supabase functions deploy ops-api --no-verify-jwt\` in the repository's folder)`);
  });

  it('a project whose migrations were not pushed, or only some of them: `supabase db push`', async () => {
    expect((await storeOf('a').check()).teams).toEqual([{ id: p.teams.a, name: 'team a', role: 'owner' }]);
    const [recorded] = (await p.pool.query<{ checksum: string }>(`delete from ops.schema_migrations where name = '0012_team_access' returning checksum`)).rows;
    try {
      const e = await refusal(storeOf('a').check());
      expect(e.line).toBe("the project's database lacks the migration 0012_team_access (run `supabase db push` in the repository's folder)");
    } finally {
      await p.pool.query(`insert into ops.schema_migrations (name, checksum) values ('0012_team_access', $1)`, [recorded!.checksum]);
    }
    // what `supabase db push` records counts as pushed
    expect(missingMigrations(['0000_migration_history'], [{ version: '0001', name: 'ops_baseline' }])).not.toContain('0001_ops_baseline');
    expect(missingMigrations([], [{ version: '0001', name: 'something_else' }])).toContain('0001_ops_baseline');

    const bare = await createSupabaseDatabase('ocr_supa_bare');
    const api = await startOpsApi({ databaseUrl: bare.ownerUrl, jwtSecret: p.secret });
    try {
      const store = new ApiClientStore({ url: api.url, accessToken: () => p.jwt.a });
      closing.push(() => store.close());
      const e = await refusal(store.check());
      expect(e.line).toBe("the project's database has no ops schema: its migrations were not pushed (run `supabase db push` in the repository's folder)");
      const list = await refusal(store.listSessions());
      expect(list.line).toMatch(/lacks the ops schema.*supabase db push/);
    } finally {
      await api.stop();
      await bare.drop();
    }
  });

  it('an expired access token is refreshed once and the call goes on; a refused one says to sign in again', async () => {
    const expired = await userJwt(p.secret, p.users.a.id, { expiresIn: -10 });
    let token = expired;
    let refreshed = 0;
    const store = storeOf('a', { accessToken: () => token, refreshToken: async () => void ((token = p.jwt.a), refreshed++) });
    expect(Array.isArray(await store.listSessions())).toBe(true);
    expect(refreshed).toBe(1);
    const stale = storeOf('a', { accessToken: () => expired, refreshToken: async () => undefined });
    const e = await refusal(stale.listSessions());
    expect(e.code).toBe('not_authorized');
    expect(e.line).toMatch(/has expired.*Connect to Supabase/);
  });

  it('a project URL where nothing answers: cannot reach, with where it looked', async () => {
    const gateway = await startGateway({ functionOrigin: 'http://127.0.0.1:9', jwtSecret: p.secret, users: [] });
    const url = gateway.functionUrl;
    await gateway.stop();
    const store = new ApiClientStore({ url, accessToken: () => p.jwt.a, requestTimeoutMs: 2_000 });
    closing.push(() => store.close());
    const e = await refusal(store.listSessions());
    expect(e.code).toBe('db_unreachable');
    expect(e.message).toContain(`cannot reach the ops-api function at ${url}`);
  });

  it('bad input is refused before anything is sent, naming the field', async () => {
    const a = storeOf('a');
    expect((await refusal(a.createRun({ session_id: 'nope', lane: 'A', intent: 'x' }))).message).toMatch(/^session_id: session must be a session id/);
    expect((await refusal(a.listRunHistory({ limit: 5000 }))).message).toMatch(/^limit: a page holds at most 1000 runs/);
    expect((await refusal(a.getRun('12'))).message).toBe('run: "12" is not a run id');
  });
});

describe('the same project from a store opened on the database', () => {
  it('what A queued through the function is what the database holds', async () => {
    const a = storeOf('a');
    const sessionId = await p.sessionOfA('both');
    const run = await a.createRun({ session_id: sessionId, lane: 'A', intent: 'echo both', priority: 5 });
    const direct = await openStore(p.db.ownerUrl);
    try {
      expect(await direct.getRun(run.id)).toMatchObject({ id: run.id, intent: 'echo both', priority: 5, session_id: sessionId });
    } finally {
      await direct.close();
    }
  });
});
