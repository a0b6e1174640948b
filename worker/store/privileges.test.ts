// Who may do what, with real PostgreSQL login roles: PUBLIC nothing, ocr_client its own sessions, ocr_worker the
// queue's worker side — and no worker can write for another worker's runs, even knowing its id.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../../domain';
import { PostgresStore } from './postgres';
import { createTestDatabase, testServerUrl } from './testing';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let owner: PostgresStore;
const suffix = randomBytes(4).toString('hex');
const role = {
  clientA: `ocr_t_alice_${suffix}`,
  clientB: `ocr_t_bob_${suffix}`,
  worker1: `ocr_t_w1_${suffix}`,
  worker2: `ocr_t_w2_${suffix}`,
  nobody: `ocr_t_nobody_${suffix}`,
};
const stores: PostgresStore[] = [];
const clients: pg.Client[] = [];

const urlAs = (login: string): string => {
  const url = new URL(db.url);
  url.username = login;
  url.password = '';
  return url.toString();
};

function storeAs(login: string): PostgresStore {
  const store = new PostgresStore({ url: urlAs(login), poolSize: 2 });
  stores.push(store);
  return store;
}

async function sqlAs(login: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: urlAs(login) });
  await client.connect();
  clients.push(client);
  return client;
}

async function admin<T>(work: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: testServerUrl() });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase('ocr_privileges');
  owner = new PostgresStore({ url: db.url });
  await owner.migrate();
  await admin(async (c) => {
    await c.query(`create role ${role.clientA} login in role ocr_client`);
    await c.query(`create role ${role.clientB} login in role ocr_client`);
    await c.query(`create role ${role.worker1} login in role ocr_worker`);
    await c.query(`create role ${role.worker2} login in role ocr_worker`);
    await c.query(`create role ${role.nobody} login`);
  });
});

afterAll(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  for (const c of clients) await c.end().catch(() => undefined);
  await owner?.close();
  await db?.drop();
  await admin(async (c) => {
    for (const r of Object.values(role)) await c.query(`drop role if exists ${r}`);
  });
});

const deniedOrUnauthorized = { code: expect.stringMatching(/^(42501|not_authorized)$/) };

