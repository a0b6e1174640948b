// The migrator against real databases: a new one, one the files before the baseline built, and ones it must refuse.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import baselineSql from '../../supabase/migrations/0001_ops_baseline.sql';
import { checksum, migrate, migrations, replacedByBaseline } from './migrate';
import { createTestDatabase } from './testing';

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
    expect(rows[0]).toEqual({ name: '0001_ops_baseline', checksum: checksum(baselineSql) });
    expect(await migrate(pool)).toEqual([]);
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
