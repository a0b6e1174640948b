// Applies the SQL migrations in supabase/migrations once each, in order, tracked in ops.schema_migrations.
//
// Migrations only append: a file applied anywhere is never edited, renamed or removed (its checksum is checked), and
// every change to the schema is a new file at the end of this list. supabase/schema.sql (`npm run schema`) shows the
// result of all of them.
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import migrationHistory from '../../supabase/migrations/0000_migration_history.sql';
import baselineSql from '../../supabase/migrations/0001_ops_baseline.sql';
import finishAndClaimRefusals from '../../supabase/migrations/0002_finish_and_claim_refusals.sql';
import leastPrivilege from '../../supabase/migrations/0003_least_privilege.sql';
import runbooks from '../../supabase/migrations/0004_runbooks.sql';
import finishLocksInIdOrder from '../../supabase/migrations/0005_finish_locks_in_id_order.sql';
import runHistory from '../../supabase/migrations/0006_run_history.sql';
import appendOnce from '../../supabase/migrations/0007_append_once.sql';
import agentRuns from '../../supabase/migrations/0008_agent_runs.sql';
import compareGroups from '../../supabase/migrations/0009_compare_groups.sql';
import lanePorts from '../../supabase/migrations/0010_lane_ports.sql';
import teamAccess from '../../supabase/migrations/0012_team_access.sql';
import logSearch from '../../supabase/migrations/0013_log_search.sql';
import searchForSignedInUsers from '../../supabase/migrations/0014_search_for_signed_in_users.sql';
import logSearchChunksOf50 from '../../supabase/migrations/0015_log_search_chunks_of_50.sql';
import logSearchSignedInUsers from '../../supabase/migrations/0016_log_search_signed_in_users.sql';
import { OcrError } from './errors';

export const migrations: ReadonlyArray<{ name: string; sql: string }> = [
  { name: '0000_migration_history', sql: migrationHistory },
  { name: '0001_ops_baseline', sql: baselineSql },
  { name: '0002_finish_and_claim_refusals', sql: finishAndClaimRefusals },
  { name: '0003_least_privilege', sql: leastPrivilege },
  { name: '0004_runbooks', sql: runbooks },
  { name: '0005_finish_locks_in_id_order', sql: finishLocksInIdOrder },
  { name: '0006_run_history', sql: runHistory },
  { name: '0007_append_once', sql: appendOnce },
  { name: '0008_agent_runs', sql: agentRuns },
  { name: '0009_compare_groups', sql: compareGroups },
  { name: '0010_lane_ports', sql: lanePorts },
  { name: '0012_team_access', sql: teamAccess },
  { name: '0013_log_search', sql: logSearch },
  { name: '0014_search_for_signed_in_users', sql: searchForSignedInUsers },
  { name: '0015_log_search_chunks_of_50', sql: logSearchChunksOf50 },
  { name: '0016_log_search_signed_in_users', sql: logSearchSignedInUsers },
];

const BASELINE = '0001_ops_baseline';
// The files 0001_ops_baseline replaced, with the sha256 of their final versions. A database they built holds exactly
// these three rows and the schema the baseline builds, so it is recorded as having the baseline without running it.
export const replacedByBaseline: ReadonlyArray<{ name: string; checksum: string }> = [
  { name: '0001_ops_schema', checksum: 'bfeaba2f39b89eceba6c32b350d79435ed3da0129bfa8e1919961af5eb3c83d3' },
  { name: '0002_ops_functions', checksum: 'd27829eb6f66c426aecc3e098a17b436d383a380cf2a3d4b73d788cd4535ca48' },
  { name: '0003_queue_fast_path', checksum: '183d27447da07d41e4cd972d78bb2b3ff5f449ab487a99f715332861851a4c68' },
];

export const checksum = (sql: string): string => createHash('sha256').update(sql).digest('hex');
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

/**
 * A database migrated before the baseline holds the three files it replaced: they become one row for the baseline.
 * Anything else that names them (some missing, a checksum of another version, the baseline besides) is refused and
 * nothing changes. Caller holds the migration lock inside a transaction; `applied` is updated to match.
 */
