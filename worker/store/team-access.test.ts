// Who may do what on a Supabase project: users A (owner of team 1) and B (owner of team 2), a member and a viewer of
// team 1, anon and service_role, each reading and writing every ops table and calling every ops function, through a
// connection like PostgREST's (authenticator, then the request's role and JWT claims). Worker tokens: made, listed,
// revoked, and a revoked token's worker refused at its next call. The migrations leave the project's realtime
// publication as it was.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from './postgres';
import { asAnon, asServiceRole, asUser, createSupabaseDatabase, createUser, type SupabaseDatabase } from './supabase.test-support';

let db: SupabaseDatabase;
let owner: PostgresStore;
/** as PostgREST connects: authenticator, which sets the request's role */
let api: pg.Pool;
/** as an edge function that connects as the database's owner and sets the request's role */
let ownerPool: pg.Pool;
let publicationBefore: { oid: number; tables: string[] };

const user = { a: '', b: '', member: '', viewer: '', outsider: '' };
const team = { one: '', two: '' };
/** one of each kind of row in each team, made through the functions */
const rows = {
  one: { session: '', queued: '', finished: '', running: '', token: '' },
  two: { session: '', queued: '', finished: '', running: '', waiting: '', token: '', template: '' },
};

type Sql = pg.PoolClient;
const one = async <T extends pg.QueryResultRow>(c: Sql, sql: string, params: unknown[] = []): Promise<T> => (await c.query<T>(sql, params)).rows[0]!;
const asA = <T>(work: (c: Sql) => Promise<T>) => asUser(api, user.a, work, 'a@example.com');
const asB = <T>(work: (c: Sql) => Promise<T>) => asUser(api, user.b, work, 'b@example.com');
const asViewer = <T>(work: (c: Sql) => Promise<T>) => asUser(api, user.viewer, work);
const asMember = <T>(work: (c: Sql) => Promise<T>) => asUser(api, user.member, work);

async function publication(c: pg.Pool): Promise<{ oid: number; tables: string[] }> {
  const p = await c.query<{ oid: number }>(`select oid::int as oid from pg_publication where pubname = 'supabase_realtime'`);
  const t = await c.query<{ t: string }>(
    `select schemaname || '.' || tablename as t from pg_publication_tables where pubname = 'supabase_realtime' order by 1`,
  );
  return { oid: p.rows[0]!.oid, tables: t.rows.map((r) => r.t) };
}

/** Registers a worker through the API with a worker token, and claims what it may (up to 10 runs). */
async function tokenWorker(workerId: string, token: string): Promise<{ regToken: string; held: Array<{ id: string; attempt: number }> }> {
  return asServiceRole(api, async (c) => {
    const reg = (await one<{ t: string }>(c, `select ops.register_token_worker($1, $2, 'h', 1, 10) as t`, [token, workerId])).t;
    const claimed = await c.query<{ id: string; attempt: number }>(`select id, attempt from ops.claim_runs($1, $2, 10)`, [workerId, reg]);
    return { regToken: reg, held: claimed.rows };
  });
}

