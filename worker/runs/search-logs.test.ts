// Search every log, against a real PostgreSQL: runs of two sessions write lines through the worker's own calls, and a
// search finds them newest first with the lines around them — before the lines are in chunks, after, and when a text
// is in so many chunks that the search walks them from the newest. Its answers are checked against reading every line.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewEvent, Run, Session } from '../../domain';
import { PostgresStore } from '../store/postgres';
import { asServiceRole, asUser, createSupabaseDatabase, createUser } from '../store/supabase.test-support';
import { createTestDatabase, testServerUrl } from '../store/testing';
import { excerpt, findMatches, searchLogs } from './search-logs';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let admin: pg.Client;
let web: Session;
let api: Session;
const runs: Record<string, Run> = {};
const worker = `search-${randomBytes(3).toString('hex')}`;
const base = Date.parse('2026-11-02T10:00:00Z');
const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();

/** Claims the run and writes its lines, each at its minute; the run ends as told, or stays running. */
async function write(run: Run, lines: Array<[number, string] | [number, string, 'stdout' | 'stderr']>, end?: 'succeeded' | 'failed'): Promise<void> {
  const [claimed] = await store.claimRuns(worker, 1, { sessions: [run.session_id], lanes: [run.lane] });
  expect(claimed?.id).toBe(run.id);
  const lease = { runId: run.id, workerId: worker, attempt: claimed!.attempt };
  const events: NewEvent[] = lines.map(([minute, text, stream]) => ({ stream: stream ?? 'stdout', text, ts: at(minute) }));
  for (let i = 0; i < events.length; i += 5000) await store.appendEvents(lease, events.slice(i, i + 5000));
  if (end) await store.finishAndClaim(worker, [{ runId: run.id, attempt: claimed!.attempt, status: end, exitCode: end === 'succeeded' ? 0 : 1 }], 0);
}

const texts = (hits: Awaited<ReturnType<typeof searchLogs>>) => hits.map((h) => h.hit.text);

/** Every line holding `text` (colors out, any case), newest first: what a search must answer, read the slow way. */
async function everyLine(text: string, limit = 50): Promise<Array<{ run_id: string; seq: number }>> {
  const { rows } = await admin.query<{ run_id: string; seq: string }>(
    `select run_id, seq from ops.run_events
      where regexp_replace(text, E'\\x1b\\\\[[0-?]*[ -/]*[@-~]', '', 'g') ilike '%' || replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'
      order by ts desc, seq desc limit $2`,
    [text, limit],
  );
  return rows.map((r) => ({ run_id: r.run_id, seq: Number(r.seq) }));
}

const chunkCount = async () => Number((await admin.query<{ n: string }>('select count(*) as n from ops.log_chunks')).rows[0]!.n);

beforeAll(async () => {
  db = await createTestDatabase('ocr_search_logs');
  store = new PostgresStore({ url: db.url });
  await store.migrate();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 4, labels: {}, version: 'test' });
  web = await store.createSession({ title: 'Web app', lanes: ['A', 'B'] });
  api = await store.createSession({ title: 'API', lanes: ['A'] });
  runs.build = await store.createRun({ session_id: web.id, lane: 'A', intent: 'npm run build' });
  runs.test = await store.createRun({ session_id: web.id, lane: 'B', intent: 'npm test' });
  runs.migrate = await store.createRun({ session_id: api.id, lane: 'A', intent: 'psql -f migrate.sql' });
  await write(runs.build, [
    [1, '> web@1.0.0 build'],
    [2, 'Compiling src/users/merge33.test.ts'],
    [3, 'Error: connect ECONNREFUSED 127.0.0.1:5432'],
    [4, 'done in 3.2 s'],
  ], 'succeeded');
  await write(runs.test, [
    [10, 'PASS src/app.test.ts'],
    [11, '\x1b[31mFAIL\x1b[39m src/cart.test.ts'],
    [12, 'npm ERR! code ELIFECYCLE', 'stderr'],
    [13, 'npm ERR! errno 1', 'stderr'],
    [14, 'npm ERR! web@1.0.0 test: `vitest run`', 'stderr'],
  ], 'failed');
  // still running: its lines fill no chunk yet
  await write(runs.migrate, [
    [20, 'psql: error: connection to server at "db" (10.0.0.7), port 5432 failed: ECONNREFUSED'],
    [21, 'retrying in 5 s: 100%_done'],
  ]);
});