describe('privileges', () => {
  it('PUBLIC can read no table and call no function of the queue', async () => {
    const sql = await sqlAs(role.nobody);
    for (const table of ['sessions', 'runs', 'run_events', 'artifacts', 'run_steps', 'workers', 'templates', 'lanes', 'watchers', 'lane_ports', 'teams', 'team_members', 'worker_tokens', 'log_chunks', 'log_buckets', 'log_index', 'log_index_watermark']) {
      await expect(sql.query(`select * from ops.${table} limit 1`)).rejects.toMatchObject({ code: '42501' });
    }
    const functions = await (await sqlAs('postgres')).query<{ sig: string }>(
      `select p.oid::regprocedure::text as sig from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'ops'`,
    );
    expect(functions.rows.length).toBeGreaterThan(20);
    const callable = await sql.query<{ sig: string }>(
      `select p.oid::regprocedure::text as sig from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'ops' and has_function_privilege(p.oid, 'execute')`,
    );
    expect(callable.rows).toEqual([]);
    await expect(sql.query(`select ops.create_session('mine')`)).rejects.toMatchObject({ code: '42501' });
    await expect(sql.query(`select ops._append_events('00000000-0000-4000-8000-000000000000', '[]')`)).rejects.toMatchObject({ code: '42501' });
  });

  it('every callable function runs as the owner with an empty search_path; the internal ones are callable by nobody', async () => {
    const { rows } = await (await sqlAs('postgres')).query<{ name: string; definer: boolean; config: string[] | null; client: boolean; worker: boolean }>(
      `select p.proname as name, p.prosecdef as definer, p.proconfig as config,
              has_function_privilege('ocr_client', p.oid, 'execute') as client, has_function_privilege('ocr_worker', p.oid, 'execute') as worker
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'ops'`,
    );
    for (const f of rows) {
      expect(f.config, f.name).toContain('search_path=""');
      if (f.client || f.worker) expect(f.definer, f.name).toBe(true);
      if (f.name.startsWith('_')) expect([f.name, f.client, f.worker]).toEqual([f.name, false, false]);
    }
  });

  it('a client acts on the sessions its login role created, sees no other, and cannot claim', async () => {
    const alice = storeAs(role.clientA);
    const bob = storeAs(role.clientB);
    const mine = await alice.createSession({ title: 'alice' });
    const theirs = await bob.createSession({ title: 'bob' });
    const run = await alice.createRun({ session_id: mine.id, lane: 'A', intent: 'echo hi' });
    const bobs = await bob.createRun({ session_id: theirs.id, lane: 'A', intent: 'echo bob' });

    expect((await alice.listSessions()).map((s: Session) => s.id)).toEqual([mine.id]);
    expect((await alice.listRuns()).map((r) => r.id)).toEqual([run.id]);
    await expect(alice.getRun(bobs.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(alice.cancelRun(bobs.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(alice.retryRun(bobs.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(alice.archiveSession(theirs.id)).rejects.toMatchObject({ code: 'not_found' });
    await expect(alice.createRun({ session_id: theirs.id, lane: 'A', intent: 'sneak in' })).rejects.toMatchObject({ code: 'not_found' });
    // a comparison group, too, only in a session of one's own
    const group = await alice.createGroup(['A', 'B'].map((lane) => ({ session_id: mine.id, lane, intent: 'try' })));
    expect((await alice.listRuns({ groupId: group[0]!.group_id! })).length).toBe(2);
    await expect(alice.createGroup(['A', 'B'].map((lane) => ({ session_id: theirs.id, lane, intent: 'sneak in' })))).rejects.toMatchObject({ code: 'not_found' });
    expect(await bob.listRuns({ groupId: group[0]!.group_id! })).toEqual([]);
    expect((await owner.getRun(bobs.id)).status).toBe('queued');

    expect(await alice.cancelRun(run.id)).toMatchObject({ outcome: 'canceled' });
    expect((await alice.retryRun(run.id)).retry_of).toBe(run.id);

    await expect(alice.registerWorker({ id: 'alice-as-worker', host: 'h', pid: 1, concurrency: 1, labels: {} })).rejects.toMatchObject(deniedOrUnauthorized);
    const sql = await sqlAs(role.clientA);
    await expect(sql.query(`select * from ops.claim_runs('x', 'y', 5)`)).rejects.toMatchObject({ code: '42501' });
    await expect(sql.query(`select token_hash from ops.workers`)).rejects.toMatchObject({ code: '42501' });
    await expect(sql.query(`update ops.runs set status = 'succeeded'`)).rejects.toMatchObject({ code: '42501' });
  });

  it('a worker cannot finish, renew or append for another worker, even with its id; nor write for a finished run', async () => {
    const session = await owner.createSession({ title: 'fenced', lanes: ['A', 'B'] });
    const first = await owner.createRun({ session_id: session.id, lane: 'A', intent: 'held by w1' });
    const w1 = storeAs(role.worker1);
    const w2 = storeAs(role.worker2);
    await w1.registerWorker({ id: 'w1', host: 'h', pid: 1, concurrency: 1, labels: {} });
    await w2.registerWorker({ id: 'w2', host: 'h', pid: 2, concurrency: 1, labels: {} });
    const [held] = await w1.claimRuns('w1', 1, { sessions: [session.id] });
    expect(held!.id).toBe(first.id);

    // the other worker knows w1's id and the run's attempt (both readable in ops.runs), not w1's token
    const sql = await sqlAs(role.worker2);
    const ends = JSON.stringify([{ run_id: held!.id, attempt: held!.attempt, status: 'succeeded' }]);
    for (const [what, statement, params] of [
      ['finish', `select * from ops.finish_and_claim('w1', $1, $2::jsonb, 0)`, ['guess', ends]],
      ['heartbeat', `select * from ops.heartbeat('w1', $1, $2::uuid[])`, ['guess', [held!.id]]],
      ['append', `select ops.append_events($1, 'w1', 'guess', $2, '[{"stream":"stdout","text":"forged"}]', null)`, [held!.id, held!.attempt]],
      ['artifact', `select ops.put_artifact($1, 'w1', 'guess', $2, 'diff', 'x', 'text/plain', 'forged')`, [held!.id, held!.attempt]],
      ['release', `select ops.release_run($1, 'w1', 'guess', $2)`, [held!.id, held!.attempt]],
      ['state', `select ops.set_worker_state('w1', 'guess', 'stopped')`, []],
    ] as const) {
      await expect(sql.query(statement, [...params]), what).rejects.toMatchObject({ code: 'OC005' });
    }
    // nor can it take the id over by registering under it
    await expect(w2.registerWorker({ id: 'w1', host: 'h', pid: 3, concurrency: 1, labels: {} })).rejects.toMatchObject({ code: 'not_authorized' });
    expect(await owner.getRun(held!.id)).toMatchObject({ status: 'running', claimed_by: 'w1' });
    expect(await owner.listEvents(held!.id)).toEqual([]);
    // the internal functions are not reachable either
    await expect(sql.query(`select ops._append_events($1, '[]')`, [held!.id])).rejects.toMatchObject({ code: '42501' });

    // w1 itself: its writes go through, and once the run is finished, none does
    await w1.appendEvents({ runId: held!.id, workerId: 'w1', attempt: held!.attempt }, [{ stream: 'stdout', text: 'mine' }]);
    expect(await w1.finishAndClaim('w1', [{ runId: held!.id, attempt: held!.attempt, status: 'succeeded', exitCode: 0 }], 0)).toEqual({ claimed: [], refused: [] });
    await expect(w1.appendEvents({ runId: held!.id, workerId: 'w1', attempt: held!.attempt }, [{ stream: 'stdout', text: 'late' }])).rejects.toMatchObject({ code: 'lease_lost' });
    await expect(w1.putArtifact({ runId: held!.id, workerId: 'w1', attempt: held!.attempt }, { kind: 'diff', name: 'late.patch', content: '' })).rejects.toMatchObject({ code: 'lease_lost' });
    expect((await owner.listEvents(held!.id)).map((e) => e.text)).toEqual(['mine']);

    // a worker creates no sessions and no runs
    await expect(w1.createSession({ title: 'worker made' })).rejects.toMatchObject(deniedOrUnauthorized);
    await expect(w1.createRun({ session_id: session.id, lane: 'B', intent: 'worker made' })).rejects.toMatchObject(deniedOrUnauthorized);
    await expect(w1.createGroup(['A', 'B'].map((lane) => ({ session_id: session.id, lane, intent: 'worker made' })))).rejects.toMatchObject(deniedOrUnauthorized);
  });

  it('a worker leases ports for the lanes of runs it holds; a client reads its own sessions\' ports and leases none', async () => {
    const alice = storeAs(role.clientA);
    const bob = storeAs(role.clientB);
    const mine = await alice.createSession({ title: 'alice ports', lanes: ['A'] });
    const theirs = await bob.createSession({ title: 'bob ports', lanes: ['A'] });
    const w1 = storeAs(role.worker1);
    await w1.registerWorker({ id: 'ports-w1', host: 'h', pid: 1, concurrency: 2, labels: {} });
    for (const s of [mine, theirs]) await owner.createRun({ session_id: s.id, lane: 'A', intent: 'serve' });
    const held = await w1.claimRuns('ports-w1', 2, { sessions: [mine.id, theirs.id] });
    const leased = await Promise.all(held.map((r) => w1.leaseLanePorts({ runId: r.id, workerId: 'ports-w1', attempt: r.attempt })));
    expect(leased.map((p) => p.session_id).sort()).toEqual([mine.id, theirs.id].sort());

    expect((await alice.listLanePorts(mine.id)).map((p) => p.lane)).toEqual(['A']);
    expect(await alice.listLanePorts(theirs.id)).toEqual([]);
    const sql = await sqlAs(role.clientA);
    await expect(sql.query(`select * from ops.lease_lane_ports($1, 'ports-w1', 'guess', 1)`, [held[0]!.id])).rejects.toMatchObject({ code: '42501' });
    await expect(sql.query(`delete from ops.lane_ports`)).rejects.toMatchObject({ code: '42501' });
    // another worker knowing the run cannot lease for it
    const other = await sqlAs(role.worker2);
    await expect(other.query(`select * from ops.lease_lane_ports($1, 'ports-w1', 'guess', 1)`, [held[0]!.id])).rejects.toMatchObject({ code: 'OC005' });
    // which sessions worktrees name: every session's status, so another's worktree is never taken for an orphan
    const short = (id: string) => id.replace(/-/g, '').slice(0, 8);
    expect((await alice.worktreeSessions([short(theirs.id)])).map((s) => s.status)).toEqual(['active']);
    expect((await w1.worktreeSessions([short(mine.id)])).map((s) => s.sessionId)).toEqual([mine.id]);
  });

  it("teams and worker tokens are the database owner's: no client or worker reads them or calls their functions", async () => {
    for (const login of [role.clientA, role.worker1]) {
      const sql = await sqlAs(login);
      for (const table of ['teams', 'team_members', 'worker_tokens']) {
        await expect(sql.query(`select * from ops.${table}`), `${login} ${table}`).rejects.toMatchObject({ code: '42501' });
      }
      for (const call of [
        `select ops.create_team('mine')`,
        `select ops.add_team_member(gen_random_uuid(), gen_random_uuid(), 'owner')`,
        `select ops.remove_team_member(gen_random_uuid(), gen_random_uuid())`,
        `select * from ops.create_worker_token(null, 'mine')`,
        `select * from ops.list_worker_tokens()`,
        `select * from ops.revoke_worker_token(gen_random_uuid())`,
        `select * from ops.worker_token_identity('ocrw_x')`,
        `select ops.register_token_worker('ocrw_x', 'w', 'h', 1, 1)`,
        `select ops.my_team_ids()`,
      ]) {
        await expect(sql.query(call), `${login}: ${call}`).rejects.toMatchObject({ code: '42501' });
      }
    }
    // the owner makes them; a client's session of no team is still its own, and none of a team's is
    const dba = await sqlAs('postgres');
    const [team] = (await dba.query<{ id: string }>(`select id from ops.create_team('platform')`)).rows;
    const token = (await dba.query<{ token: string }>(`select token from ops.create_worker_token(null, 'box')`)).rows[0]!.token;
    expect(token).toMatch(/^ocrw_[0-9a-f]{64}$/);
    const teamSession = await owner.createSession({ title: 'a team\'s' });
    await dba.query(`update ops.sessions set team_id = $1 where id = $2`, [team!.id, teamSession.id]);
    const alice = storeAs(role.clientA);
    expect((await alice.listSessions()).map((s) => s.id)).not.toContain(teamSession.id);
    await expect(alice.archiveSession(teamSession.id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it("a client searches the logs of its own sessions only; a worker puts lines into search chunks and searches none", async () => {
    const alice = storeAs(role.clientA);
    const bob = storeAs(role.clientB);
    const w1 = storeAs(role.worker1);
    await w1.registerWorker({ id: 'search-w1', host: 'h', pid: 1, concurrency: 2, labels: {} });
    const sessions = [await alice.createSession({ title: 'alice logs', lanes: ['A'] }), await bob.createSession({ title: 'bob logs', lanes: ['A'] })];
    for (const [i, session] of sessions.entries()) {
      const run = await owner.createRun({ session_id: session.id, lane: 'A', intent: 'log' });
      const [held] = await w1.claimRuns('search-w1', 1, { sessions: [session.id] });
      await w1.appendEvents({ runId: run.id, workerId: 'search-w1', attempt: held!.attempt }, [{ stream: 'stdout', text: `secret needle of ${i === 0 ? 'alice' : 'bob'}` }]);
      await w1.finishAndClaim('search-w1', [{ runId: run.id, attempt: held!.attempt, status: 'succeeded', exitCode: 0 }], 0);
    }
    const found = async (store: PostgresStore) => (await store.searchLogs({ query: 'secret needle' })).map((h) => h.text);
    expect(await found(alice)).toEqual(['secret needle of alice']);
    // the same once the lines are in chunks, which only a worker (or the owner) makes
    await expect(alice.indexLogs()).rejects.toMatchObject({ code: 'not_authorized' });
    expect(await w1.indexLogs(5000)).toBeGreaterThanOrEqual(2);
    expect(await found(alice)).toEqual(['secret needle of alice']);
    expect(await found(bob)).toEqual(['secret needle of bob']);
    await expect(alice.searchLogs({ query: 'secret needle', session_id: sessions[1]!.id })).rejects.toMatchObject({ code: 'not_found' });
    await expect(w1.searchLogs({ query: 'secret needle' })).rejects.toMatchObject({ code: 'not_authorized' });
    for (const login of [role.clientA, role.worker1]) {
      await expect((await sqlAs(login)).query('select text from ops.log_chunks')).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('records a run of a lane as starting after the run before it ended, whenever its claim began', async () => {
    const session = await owner.createSession({ title: 'times', lanes: ['A'] });
    const [first, second] = await owner.createRuns(['first', 'second'].map((intent) => ({ session_id: session.id, lane: 'A', intent })));
    const w1 = storeAs(role.worker1);
    await w1.registerWorker({ id: 'times-1', host: 'h', pid: 1, concurrency: 1, labels: {} });
    const [held] = await w1.claimRuns('times-1', 1, { sessions: [session.id] });
    expect(held!.id).toBe(first!.id);
    // the other worker's transaction begins while the first run is still going, and claims once it has ended
    const sql = await sqlAs(role.worker2);
    const token = (await sql.query<{ t: string }>(`select ops.register_worker('times-2', 'h', 2, 1) as t`)).rows[0]!.t;
    await sql.query('begin');
    await sql.query('select 1');
    await new Promise((r) => setTimeout(r, 30));
    await w1.finishAndClaim('times-1', [{ runId: held!.id, attempt: held!.attempt, status: 'succeeded', exitCode: 0 }], 0);
    const claimed = await sql.query(`select id from ops.claim_runs('times-2', $1, 1, null, $2::uuid[])`, [token, [session.id]]);
    await sql.query('commit');
    expect(claimed.rows.map((r: { id: string }) => r.id)).toEqual([second!.id]);
    const [a, b] = [await owner.getRun(first!.id), await owner.getRun(second!.id)];
    expect(Date.parse(b.started_at!), 'the second run is recorded as starting before the first ended').toBeGreaterThanOrEqual(Date.parse(a.finished_at!));
  });
});