beforeAll(async () => {
  db = await createSupabaseDatabase('ocr_team');
  const superuser = new pg.Pool({ connectionString: db.url, max: 2 });
  publicationBefore = await publication(superuser);
  await superuser.end();
  owner = new PostgresStore({ url: db.ownerUrl, poolSize: 2 });
  await owner.migrate();
  api = new pg.Pool({ connectionString: db.authenticatorUrl, max: 4 });
  ownerPool = new pg.Pool({ connectionString: db.ownerUrl, max: 2 });

  for (const name of Object.keys(user) as Array<keyof typeof user>) user[name] = await createUser(ownerPool, `${name}@example.com`);
  team.one = (await asA((c) => one<{ id: string }>(c, `select id from ops.create_team('one')`))).id;
  team.two = (await asB((c) => one<{ id: string }>(c, `select id from ops.create_team('two')`))).id;
  await asA(async (c) => {
    await c.query(`select ops.add_team_member($1, $2, 'member')`, [team.one, user.member]);
    await c.query(`select ops.add_team_member($1, $2, 'viewer')`, [team.one, user.viewer]);
  });

  // each team: a session with a queued, a finished and a running run (events, an artifact, lane ports)
  for (const [key, as] of [['one', asA], ['two', asB]] as const) {
    const r = rows[key];
    await as(async (c) => {
      r.session = (await one<{ id: string }>(c, `select id from ops.create_session($1, p_lanes => array['A', 'B', 'C'])`, [`session ${key}`])).id;
      r.token = (await one<{ token: string }>(c, `select token from ops.create_worker_token($1, $2)`, [team[key], `box ${key}`])).token;
      r.running = (await one<{ id: string }>(c, `select id from ops.create_run($1, 'A', 'echo running')`, [r.session])).id;
      r.finished = (await one<{ id: string }>(c, `select id from ops.create_run($1, 'B', 'echo done')`, [r.session])).id;
    });
    const w = await tokenWorker(`worker-${key}`, r.token);
    const held = (id: string) => w.held.find((x) => x.id === id)!;
    expect(w.held.map((x) => x.id).sort()).toEqual([r.running, r.finished].sort());
    await asServiceRole(api, async (c) => {
      const args = [r.running, `worker-${key}`, w.regToken, held(r.running).attempt];
      await c.query(`select ops.append_events($1, $2, $3, $4, '[{"stream":"stdout","text":"hello"}]', null)`, args);
      await c.query(`select ops.put_artifact($1, $2, $3, $4, 'diff', 'run.patch', 'text/x-diff', '+1')`, args);
      await c.query(`select ops.lease_lane_ports($1, $2, $3, $4)`, args);
      await c.query(`select ops.finish_and_claim($1, $2, $3::jsonb, 0)`, [
        `worker-${key}`,
        w.regToken,
        JSON.stringify([{ run_id: r.finished, attempt: held(r.finished).attempt, status: 'succeeded', exit_code: 0 }]),
      ]);
    });
    await as(async (c) => {
      r.queued = (await one<{ id: string }>(c, `select id from ops.create_run($1, 'A', 'echo queued')`, [r.session])).id;
    });
  }
  // team 2: a runbook run waiting at its approval gate
  const r2 = rows.two;
  const runbook = { name: 'deploy', title: 'Deploy', steps: [{ id: 'ok', kind: 'approval' }] };
  r2.template = (
    await asB((c) =>
      one<{ id: string }>(c, `select id from ops.publish_template('deploy', 'text', $1, $2::jsonb)`, ['a'.repeat(64), JSON.stringify(runbook)]),
    )
  ).id;
  r2.waiting = (
    await asB((c) =>
      one<{ id: string }>(c, `select id from ops.create_run($1, 'C', 'deploy', 'runbook', $2::jsonb)`, [r2.session, JSON.stringify({ template_id: r2.template })]),
    )
  ).id;
  const w2 = await asServiceRole(api, async (c) => {
    const reg = (await one<{ t: string }>(c, `select ops.register_token_worker($1, 'gate-worker', 'h', 1, 1) as t`, [r2.token])).t;
    const [held] = (await c.query<{ id: string; attempt: number }>(`select id, attempt from ops.claim_runs('gate-worker', $1, 1, p_lanes => array['C'])`, [reg])).rows;
    return { reg, attempt: held!.attempt };
  });
  await asServiceRole(api, async (c) => {
    const args = [r2.waiting, 'gate-worker', w2.reg, w2.attempt];
    await c.query(`select ops.plan_steps($1, $2, $3, $4, '[{"step_id":"ok","title":"OK?","kind":"approval"}]')`, args);
    await c.query(`select ops.park_run($1, $2, $3, $4, 0, '{"message":"ship it?"}')`, args);
  });
});

afterAll(async () => {
  await api?.end();
  await ownerPool?.end();
  await owner?.close();
  await db?.drop();
});

/** The ops tables, and for each the team of a row (null: the row belongs to no team and is no user's). */
const teamOfRow: Record<string, string | null> = {
  teams: 'id',
  team_members: 'team_id',
  sessions: 'team_id',
  runs: '(select s.team_id from ops.sessions s where s.id = session_id)',
  run_events: '(select s.team_id from ops.runs r join ops.sessions s on s.id = r.session_id where r.id = run_id)',
  artifacts: '(select s.team_id from ops.runs r join ops.sessions s on s.id = r.session_id where r.id = run_id)',
  run_steps: '(select s.team_id from ops.runs r join ops.sessions s on s.id = r.session_id where r.id = run_id)',
  lane_ports: '(select s.team_id from ops.sessions s where s.id = session_id)',
  templates: 'team_id',
  workers: 'team_id',
  worker_tokens: 'team_id',
};
/** tables no user reads at all: the queue's own bookkeeping (and log search's index, read through its function) */
const internalTables = ['lanes', 'watchers', 'log_chunks', 'log_buckets', 'log_index', 'log_index_watermark'];
/** tables every signed-in user reads whole: nothing of a team's */
const sharedTables = ['schema_migrations'];

async function opsTables(): Promise<string[]> {
  const r = await ownerPool.query<{ t: string }>(
    `select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'ops' and c.relkind in ('r', 'p') order by 1`,
  );
  return r.rows.map((x) => x.t);
}

