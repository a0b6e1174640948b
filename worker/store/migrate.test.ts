// The migrator against real databases: a new one, one the files before the baseline built, and ones it must refuse.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import baselineSql from '../../supabase/migrations/0001_ops_baseline.sql';
import { checksum, migrate, migrations, replacedByBaseline } from './migrate';
import { createTestDatabase } from './testing';

interface RunRow {
  id: string;
  intent: string;
  lane: string;
  status: string;
  claimed_by: string | null;
  attempt: number;
}

/** One session's runs through the SQL functions themselves, as a worker calls them. */
class Queue {
  session = '';
  private readonly tokens = new Map<string, string>();
  constructor(private readonly pool: pg.Pool) {}

  /** A new session with these lanes, each queueing these intents in order. */
  async add(lanes: Record<string, string[]>): Promise<RunRow[]> {
    const s = await this.pool.query<{ id: string }>('select id from ops.create_session($1, $2, $3)', [
      'finish and claim',
      '',
      Object.keys(lanes),
    ]);
    this.session = s.rows[0]!.id;
    const runs = Object.entries(lanes).flatMap(([lane, intents]) => intents.map((intent) => ({ session_id: this.session, lane, intent })));
    return (await this.pool.query<RunRow>('select * from ops.create_runs($1::jsonb)', [JSON.stringify(runs)])).rows;
  }

  /** The token of a worker, registered on first use (every write of a worker names its token). */
  private async token(worker: string): Promise<string> {
    let token = this.tokens.get(worker);
    if (!token) {
      token = (await this.pool.query<{ t: string }>(`select ops.register_worker($1, 'test', 1, 4) as t`, [worker])).rows[0]!.t;
      this.tokens.set(worker, token);
    }
    return token;
  }

  async claim(worker: string, max: number, leaseSeconds = 30): Promise<RunRow[]> {
    const sql = 'select * from ops.claim_runs($1, $2, $3, null, $4::uuid[], null, $5)';
    return (await this.pool.query<RunRow>(sql, [worker, await this.token(worker), max, [this.session], leaseSeconds])).rows;
  }

  /** ops.finish_and_claim, claiming from this session only; an end's status is 'succeeded' unless given. */
  async finishAndClaim(worker: string, ends: Array<{ run_id: string | null; attempt: number; status?: string }>, max: number) {
    const results = ends.map((e) => ({ status: 'succeeded', exit_code: 0, ...e }));
    const sql = 'select * from ops.finish_and_claim($1, $2, $3::jsonb, $4, null, $5::uuid[], null, 30)';
    return (await this.pool.query<RunRow>(sql, [worker, await this.token(worker), JSON.stringify(results), max, [this.session]])).rows;
  }

  async get(id: string): Promise<RunRow> {
    return (await this.pool.query<RunRow>('select * from ops.runs where id = $1', [id])).rows[0]!;
  }
}

type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

const allNames = migrations.map((m) => m.name);
const opened: Array<{ end(): Promise<void> }> = [];
const databases: TestDatabase[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((p) => p.end()));
  await Promise.all(databases.splice(0).map((d) => d.drop()));
});

async function database(): Promise<{ url: string; pool: pg.Pool }> {
  const db = await createTestDatabase('ocr_migrate');
  databases.push(db);
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  opened.push(pool);
  return { url: db.url, pool };
}

/** A database as the migrator before the baseline left it: the schema, and one row for each file it applied. */
async function migratedBeforeBaseline(rows: ReadonlyArray<{ name: string; checksum: string }> = replacedByBaseline) {
  const db = await database();
  await db.pool.query(baselineSql);
  await db.pool.query(`create table ops.schema_migrations (
    name text primary key, checksum text not null, applied_at timestamptz not null default now())`);
  for (const r of rows) await db.pool.query('insert into ops.schema_migrations (name, checksum) values ($1, $2)', [r.name, r.checksum]);
  return db;
}

async function recorded(pool: pg.Pool): Promise<Array<{ name: string; checksum: string }>> {
  return (await pool.query<{ name: string; checksum: string }>('select name, checksum from ops.schema_migrations order by name')).rows;
}

/** What a refused migration must leave as it was: the rows of ops.schema_migrations and every function of ops. */
async function state(pool: pg.Pool): Promise<unknown> {
  const migrationsRows = (await pool.query('select name, checksum, applied_at from ops.schema_migrations order by name')).rows;
  const functions = (
    await pool.query<{ f: string }>(`select md5(string_agg(p.oid::regprocedure::text || p.prosrc, ',' order by p.oid)) as f
                                     from pg_proc p where p.pronamespace = 'ops'::regnamespace`)
  ).rows[0]!.f;
  return { migrationsRows, functions };
}