async function adoptBaseline(client: PoolClient, applied: Map<string, string>): Promise<void> {
  const present = replacedByBaseline.filter((m) => applied.has(m.name)).map((m) => m.name);
  if (present.length === 0) return;
  const names = replacedByBaseline.map((m) => m.name);
  const compare = 'compare its schema with supabase/schema.sql';
  if (applied.has(BASELINE)) {
    throw new OcrError(
      'migration_failed',
      `ops.schema_migrations records both ${BASELINE} and ${present.join(', ')}, which ${BASELINE} replaced`,
      `${compare}; if it is the baseline's, delete the rows of ${present.join(', ')} from ops.schema_migrations`,
    );
  }
  const missing = names.filter((name) => !applied.has(name));
  if (missing.length > 0) {
    throw new OcrError(
      'migration_failed',
      `ops.schema_migrations records ${present.join(', ')} but not ${missing.join(', ')}: this database stopped partway ` +
        `through the migrations ${BASELINE} replaced`,
      `finish them with the build of ocr that began them, then run this one again; or start from a new, empty database`,
    );
  }
  const changed = replacedByBaseline.filter((m) => applied.get(m.name) !== m.checksum).map((m) => m.name);
  if (changed.length > 0) {
    throw new OcrError(
      'migration_failed',
      `ops.schema_migrations records ${changed.join(', ')} with a checksum other than that of the file's final ` +
        `version, so this database's schema may not be the one ${BASELINE} builds`,
      `start from a new, empty database; or ${compare} and, if it is the baseline's, replace the rows of ` +
        `${names.join(', ')} in ops.schema_migrations with one for ${BASELINE} (checksum ${checksum(baselineSql)})`,
    );
  }
  await client.query('delete from ops.schema_migrations where name = any ($1::text[])', [names]);
  await client.query('insert into ops.schema_migrations (name, checksum) values ($1, $2)', [BASELINE, checksum(baselineSql)]);
  for (const name of names) applied.delete(name);
  applied.set(BASELINE, checksum(baselineSql));
}

/**
 * A Supabase project migrated with `supabase db push` records the files it applied in Supabase's own history
 * (supabase_migrations.schema_migrations: the number before a file name's first "_", and the rest as its name), not
 * in ops.schema_migrations. Those of ours are taken as applied, once the ops schema they built is there. Caller holds
 * the migration lock; `applied` is updated to match.
 */
async function adoptSupabasePush(client: PoolClient, applied: Map<string, string>): Promise<void> {
  const found = await client.query<{ history: string | null; ops: string | null; named: boolean }>(
    `select to_regclass('supabase_migrations.schema_migrations')::text as history, to_regclass('ops.sessions')::text as ops,
            exists (select 1 from pg_catalog.pg_attribute
                     where attrelid = to_regclass('supabase_migrations.schema_migrations') and attname = 'name' and not attisdropped) as named`,
  );
  const { history, ops, named } = found.rows[0]!;
  if (!history || !ops) return;
  const pushed = await client.query<{ version: string; name: string | null }>(
    `select version, ${named ? 'name' : 'null::text as name'} from supabase_migrations.schema_migrations`,
  );
  const byVersion = new Map(pushed.rows.map((r) => [r.version, r.name]));
  for (const m of migrations) {
    const [version, ...rest] = m.name.split('_');
    const name = byVersion.get(version!);
    // the project's own migrations may have numbers like ours: a recorded name must be ours too
    if (applied.has(m.name) || name === undefined || (name !== null && name !== rest.join('_'))) continue;
    await client.query('insert into ops.schema_migrations (name, checksum) values ($1, $2)', [m.name, checksum(m.sql)]);
    applied.set(m.name, checksum(m.sql));
  }
}

export async function migrate(pool: Pool): Promise<string[]> {
  const before = await appliedMigrations(pool);
  if (before) {
    checkUnchanged(before);
    const replacedLeft = replacedByBaseline.some((m) => before.has(m.name));
    if (!replacedLeft && migrations.every((m) => before.has(m.name))) return [];
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
    await adoptBaseline(client, applied);
    await adoptSupabasePush(client, applied);
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