/** A row's identity as text, from its primary key (ctid would change with updates). */
async function keyOf(table: string): Promise<string> {
  const r = await ownerPool.query<{ k: string }>(
    `select string_agg(quote_ident(a.attname) || '::text', ' || '':'' || ' order by k.ord) as k
       from pg_index i cross join unnest(i.indkey) with ordinality k(attnum, ord)
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = ('ops.' || $1)::regclass and i.indisprimary`,
    [table],
  );
  return r.rows[0]!.k;
}

const denied = { code: '42501' };

describe('row-level security on a Supabase project', () => {
  it('the migrations left the realtime publication as it was: the same publication, the same tables', async () => {
    const superuser = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      expect(await publication(superuser)).toEqual(publicationBefore);
      expect(publicationBefore.tables).toEqual(['public.messages']);
    } finally {
      await superuser.end();
    }
  });

  it('every ops table is classified, and has row-level security on unless every user may read it', async () => {
    const tables = await opsTables();
    for (const t of tables) expect([t, t in teamOfRow || internalTables.includes(t) || sharedTables.includes(t)]).toEqual([t, true]);
    const rls = await ownerPool.query<{ t: string; on: boolean }>(
      `select c.relname as t, c.relrowsecurity as on from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'ops' and c.relkind = 'r'`,
    );
    for (const { t, on } of rls.rows) if (!sharedTables.includes(t)) expect([t, on]).toEqual([t, true]);
  });

  it('each user reads the rows of their own teams only, whichever login role the API connects as; anon nothing; service_role everything', async () => {
    const everyone = {
      a: { as: asA, teams: [team.one], owns: [team.one] },
      member: { as: asMember, teams: [team.one], owns: [] as string[] },
      viewer: { as: asViewer, teams: [team.one], owns: [] as string[] },
      b: { as: asB, teams: [team.two], owns: [team.two] },
      outsider: { as: <T>(w: (c: Sql) => Promise<T>) => asUser(api, user.outsider, w), teams: [] as string[], owns: [] as string[] },
      // the same user A through an edge function connected as the database's owner: the role decides, not the login
      aViaOwner: { as: <T>(w: (c: Sql) => Promise<T>) => asUser(ownerPool, user.a, w), teams: [team.one], owns: [team.one] },
    };
    for (const table of Object.keys(teamOfRow)) {
      const key = await keyOf(table);
      const all = (await ownerPool.query<{ k: string; team: string | null }>(`select ${key} as k, ${teamOfRow[table]} as team from ops.${table}`)).rows;
      // team 2 has a row of every kind, so what A must not see is there
      expect([table, all.some((r) => r.team === team.two)]).toEqual([table, true]);
      for (const [who, x] of Object.entries(everyone)) {
        const seen = (await x.as((c) => c.query<{ k: string }>(`select ${key} as k from ops.${table}`))).rows.map((r) => r.k).sort();
        const teams = table === 'worker_tokens' ? x.owns : x.teams;
        const expected = all.filter((r) => r.team !== null && teams.includes(r.team)).map((r) => r.k).sort();
        // a user's own memberships of a team they are not in: none here
        expect([table, who, seen]).toEqual([table, who, expected]);
      }
      await expect(asAnon(api, (c) => c.query(`select 1 from ops.${table}`)), `anon ${table}`).rejects.toMatchObject(denied);
      const service = (await asServiceRole(api, (c) => c.query<{ k: string }>(`select ${key} as k from ops.${table}`))).rows;
      expect([table, service.length]).toEqual([table, all.length]);
    }
    const present = await opsTables();
    for (const table of internalTables.filter((t) => present.includes(t))) {
      await expect(asA((c) => c.query(`select 1 from ops.${table}`)), `user ${table}`).rejects.toMatchObject(denied);
      await asServiceRole(api, (c) => c.query(`select 1 from ops.${table}`));
    }
    expect((await asA((c) => c.query(`select name from ops.schema_migrations`))).rows.length).toBeGreaterThan(10);
  });

  it('users and anon write no table directly (no insert, update or delete), service_role may', async () => {
    const tables = await opsTables();
    for (const table of tables) {
      const column = (await ownerPool.query<{ c: string }>(
        `select quote_ident(attname) as c from pg_attribute where attrelid = ('ops.' || $1)::regclass and attnum > 0 and not attisdropped order by attnum limit 1`,
        [table],
      )).rows[0]!.c;
      const writes = [`insert into ops.${table} default values`, `update ops.${table} set ${column} = ${column} where false`, `delete from ops.${table} where false`];
      for (const statement of writes) {
        await expect(asA((c) => c.query(statement)), `user: ${statement}`).rejects.toMatchObject(denied);
        await expect(asAnon(api, (c) => c.query(statement)), `anon: ${statement}`).rejects.toMatchObject(denied);
        // service_role has the privilege: what stops an empty insert is the table's own constraints
        const service = await asServiceRole(api, (c) => c.query(statement).then(() => 'ok')).catch((e: { code?: string }) => e.code);
        expect([statement, service === '42501']).toEqual([statement, false]);
      }
    }
  });
});