describe('migrate', () => {
  it('applies every migration to a new database, once', async () => {
    const { pool } = await database();
    expect(await migrate(pool)).toEqual(allNames);
    expect(await migrate(pool)).toEqual([]);
    expect(await recorded(pool)).toEqual(migrations.map((m) => ({ name: m.name, checksum: checksum(m.sql) })));
  });

  it('applies each migration once when two migrators start at once', async () => {
    const { url, pool } = await database();
    const other = new pg.Pool({ connectionString: url, max: 2 });
    opened.push(other);
    const [a, b] = await Promise.all([migrate(pool), migrate(other)]);
    expect([...a, ...b].sort()).toEqual([...allNames].sort());
    expect((await recorded(pool)).map((r) => r.name)).toEqual(allNames);
  });

  it('records a database the replaced files built as having the baseline, without running it', async () => {
    const { pool } = await migratedBeforeBaseline();
    // the baseline's first statements would fail on this database: were it run, migrate would throw
    expect(await migrate(pool)).toEqual(allNames.filter((n) => n !== '0001_ops_baseline'));
    const rows = await recorded(pool);
    expect(rows.map((r) => r.name)).toEqual(allNames);
    expect(rows.find((r) => r.name === '0001_ops_baseline')).toEqual({ name: '0001_ops_baseline', checksum: checksum(baselineSql) });
    expect(await migrate(pool)).toEqual([]);

    // 0002 applied: an end the fence refuses is answered with the run as it is
    const q = new Queue(pool);
    const [run] = await q.add({ A: ['a1'] });
    const [held] = await q.claim('w-upgraded', 1);
    expect(held!.id).toBe(run!.id);
    expect(await q.finishAndClaim('w-upgraded', [{ run_id: run!.id, attempt: held!.attempt + 1 }], 0)).toMatchObject([
      { id: run!.id, status: 'running', claimed_by: 'w-upgraded', attempt: held!.attempt },
    ]);
  });

  it('adopts the baseline once when two migrators find the replaced files at once', async () => {
    const { url, pool } = await migratedBeforeBaseline();
    const other = new pg.Pool({ connectionString: url, max: 2 });
    opened.push(other);
    const [a, b] = await Promise.all([migrate(pool), migrate(other)]);
    expect([...a, ...b].sort()).toEqual(allNames.filter((n) => n !== '0001_ops_baseline').sort());
    expect((await recorded(pool)).map((r) => r.name)).toEqual(allNames);
  });

  it('refuses a database that stopped partway through the replaced files, and changes nothing', async () => {
    const { pool } = await migratedBeforeBaseline(replacedByBaseline.slice(0, 2));
    const before = await state(pool);
    await expect(migrate(pool)).rejects.toMatchObject({
      code: 'migration_failed',
      message: expect.stringContaining('records 0001_ops_schema, 0002_ops_functions but not 0003_queue_fast_path'),
      hint: expect.stringContaining('new, empty database'),
    });
    expect(await state(pool)).toEqual(before);
  });

  it('refuses a replaced file recorded with another checksum, and changes nothing', async () => {
    const rows = replacedByBaseline.map((r) => (r.name === '0002_ops_functions' ? { ...r, checksum: 'f'.repeat(64) } : r));
    const { pool } = await migratedBeforeBaseline(rows);
    const before = await state(pool);
    await expect(migrate(pool)).rejects.toMatchObject({
      code: 'migration_failed',
      message: expect.stringContaining("records 0002_ops_functions with a checksum other than that of the file's final version"),
      hint: expect.stringContaining(checksum(baselineSql)),
    });
    expect(await state(pool)).toEqual(before);
  });

  it('refuses a database that records both the baseline and a file it replaced, and changes nothing', async () => {
    const { pool } = await migratedBeforeBaseline([
      { name: '0001_ops_baseline', checksum: checksum(baselineSql) },
      replacedByBaseline[2]!,
    ]);
    const before = await state(pool);
    await expect(migrate(pool)).rejects.toMatchObject({
      code: 'migration_failed',
      message: expect.stringContaining('records both 0001_ops_baseline and 0003_queue_fast_path'),
    });
    expect(await state(pool)).toEqual(before);
  });

  it('refuses an applied migration whose file changed since', async () => {
    const { pool } = await database();
    await migrate(pool);
    await pool.query(`update ops.schema_migrations set checksum = $1 where name = '0001_ops_baseline'`, ['0'.repeat(64)]);
    await expect(migrate(pool)).rejects.toMatchObject({
      code: 'migration_failed',
      message: 'migration 0001_ops_baseline was changed after it was applied to this database',
    });
  });
});