afterAll(async () => {
  await admin?.end();
  await store?.close();
  await db?.drop();
});

describe('search every log', () => {
  it('finds the lines holding a text in any case, newest first, each with its run, session, lane and the lines around it', async () => {
    const hits = await searchLogs(store, { query: 'econnrefused' });
    expect(texts(hits)).toEqual(['psql: error: connection to server at "db" (10.0.0.7), port 5432 failed: ECONNREFUSED', 'Error: connect ECONNREFUSED 127.0.0.1:5432']);
    expect(hits[1]!.hit).toMatchObject({ run_id: runs.build!.id, session_id: web.id, session_title: 'Web app', lane: 'A', run_status: 'succeeded', run_intent: 'npm run build', seq: 3, stream: 'stdout' });
    expect(hits[1]!.before).toEqual(['> web@1.0.0 build', 'Compiling src/users/merge33.test.ts']);
    expect(hits[1]!.after).toEqual(['done in 3.2 s']);
    expect(hits[1]!.line.slice(hits[1]!.matches[0]!.start, hits[1]!.matches[0]!.end)).toBe('ECONNREFUSED');
    expect(hits[0]!.hit).toMatchObject({ run_id: runs.migrate!.id, session_title: 'API', run_status: 'running', before: [], after: ['retrying in 5 s: 100%_done'] });
  });

  it('matches pieces of words, file names and punctuation as typed, and not the terminal colors', async () => {
    expect(texts(await searchLogs(store, { query: 'ECONNREF' }))).toHaveLength(2);
    expect(texts(await searchLogs(store, { query: 'merge33.test.ts' }))).toEqual(['Compiling src/users/merge33.test.ts']);
    expect(texts(await searchLogs(store, { query: 'fail src/cart' }))).toEqual(['\x1b[31mFAIL\x1b[39m src/cart.test.ts']);
    expect(texts(await searchLogs(store, { query: '[31m' }))).toEqual([]);
    expect(texts(await searchLogs(store, { query: 'npm ERR!' }))).toEqual(['npm ERR! web@1.0.0 test: `vitest run`', 'npm ERR! errno 1', 'npm ERR! code ELIFECYCLE']);
    // % and _ are text, not wildcards
    expect(texts(await searchLogs(store, { query: '100%_d' }))).toEqual(['retrying in 5 s: 100%_done']);
    expect(texts(await searchLogs(store, { query: '100%xd' }))).toEqual([]);
    const [hit] = await searchLogs(store, { query: 'FAIL src' });
    expect(hit!.line).toBe('FAIL src/cart.test.ts');
    expect(hit!.matches).toEqual([{ start: 0, end: 8 }]);
  });

  it('narrows by session (its id or first characters), lane, run status and the lines\' time', async () => {
    const search = (o: Parameters<typeof searchLogs>[1]) => searchLogs(store, o).then(texts);
    expect(await search({ query: '5432', session: web.id.slice(0, 8) })).toEqual(['Error: connect ECONNREFUSED 127.0.0.1:5432']);
    expect(await search({ query: 'src/', lane: 'B' })).toEqual(['\x1b[31mFAIL\x1b[39m src/cart.test.ts', 'PASS src/app.test.ts']);
    expect(await search({ query: '5432', status: ['running', 'failed'] })).toEqual(['psql: error: connection to server at "db" (10.0.0.7), port 5432 failed: ECONNREFUSED']);
    expect(await search({ query: 'npm', since: at(13), until: at(14) })).toEqual(['npm ERR! errno 1']);
    expect(await search({ query: 'npm ERR!', limit: 1 })).toEqual(['npm ERR! web@1.0.0 test: `vitest run`']);
    expect((await searchLogs(store, { query: 'errno', context: 0 }))[0]).toMatchObject({ before: [], after: [] });
  });

  it('answers the same once the lines are in chunks, a running run\'s short tail read directly', async () => {
    const before = await searchLogs(store, { query: 'test' });
    expect(await store.indexLogs(5000)).toBe(9);
    // the finished runs' lines are in chunks; the running run's two lines wait for more or for its end
    expect(await chunkCount()).toBe(2);
    expect(await searchLogs(store, { query: 'test' })).toEqual(before);
    expect(texts(await searchLogs(store, { query: 'ECONNREFUSED' }))).toHaveLength(2);
    // nothing new: nothing to do
    expect(await store.indexLogs(5000)).toBe(0);
  });

  it('keeps to the newest hits in the right order when runs wrote at the same time, however the lines fall into chunks', async () => {
    const session = await store.createSession({ title: 'Interleaved', lanes: ['A', 'B'] });
    const [a, b] = await store.createRuns(['A', 'B'].map((lane) => ({ session_id: session.id, lane, intent: `lane ${lane}` })));
    // lane A writes at even minutes and lane B at odd ones, 250 lines each: five chunks each, overlapping in time
    await write(a!, Array.from({ length: 250 }, (_, i) => [1000 + 2 * i, `A line ${i} interleaved marker`] as [number, string]), 'succeeded');
    await write(b!, Array.from({ length: 250 }, (_, i) => [1001 + 2 * i, `B line ${i} interleaved marker`] as [number, string]), 'succeeded');
    const expected = await everyLine('interleaved marker', 120);
    const hits = await searchLogs(store, { query: 'interleaved marker', limit: 120 });
    expect(hits.map((h) => ({ run_id: h.hit.run_id, seq: h.hit.seq }))).toEqual(expected);
    await store.indexLogs(5000);
    const indexed = await searchLogs(store, { query: 'interleaved marker', limit: 120 });
    expect(indexed.map((h) => ({ run_id: h.hit.run_id, seq: h.hit.seq }))).toEqual(expected);
    expect(indexed[0]!.hit.text).toBe('B line 249 interleaved marker');
  });

  it('walks the newest chunks, then asks the trigram index a bucket at a time, and answers what reading every line does', async () => {
    const session = await store.createSession({ title: 'Busy', lanes: ['A', 'B'] });
    const [old, fresh] = await store.createRuns(['A', 'B'].map((lane) => ({ session_id: session.id, lane, intent: `lane ${lane}` })));
    // an old run of 160,000 lines, "compiled" in every chunk, and a newer one of 60,000 without it: 4,400 chunks, two
    // buckets; a rare line in both
    await write(old!, Array.from({ length: 160_000 }, (_, i): [number, string] => [1600 + i / 100, i % 7919 === 0 ? `rare needle ${i}` : `module ${i % 977} compiled in ${i % 91} ms`]), 'succeeded');
    await write(fresh!, Array.from({ length: 60_000 }, (_, i): [number, string] => [4000 + i / 100, i % 9973 === 0 ? `rare needle ${i} again` : `fresh line ${i}`]), 'succeeded');
    while ((await store.indexLogs(5000)) > 0);
    expect(Number((await admin.query<{ n: string }>('select count(distinct bucket) as n from ops.log_chunks')).rows[0]!.n)).toBeGreaterThan(1);
    for (const query of ['compiled', 'module 5 compiled', 'rare needle', 'in 90 ms', 'fresh line 5', 'no line says this']) {
      const hits = await searchLogs(store, { query, limit: 50 });
      expect(hits.map((h) => ({ run_id: h.hit.run_id, seq: h.hit.seq })), query).toEqual(await everyLine(query));
    }
    // narrowed to a time or a lane, and more hits than one bucket holds
    const window = { since: at(2500), until: at(2600) };
    const windowed = await searchLogs(store, { query: 'compiled in 7 ms', ...window, limit: 200 });
    expect(windowed.length).toBeGreaterThan(50);
    expect(windowed.every((h) => h.hit.ts >= window.since && h.hit.ts < window.until && h.hit.text.includes('compiled in 7 ms'))).toBe(true);
    expect(windowed.map((h) => h.hit.seq)).toEqual([...windowed.map((h) => h.hit.seq)].sort((x, y) => y - x));
    expect(texts(await searchLogs(store, { query: 'rare needle', lane: 'B' }))).toEqual(['rare needle 59838 again', 'rare needle 49865 again', 'rare needle 39892 again', 'rare needle 29919 again', 'rare needle 19946 again', 'rare needle 9973 again', 'rare needle 0 again']);
  });

  it('answers the same where the trigram index has no buckets (no btree_gin): the older chunks all at once', async () => {
    const { rows } = await admin.query<{ s: string }>(`select n.nspname as s from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`);
    await admin.query('drop index ops.log_chunks_text');
    await admin.query(`create index log_chunks_text on ops.log_chunks using gin (text "${rows[0]!.s}".gin_trgm_ops)`);
    for (const query of ['compiled', 'module 5 compiled', 'rare needle', 'in 90 ms', 'fresh line 5', 'no line says this']) {
      const hits = await searchLogs(store, { query, limit: 50 });
      expect(hits.map((h) => ({ run_id: h.hit.run_id, seq: h.hit.seq })), query).toEqual(await everyLine(query));
    }
  });

  it('refuses a search it cannot do, naming the field and the fix', async () => {
    const refused = (o: Parameters<typeof searchLogs>[1]) => searchLogs(store, o).then(() => 'answered', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
    expect(await refused({ query: '' })).toBe('invalid_input: query: give at least 3 characters, such as ERR or 404');
    expect(await refused({ query: ' ab ' })).toBe('invalid_input: query: give at least 3 characters, such as ERR or 404');
    expect(await refused({ query: 'two\nlines' })).toBe('invalid_input: query: give one line of text: each line of a log is searched on its own');
    expect(await refused({ query: 'x'.repeat(501) })).toBe('invalid_input: query: search for at most 500 characters');
    expect(await refused({ query: 'npm', limit: 0 })).toMatch(/^invalid_input: limit: /);
    expect(await refused({ query: 'npm', context: 21 })).toBe('invalid_input: context: at most 20 lines around a hit');
    expect(await refused({ query: 'npm', lane: 'no lane!' })).toMatch(/^invalid_input: lane: /);
    expect(await refused({ query: 'npm', status: ['done' as 'failed'] })).toMatch(/^invalid_input: status\.0: /);
    expect(await refused({ query: 'npm', since: 'yesterday' })).toBe('invalid_input: since: give a time such as 2026-12-01T00:00:00Z');
    expect(await refused({ query: 'npm', since: at(5), until: at(5) })).toMatch(/^invalid_input: since: .* is not before until /);
    expect(await refused({ query: 'npm', session: 'ffffffff' })).toMatch(/^not_found: session ffffffff does not exist/);
    expect(await refused({ query: 'npm', session: 'web app' })).toMatch(/^invalid_input: session: "web app" is not a session id/);
  });

  it('refuses the same in the database, for any other caller', async () => {
    const call = (sql: string) => admin.query(sql).then(() => 'answered', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
    expect(await call(`select * from ops.search_logs('')`)).toBe('OC003: query: give the text to search for');
    expect(await call(`select * from ops.search_logs('ab')`)).toBe(`OC003: query: 'ab' is too short to search every log`);
    expect(await call(`select * from ops.search_logs(E'a\\nbcd')`)).toBe('OC003: query: one line of text');
    expect(await call(`select * from ops.search_logs('npm', p_limit => 0)`)).toBe('OC003: limit: must be 1 to 1000');
    expect(await call(`select * from ops.search_logs('npm', p_statuses => array['done'])`)).toBe('OC003: status: not a run status');
    expect(await call(`select * from ops.search_logs('npm', p_from => now(), p_to => now() - interval '1 day')`)).toBe('OC003: since: must be before until');
    expect(await call(`select * from ops.search_logs('npm', p_session_id => gen_random_uuid())`)).toMatch(/^OC002: session .* does not exist$/);
  });
});

describe('log search without the trigram index', () => {
  it('migrates where pg_trgm cannot be used, and still finds every line', async () => {
    const plainDb = await createTestDatabase('ocr_search_no_trgm');
    const owner = `ocr_t_owner_${randomBytes(4).toString('hex')}`;
    const server = new pg.Client({ connectionString: testServerUrl() });
    await server.connect();
    const url = new URL(plainDb.url);
    let other: PostgresStore | undefined;
    try {
      // an owner that may create schemas, but may not use the schema pg_trgm goes in: no trigram index can be made
      await server.query(`create role ${owner} login in role ocr_client`);
      await server.query(`grant create on database ${plainDb.name} to ${owner}`);
      const setup = new pg.Client({ connectionString: plainDb.url });
      await setup.connect();
      await setup.query('create schema extensions; revoke all on schema extensions from public');
      await setup.end();
      url.username = owner;
      other = new PostgresStore({ url: url.toString() });
      await other.migrate();
      const indexes = await setupQuery(plainDb.url, `select indexname from pg_indexes where tablename = 'log_chunks' order by 1`);
      expect(indexes).toEqual(['log_chunks_newest', 'log_chunks_pkey', 'log_chunks_session_newest']);
      const session = await other.createSession({ title: 'No trigrams', lanes: ['A'] });
      const run = await other.createRun({ session_id: session.id, lane: 'A', intent: 'echo' });
      await other.registerWorker({ id: 'w', host: 'h', pid: 1, concurrency: 1, labels: {} });
      const [claimed] = await other.claimRuns('w', 1);
      await other.appendEvents({ runId: run.id, workerId: 'w', attempt: claimed!.attempt }, [{ stream: 'stdout', text: 'Error: ENOSPC no space left' }]);
      await other.finishAndClaim('w', [{ runId: run.id, attempt: claimed!.attempt, status: 'failed', exitCode: 1 }], 0);
      expect(texts(await searchLogs(other, { query: 'enospc' }))).toEqual(['Error: ENOSPC no space left']);
      expect(await other.indexLogs(5000)).toBe(1);
      expect(texts(await searchLogs(other, { query: 'enospc' }))).toEqual(['Error: ENOSPC no space left']);
    } finally {
      await other?.close();
      await plainDb.drop();
      await server.query(`drop role if exists ${owner}`);
      await server.end();
    }
  });
});

describe('log search on a Supabase project', () => {
  it("a signed-in user finds the logs of their team's sessions, and none of a session of no team", async () => {
    const supa = await createSupabaseDatabase('ocr_search_supa');
    const superuser = new pg.Pool({ connectionString: supa.url, max: 2 });
    const api = new pg.Pool({ connectionString: supa.authenticatorUrl, max: 2 });
    const owner = new PostgresStore({ url: supa.ownerUrl });
    try {
      await owner.migrate();
      const user = await createUser(superuser, 'ann@example.com');
      const [team] = (await superuser.query<{ id: string }>(`select id from ops.create_team('platform')`)).rows;
      await superuser.query(`select ops.add_team_member($1, $2, 'member')`, [team!.id, user]);
      // one session of the team, and one of no team made through the API with the service role (its owner: the
      // login role the API connects as, as for every user's request)
      const teams = await asServiceRole(api, (c) => c.query<{ id: string }>(`select id from ops.create_session('team work', p_team_id => $1)`, [team!.id]));
      const loose = await asServiceRole(api, (c) => c.query<{ id: string }>(`select id from ops.create_session('no team')`));
      for (const [session, text] of [[teams.rows[0]!.id, 'needle of the team'], [loose.rows[0]!.id, 'needle of nobody']] as const) {
        const run = (await superuser.query<{ id: string }>(`select id from ops.create_runs(jsonb_build_array(jsonb_build_object('session_id', $1::uuid, 'lane', 'A', 'intent', 'echo')))`, [session])).rows[0]!;
        await superuser.query(`insert into ops.run_events (run_id, seq, stream, text) values ($1, 1, 'stdout', $2)`, [run.id, text]);
      }
      const search = (c: pg.PoolClient) => c.query<{ text: string }>(`select text from ops.search_logs('needle', null, null, null, null, null, 50, 0)`).then((r) => r.rows.map((x) => x.text));
      expect(await asUser(api, user, search)).toEqual(['needle of the team']);
      expect((await asServiceRole(api, search)).sort()).toEqual(['needle of nobody', 'needle of the team']);
      await expect(asUser(api, user, (c) => c.query(`select * from ops.search_logs('needle', $1)`, [loose.rows[0]!.id]))).rejects.toThrow(/does not exist/);
    } finally {
      await owner.close();
      await api.end();
      await superuser.end();
      await supa.drop();
    }
  });
});

async function setupQuery(url: string, sql: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ indexname: string }>(sql)).rows.map((r) => r.indexname);
  } finally {
    await c.end();
  }
}

describe('excerpt', () => {
  it('cuts a long line around its first match, with an ellipsis where it is cut', () => {
    const line = `${'a'.repeat(300)} ECONNREFUSED ${'b'.repeat(300)}`;
    const { text, matches } = excerpt(line, 'econnrefused', 60);
    expect(text).toHaveLength(60);
    expect(text.startsWith('…') && text.endsWith('…')).toBe(true);
    expect(text.slice(matches[0]!.start, matches[0]!.end)).toBe('ECONNREFUSED');
    expect(excerpt('short line', 'line', 60)).toEqual({ text: 'short line', matches: [{ start: 6, end: 10 }] });
    expect(excerpt(`${'x'.repeat(100)}`, 'nothing', 20).text).toBe(`${'x'.repeat(19)}…`);
    expect(findMatches('a.b A.B a-b', 'a.b')).toEqual([{ start: 0, end: 3 }, { start: 4, end: 7 }]);
  });
});