/** Every ops function a user, the API or a login role calls; the internal ones begin with "_". */
const userFunctions = [
  'my_team_ids', 'create_team', 'add_team_member', 'remove_team_member', 'create_session', 'archive_session', 'create_runs',
  'create_run', 'create_group', 'cancel_run', 'retry_run', 'approve_run', 'reject_run', 'publish_template',
  'create_worker_token', 'list_worker_tokens', 'revoke_worker_token', 'search_logs',
];
/** what only the API calls, with the service role: a worker token's identity and its worker's registration */
const apiFunctions = ['worker_token_identity', 'register_token_worker'];
/** the worker's side (login workers; through the API, the service role calls them for a token's worker) */
const workerFunctions = [
  'register_worker', 'set_worker_state', 'claim_runs', 'finish_and_claim', 'heartbeat', 'release_run', 'append_events',
  'put_artifact', 'recover_expired', 'record_agent', 'lease_lane_ports', 'plan_steps', 'move_step', 'park_run',
  'requeue_run', 'release_due_runs', 'index_logs',
];
/** what login roles' clients call and no user does: LISTEN bookkeeping, worktree cleanup */
const localClientFunctions = ['watch', 'unwatch', 'worktree_sessions'];

describe('searching logs on a Supabase project', () => {
  it("finds the lines of the caller's teams only: A and a viewer of team 1 team 1's, B team 2's, an outsider none", async () => {
    const search = (c: Sql) => c.query<{ run_id: string; session_id: string; text: string }>(`select run_id, session_id, text from ops.search_logs('hello', null, null, null, null, null, 50, 0)`);
    expect((await asA(search)).rows).toEqual([{ run_id: rows.one.running, session_id: rows.one.session, text: 'hello' }]);
    expect((await asViewer(search)).rows.map((r) => r.run_id)).toEqual([rows.one.running]);
    expect((await asB(search)).rows.map((r) => r.run_id)).toEqual([rows.two.running]);
    expect((await asUser(api, user.outsider, search)).rows).toEqual([]);
    await expect(asA((c) => c.query(`select * from ops.search_logs('hello', $1, null, null, null, null, 50, 0)`, [rows.two.session]))).rejects.toThrow(/does not exist/);
  });
});