describe('finish_and_claim', () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase('ocr_migrate');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await migrate(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const end = (run: RunRow, attempt = run.attempt) => ({ run_id: run.id, attempt });

  it('answers the runs it claims, and nothing for the ends it recorded', async () => {
    const q = new Queue(pool);
    await q.add({ A: ['a1', 'a2'], B: ['b1', 'b2'], C: ['c1'] });
    const held = await q.claim('w-ok', 2);
    expect(held.map((r) => r.intent)).toEqual(['a1', 'b1']);
    const answer = await q.finishAndClaim('w-ok', held.map((r) => end(r)), 3);
    expect(answer.map((r) => [r.intent, r.status, r.claimed_by])).toEqual([
      ['a2', 'running', 'w-ok'],
      ['b2', 'running', 'w-ok'],
      ['c1', 'running', 'w-ok'],
    ]);
    for (const r of held) expect((await q.get(r.id)).status).toBe('succeeded');
  });

  it('finishes and claims nothing when asked for no runs', async () => {
    const q = new Queue(pool);
    const [a1, a2] = await q.add({ A: ['a1', 'a2'] });
    const [held] = await q.claim('w-zero', 1);
    expect(await q.finishAndClaim('w-zero', [{ ...end(held!), status: 'failed' }], 0)).toEqual([]);
    expect((await q.get(a1!.id)).status).toBe('failed');
    expect((await q.get(a2!.id)).status).toBe('queued');
  });

  it('answers an end it refused with the run as it is: recovered, then held by another worker', async () => {
    const q = new Queue(pool);
    const [run] = await q.add({ A: ['a1'], B: ['b1'] });
    const [held] = await q.claim('w-old', 1, 1);
    expect(held!.id).toBe(run!.id);
    await new Promise((r) => setTimeout(r, 1100));
    await pool.query('select * from ops.recover_expired()');

    // recovered: back in the queue; the old worker claims nothing
    expect(await q.finishAndClaim('w-old', [end(held!)], 0)).toMatchObject([
      { id: run!.id, status: 'queued', claimed_by: null, attempt: 1 },
    ]);
    const [again] = await q.claim('w-new', 1);
    expect(again).toMatchObject({ id: run!.id, attempt: 2 });

    // held by another worker: refused, answered as that worker holds it, and claims still come back
    const answer = await q.finishAndClaim('w-old', [end(held!)], 5);
    expect(answer.map((r) => [r.intent, r.status, r.claimed_by, r.attempt])).toEqual([
      ['b1', 'running', 'w-old', 1],
      ['a1', 'running', 'w-new', 2],
    ]);
    expect((await q.get(run!.id)).status).toBe('running');
  });

  it('answers an end of another attempt, or of a run finished already, and leaves both runs as they are', async () => {
    const q = new Queue(pool);
    await q.add({ A: ['a1'], B: ['b1'] });
    const [a1, b1] = await q.claim('w-fence', 2);
    expect(await q.finishAndClaim('w-fence', [end(b1!)], 0)).toEqual([]);
    const answer = await q.finishAndClaim('w-fence', [end(a1!, a1!.attempt + 1), end(b1!)], 0);
    expect(answer.map((r) => [r.intent, r.status, r.claimed_by, r.attempt]).sort()).toEqual([
      ['a1', 'running', 'w-fence', 1],
      ['b1', 'succeeded', 'w-fence', 1],
    ]);
    expect((await q.get(a1!.id)).status).toBe('running');
  });

  it('leaves out ends that name no run, and answers a run once however often it is named', async () => {
    const q = new Queue(pool);
    await q.add({ A: ['a1'], B: ['b1'] });
    const [a1, b1] = await q.claim('w-odd', 2);
    const answer = await q.finishAndClaim(
      'w-odd',
      [end(a1!), end(a1!), { run_id: randomUUID(), attempt: 1 }, { run_id: null, attempt: 1 }, end(b1!, 9), end(b1!, 8)],
      0,
    );
    expect(answer.map((r) => [r.intent, r.status])).toEqual([['b1', 'running']]);
    expect((await q.get(a1!.id)).status).toBe('succeeded');
  });

  it('answers a refused run that it claims again once, as claimed', async () => {
    const q = new Queue(pool);
    const [run] = await q.add({ A: ['a1'] });
    const [held] = await q.claim('w-back', 1, 1);
    await new Promise((r) => setTimeout(r, 1100));
    await pool.query('select * from ops.recover_expired()');
    expect(await q.finishAndClaim('w-back', [end(held!)], 1)).toMatchObject([
      { id: run!.id, status: 'running', claimed_by: 'w-back', attempt: 2 },
    ]);
  });

  it('wakes the other workers for a lane it frees and does not take again, and only then', async () => {
    const q = new Queue(pool);
    await q.add({ A: ['a1', 'a2'], B: ['b1', 'b2'] });
    const [a1, b1] = await q.claim('w-wake', 2);
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (n) => heard.push(n.payload ?? ''));
      await listener.query('listen ops_queue');
      const heardUpTo = async (marker: string) => {
        await pool.query(`select pg_notify('ops_queue', $1)`, [marker]);
        for (let i = 0; i < 200 && !heard.includes(marker); i++) await new Promise((r) => setTimeout(r, 10));
        return heard.splice(0);
      };

      // b2 is taken by this same call: nobody else is woken
      expect((await q.finishAndClaim('w-wake', [end(b1!)], 1)).map((r) => r.intent)).toEqual(['b2']);
      expect(await heardUpTo('one')).toEqual(['one']);
      // a2 is left for the others: everyone is woken
      expect(await q.finishAndClaim('w-wake', [end(a1!)], 0)).toEqual([]);
      expect(await heardUpTo('two')).toEqual(['', 'two']);
    } finally {
      await listener.end();
    }
  });
});
