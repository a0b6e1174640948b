// Applies the SQL migrations in supabase/migrations once each, in order, tracked in ops.schema_migrations.
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import schema from '../../supabase/migrations/0001_ops_schema.sql';
import functions from '../../supabase/migrations/0002_ops_functions.sql';
import queueFastPath from '../../supabase/migrations/0003_queue_fast_path.sql';
import { OcrError } from './errors';

export const migrations: ReadonlyArray<{ name: string; sql: string }> = [
  { name: '0001_ops_schema', sql: schema },
  { name: '0002_ops_functions', sql: functions },
  { name: '0003_queue_fast_path', sql: queueFastPath },
];

const checksum = (sql: string): string => createHash('sha256').update(sql).digest('hex');
// Any fixed number: it serialises migrators of one database, so two clients starting at once apply each file once.
const MIGRATION_LOCK = 727_001;

async function appliedMigrations(pool: Pool): Promise<Map<string, string> | undefined> {
  const exists = await pool.query<{ t: string | null }>(`select to_regclass('ops.schema_migrations')::text as t`);
  if (!exists.rows[0]?.t) return undefined;
  const rows = await pool.query<{ name: string; checksum: string }>('select name, checksum from ops.schema_migrations');
  return new Map(rows.rows.map((r) => [r.name, r.checksum]));
}

function checkUnchanged(applied: Map<string, string>): void {
  for (const m of migrations) {
    const sum = applied.get(m.name);
    if (sum && sum !== checksum(m.sql)) {
      throw new OcrError(
        'migration_failed',
        `migration ${m.name} was changed after it was applied to this database`,
        'add a new migration file instead of editing an applied one',
      );
    }
  }
}

export async function migrate(pool: Pool): Promise<string[]> {
  const before = await appliedMigrations(pool);
  if (before) {
    checkUnchanged(before);
    if (migrations.every((m) => before.has(m.name))) return [];
  }
  const client = await pool.connect();
  const done: string[] = [];
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`create schema if not exists ops;
      create table if not exists ops.schema_migrations (
        name text primary key, checksum text not null, applied_at timestamptz not null default now())`);
    const applied = new Map(
      (await client.query<{ name: string; checksum: string }>('select name, checksum from ops.schema_migrations')).rows.map(
        (r) => [r.name, r.checksum],
      ),
    );
    checkUnchanged(applied);
    for (const m of migrations) {
      if (applied.has(m.name)) continue;
      try {
        await client.query(m.sql);
      } catch (e) {
        throw new OcrError('migration_failed', `migration ${m.name} failed: ${(e as Error).message}`, undefined, { cause: e });
      }
      await client.query('insert into ops.schema_migrations (name, checksum) values ($1, $2)', [m.name, checksum(m.sql)]);
      done.push(m.name);
    }
    await client.query('commit');
    return done;
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