describe('functions on a Supabase project', () => {
  it('every ops function is classified; authenticated may call the user functions only, anon none, service_role all', async () => {
    const { rows: functions } = await ownerPool.query<{ name: string; sig: string; anon: boolean; user: boolean; service: boolean; definer: boolean }>(
      `select p.proname as name, p.oid::regprocedure::text as sig, p.prosecdef as definer,
              has_function_privilege('anon', p.oid, 'execute') as anon,
              has_function_privilege('authenticated', p.oid, 'execute') as user,
              has_function_privilege('service_role', p.oid, 'execute') as service
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'ops'`,
    );
    expect(functions.length).toBeGreaterThan(40);
    const known = [...userFunctions, ...apiFunctions, ...workerFunctions, ...localClientFunctions];
    for (const f of functions) {
      const internal = f.name.startsWith('_');
      // a new function must be placed in one of the lists above: who may call it on a team's project?
      expect([f.sig, internal || known.includes(f.name)]).toEqual([f.sig, true]);
      expect([f.sig, f.anon]).toEqual([f.sig, false]);
      expect([f.sig, f.user]).toEqual([f.sig, userFunctions.includes(f.name)]);
      expect([f.sig, f.service]).toEqual([f.sig, true]);
      if (f.user) expect([f.sig, f.definer]).toEqual([f.sig, true]);
    }
    for (const name of userFunctions) expect(functions.some((f) => f.name === name), name).toBe(true);
  });

  it('anon calls nothing: every function is refused before it runs', async () => {
    const { rows } = await ownerPool.query<{ call: string }>(
      `select format('select %s(%s)', p.oid::regproc, (select string_agg('null', ', ') from generate_series(1, p.pronargs))) as call
         from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'ops' and p.prorettype <> 'trigger'::regtype`,
    );
    for (const { call } of rows) await expect(asAnon(api, (c) => c.query(call)), call).rejects.toMatchObject(denied);
  });

  it("user A changes nothing of team 2's, and learns nothing of it: each call is answered as for an id that does not exist", async () => {
    const r = rows.two;
    const tokenOfB = (await ownerPool.query<{ id: string }>(`select id from ops.worker_tokens where team_id = $1`, [team.two])).rows[0]!.id;
    const calls: Array<[string, unknown[]]> = [
      [`select ops.create_session('sneak', p_team_id => $1)`, [team.two]],
      [`select ops.archive_session($1)`, [r.session]],
      [`select ops.create_runs(jsonb_build_array(jsonb_build_object('session_id', $1::uuid, 'lane', 'A', 'intent', 'x')))`, [r.session]],
      [`select ops.create_run($1, 'A', 'sneak')`, [r.session]],
      [`select ops.create_group(jsonb_build_array(jsonb_build_object('session_id', $1::uuid, 'lane', 'A', 'intent', 'x'), jsonb_build_object('session_id', $1::uuid, 'lane', 'B', 'intent', 'x')))`, [r.session]],
      [`select ops.cancel_run($1)`, [r.queued]],
      [`select ops.cancel_run($1)`, [r.running]],
      [`select ops.retry_run($1)`, [r.finished]],
      [`select ops.approve_run($1)`, [r.waiting]],
      [`select ops.reject_run($1, 'no')`, [r.waiting]],
      [`select ops.publish_template('deploy', 'x', $1, '{"name":"deploy"}', null, $2)`, ['b'.repeat(64), team.two]],
      [`select ops.add_team_member($1, $2, 'owner')`, [team.two, user.a]],
      [`select ops.remove_team_member($1, $2)`, [team.two, user.b]],
      [`select ops.create_worker_token($1, 'sneak')`, [team.two]],
      [`select ops.list_worker_tokens($1)`, [team.two]],
      [`select ops.revoke_worker_token($1)`, [tokenOfB]],
    ];
    for (const pool of [api, ownerPool]) {
      for (const [sql, params] of calls) {
        await expect(asUser(pool, user.a, (c) => c.query(sql, params)), sql).rejects.toMatchObject({ code: 'OC002' });
      }
    }
    // nothing changed
    const after = await ownerPool.query<{ id: string; status: string; cancel: boolean }>(
      `select id, status, cancel_requested_at is not null as cancel from ops.runs where session_id = $1 order by seq`,
      [r.session],
    );
    expect(after.rows.map((x) => [x.id, x.status, x.cancel])).toEqual([
      [r.running, 'running', false],
      [r.finished, 'succeeded', false],
      [r.queued, 'queued', false],
      [r.waiting, 'waiting', false],
    ]);
    expect((await ownerPool.query(`select 1 from ops.team_members where team_id = $1`, [team.two])).rows.length).toBe(1);
    expect((await ownerPool.query(`select 1 from ops.worker_tokens where team_id = $1 and revoked_at is null`, [team.two])).rows.length).toBe(1);
    // list_worker_tokens without a team: only the teams A owns
    expect((await asA((c) => c.query<{ team_id: string }>(`select team_id from ops.list_worker_tokens()`))).rows.map((x) => x.team_id)).toEqual([team.one]);
    expect((await asA((c) => one<{ t: string[] }>(c, `select ops.my_team_ids() as t`))).t).toEqual([team.one]);
  });

  it('a viewer reads and is refused every change, saying why; a member acts but manages no members or tokens', async () => {
    const r = rows.one;
    const changes: Array<[string, unknown[]]> = [
      [`select ops.create_session('mine', p_team_id => $1)`, [team.one]],
      [`select ops.create_session('mine')`, []],
      [`select ops.archive_session($1)`, [r.session]],
      [`select ops.create_run($1, 'A', 'x')`, [r.session]],
      [`select ops.cancel_run($1)`, [r.queued]],
      [`select ops.retry_run($1)`, [r.finished]],
      [`select ops.publish_template('t', 'x', $1, '{"name":"t"}', null, $2)`, ['c'.repeat(64), team.one]],
      [`select ops.add_team_member($1, $2, 'owner')`, [team.one, user.viewer]],
      [`select ops.create_worker_token($1, 'mine')`, [team.one]],
      [`select ops.list_worker_tokens($1)`, [team.one]],
    ];
    for (const [sql, params] of changes) {
      await expect(asViewer((c) => c.query(sql, params)), sql).rejects.toMatchObject({ code: 'OC005' });
    }
    await expect(asViewer((c) => c.query(`select ops.cancel_run($1)`, [r.queued]))).rejects.toThrow(/viewer may only read/);
    expect((await asViewer((c) => c.query(`select id from ops.runs where session_id = $1`, [r.session]))).rows.length).toBe(3);

    // a member: acts on the team's sessions, is refused the owner's work
    const mine = await asMember((c) => one<{ id: string; team_id: string; created_by: string; created_by_user: string }>(c, `select * from ops.create_session('member made')`));
    // named by the sign-in (no email in this one's claims: its id), whatever the request says
    expect(mine).toMatchObject({ team_id: team.one, created_by: user.member, created_by_user: user.member });
    const run = await asMember((c) => one<{ id: string }>(c, `select id from ops.create_run($1, 'A', 'echo hi')`, [mine.id]));
    expect(await asMember((c) => one<{ o: string }>(c, `select ops.cancel_run($1) as o`, [run.id]))).toEqual({ o: 'canceled' });
    await expect(asMember((c) => c.query(`select ops.create_worker_token($1, 'mine')`, [team.one]))).rejects.toMatchObject({ code: 'OC005' });
    await expect(asMember((c) => c.query(`select ops.add_team_member($1, $2, 'viewer')`, [team.one, user.outsider]))).rejects.toMatchObject({ code: 'OC005' });
    // someone in no team may create no session
    await expect(asUser(api, user.outsider, (c) => c.query(`select ops.create_session('x')`))).rejects.toThrow(/not a member of any team/);
  });

  it('user A acts on team 1: sessions, runs, comparisons, runbook versions of its own, approvals', async () => {
    const r = rows.one;
    await asA(async (c) => {
      const s = await one<{ id: string; team_id: string; created_by: string }>(c, `select * from ops.create_session('a made')`);
      expect(s).toMatchObject({ team_id: team.one, created_by: 'a@example.com' });
      const group = await c.query(
        `select * from ops.create_group(jsonb_build_array(jsonb_build_object('session_id', $1::uuid, 'lane', 'A', 'intent', 'x'), jsonb_build_object('session_id', $1::uuid, 'lane', 'B', 'intent', 'x')))`,
        [s.id],
      );
      expect(group.rows.length).toBe(2);
      expect((await one<{ id: string }>(c, `select * from ops.retry_run($1)`, [r.finished])).id).toBeTruthy();
      // runbook versions are counted per team: team 2's "deploy" is not team 1's
      const t = await one<{ id: string; version: number; team_id: string }>(c, `select * from ops.publish_template('deploy', 'text', $1, '{"name":"deploy"}')`, ['a'.repeat(64)]);
      expect(t).toMatchObject({ version: 1, team_id: team.one });
      expect(t.id).not.toBe(rows.two.template);
      // a runbook run of team 1 may not use team 2's version
      await expect(
        c.query('savepoint s').then(() => c.query(`select ops.create_run($1, 'C', 'deploy', 'runbook', $2::jsonb)`, [s.id, JSON.stringify({ template_id: rows.two.template })])),
      ).rejects.toThrow(/not a published runbook version/);
      await c.query('rollback to savepoint s');
      await one(c, `select ops.archive_session($1)`, [s.id]);
    });
    // B approves its own waiting run, recorded with B's sign-in
    const approved = await asB((c) => one<{ status: string; approval: { decided_by: string } }>(c, `select * from ops.approve_run($1, 'ok')`, [rows.two.waiting]));
    expect(approved).toMatchObject({ status: 'queued', approval: { decided_by: 'b@example.com' } });
  });

  it('team owners manage members: a team keeps an owner; a member may leave', async () => {
    await asA(async (c) => {
      await expect(c.query('savepoint s').then(() => c.query(`select ops.add_team_member($1, $2, 'viewer')`, [team.one, user.a]))).rejects.toMatchObject({ code: 'OC004' });
      await c.query('rollback to savepoint s');
      await expect(c.query(`select ops.add_team_member($1, gen_random_uuid(), 'viewer')`, [team.one])).rejects.toThrow(/is not a user of this project/);
    });
    await asA((c) => c.query(`select ops.add_team_member($1, $2, 'viewer')`, [team.one, user.outsider]));
    await asUser(api, user.outsider, (c) => c.query(`select ops.remove_team_member($1, $2)`, [team.one, user.outsider]));
    expect((await ownerPool.query(`select 1 from ops.team_members where user_id = $1`, [user.outsider])).rows).toEqual([]);
  });
});

/**
 * A call of every ops function a worker makes as itself: the worker's id and token as $1 and $2 (named arguments), the
 * other arguments null, or their defaults where they have one.
 */
async function workerCalls(): Promise<string[]> {
  const { rows } = await ownerPool.query<{ name: string; args: string[] }>(
    `select p.oid::regproc::text as name, p.proargnames[1:p.pronargs - p.pronargdefaults] as args
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'ops' and left(p.proname, 1) <> '_' and 'p_worker_id' = any (p.proargnames) and 'p_token' = any (p.proargnames)`,
  );
  return rows.map((f) => {
    const args = (f.args ?? []).map((a) => (a === 'p_worker_id' ? `${a} => $1` : a === 'p_token' ? `${a} => $2` : `${a} => null`));
    return `select * from ${f.name}(${args.join(', ')})`;
  });
}

describe('worker tokens', () => {
  it('made by a team owner and shown once: only its SHA-256 is kept; listed without it', async () => {
    const made = await asA((c) => one<{ id: string; token: string }>(c, `select * from ops.create_worker_token($1, 'laptop')`, [team.one]));
    expect(made.token).toMatch(/^ocrw_[0-9a-f]{64}$/);
    const stored = await ownerPool.query<{ row: string; token_hash: string }>(`select t::text as row, token_hash from ops.worker_tokens t where id = $1`, [made.id]);
    expect(stored.rows[0]!.token_hash).toBe(createHash('sha256').update(made.token).digest('hex'));
    expect(stored.rows[0]!.row).not.toContain(made.token.slice(5));
    const listed = await asA((c) => c.query(`select * from ops.list_worker_tokens($1)`, [team.one]));
    expect(listed.rows.find((t) => t.id === made.id)).toMatchObject({ name: 'laptop', team_id: team.one, sessions: null, revoked_at: null, last_used_at: null });
    expect(Object.keys(listed.rows[0]!)).not.toContain('token_hash');
    await expect(asA((c) => c.query(`select token_hash from ops.worker_tokens`))).rejects.toMatchObject(denied);
    // the identity is for the API only
    await expect(asA((c) => c.query(`select * from ops.worker_token_identity($1)`, [made.token]))).rejects.toMatchObject(denied);
    const identity = await asServiceRole(api, (c) => one(c, `select * from ops.worker_token_identity($1)`, [made.token]));
    expect(identity).toEqual({ token_id: made.id, team_id: team.one, name: 'laptop', sessions: null });
    expect((await ownerPool.query(`select last_used_at from ops.worker_tokens where id = $1`, [made.id])).rows[0]!.last_used_at).not.toBeNull();
    await expect(asServiceRole(api, (c) => c.query(`select * from ops.worker_token_identity('ocrw_0000')`))).rejects.toMatchObject({ code: 'OC005' });
  });

  it('refuses a name, sessions or a team that does not fit, in one line naming the field', async () => {
    await expect(asA((c) => c.query(`select ops.create_worker_token($1, '  ')`, [team.one]))).rejects.toThrow(/^name: /);
    await expect(asA((c) => c.query(`select ops.create_worker_token($1, 'x', '{}')`, [team.one]))).rejects.toThrow(/^sessions: /);
    await expect(asA((c) => c.query(`select ops.create_worker_token($1, 'x', array[$2::uuid])`, [team.one, rows.two.session]))).rejects.toThrow(/^sessions: .* is not a session of team/);
    await expect(asA((c) => c.query(`select ops.create_worker_token(null, 'x')`))).rejects.toThrow(/^team: /);
  });

  it("a token's worker claims only its team's runs (and only its sessions when it names some); a worker id of another team is refused", async () => {
    const other = await asA((c) => one<{ id: string }>(c, `select id from ops.create_session('narrow', p_lanes => array['A'])`));
    const queued = await asA((c) => one<{ id: string }>(c, `select id from ops.create_run($1, 'A', 'echo narrow')`, [other.id]));
    const narrow = await asA((c) => one<{ token: string }>(c, `select token from ops.create_worker_token($1, 'narrow', array[$2::uuid])`, [team.one, other.id]));
    const claimed = await asServiceRole(api, async (c) => {
      const reg = (await one<{ t: string }>(c, `select ops.register_token_worker($1, 'narrow-worker', 'h', 1, 10) as t`, [narrow.token])).t;
      // asking for everything, and for team 2's session by name: the token decides
      return (await c.query<{ id: string }>(`select id from ops.claim_runs('narrow-worker', $1, 10, null, array[$2::uuid, $3::uuid])`, [reg, other.id, rows.two.session])).rows.map((x) => x.id);
    });
    expect(claimed).toEqual([queued.id]);
    const two = await ownerPool.query<{ status: string }>(`select status from ops.runs where id = $1`, [rows.two.queued]);
    expect(two.rows[0]!.status).toBe('queued');
    // team 2's worker id cannot be taken over with team 1's token
    await expect(asServiceRole(api, (c) => c.query(`select ops.register_token_worker($1, 'worker-two', 'h', 1, 1)`, [rows.one.token]))).rejects.toThrow(/belongs to a worker of another team/);
  });

  it("a token's worker writes nothing for another team's runs: every call naming a run it does not hold is refused", async () => {
    const w = await tokenWorker('team-one-writer', rows.one.token);
    const held = await ownerPool.query<{ id: string; attempt: number }>(`select id, attempt from ops.runs where id = $1`, [rows.two.running]);
    const calls = (await workerCalls()).filter((c) => c.includes('p_run_id => null'));
    expect(calls.length).toBeGreaterThan(8);
    const state = () =>
      ownerPool.query(
        `select r.status, r.claimed_by, r.attempt, r.updated_at, r.agent,
                (select count(*) from ops.run_events e where e.run_id = r.id) as events,
                (select count(*) from ops.artifacts a where a.run_id = r.id) as artifacts,
                (select count(*) from ops.run_steps s where s.run_id = r.id) as steps
           from ops.runs r where r.id = $1`,
        [rows.two.running],
      );
    const before = (await state()).rows;
    for (const call of calls) {
      const sql = call.replace('p_run_id => null', 'p_run_id => $3').replace('p_attempt => null', 'p_attempt => $4');
      await expect(asServiceRole(api, (c) => c.query(sql, ['team-one-writer', w.regToken, rows.two.running, held.rows[0]!.attempt])), sql)
        .rejects.toMatchObject({ code: expect.stringMatching(/^OC00[1-4]$/) });
    }
    expect((await state()).rows).toEqual(before);
    // a heartbeat for it renews nothing: the run is not the worker's
    const beat = await asServiceRole(api, (c) => c.query(`select * from ops.heartbeat('team-one-writer', $1, array[$2::uuid])`, [w.regToken, rows.two.running]));
    expect(beat.rows).toEqual([{ run_id: rows.two.running, outcome: 'lost' }]);
    expect((await ownerPool.query(`select claimed_by from ops.runs where id = $1`, [rows.two.running])).rows[0]).toEqual({ claimed_by: 'worker-two' });
  });

  it('a revoked token stops its worker at its next call, and its identity at once', async () => {
    const made = await asA((c) => one<{ id: string; token: string }>(c, `select * from ops.create_worker_token($1, 'to revoke')`, [team.one]));
    const reg = await asServiceRole(api, (c) => one<{ t: string }>(c, `select ops.register_token_worker($1, 'doomed', 'h', 1, 1) as t`, [made.token]));
    await asServiceRole(api, (c) => c.query(`select * from ops.heartbeat('doomed', $1, '{}')`, [reg.t]));
    const revoked = await asA((c) => one<{ revoked_at: string | null }>(c, `select * from ops.revoke_worker_token($1)`, [made.id]));
    expect(revoked.revoked_at).not.toBeNull();
    await expect(asServiceRole(api, (c) => c.query(`select * from ops.worker_token_identity($1)`, [made.token]))).rejects.toThrow(/unknown or revoked/);
    // every function a worker calls as itself (it names its id and its registration's token) refuses it now
    const calls = await workerCalls();
    expect(calls.length).toBeGreaterThan(12);
    for (const call of calls) {
      await expect(asServiceRole(api, (c) => c.query(call, ['doomed', reg.t])), call).rejects.toThrow(/its worker token was revoked/);
    }
    await expect(asServiceRole(api, (c) => c.query(`select ops.register_token_worker($1, 'doomed', 'h', 1, 1)`, [made.token]))).rejects.toMatchObject({ code: 'OC005' });
    // revoking twice changes nothing
    const again = await asA((c) => one<{ revoked_at: string }>(c, `select * from ops.revoke_worker_token($1)`, [made.id]));
    expect(again.revoked_at).toEqual(revoked.revoked_at);
  });
});

describe('login roles on the same project', () => {
  it("an ocr_client login role sees the sessions of no team it created, none of a team's", async () => {
    const role = `ocr_t_team_client_${Date.now().toString(36)}`;
    await ownerPool.query(`create role ${role} login in role ocr_client`);
    const url = new URL(db.url);
    url.username = role;
    const client = new PostgresStore({ url: url.toString(), poolSize: 1 });
    try {
      const mine = await client.createSession({ title: 'local' });
      expect((await client.listSessions()).map((s) => s.id)).toEqual([mine.id]);
      await expect(client.cancelRun(rows.one.queued)).rejects.toMatchObject({ code: 'not_found' });
      await expect(client.createRun({ session_id: rows.one.session, lane: 'A', intent: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      await client.close();
      await ownerPool.query(`drop owned by ${role}`).catch(() => undefined);
      await ownerPool.query(`drop role ${role}`).catch(() => undefined);
    }
  });
});
