// `supabase db push` on a fresh project, then ocr on the same database: the files apply in the order the Supabase CLI
// applies them (by file name, each file in one transaction, recorded in supabase_migrations.schema_migrations), and
// ocr takes them as applied instead of applying them again. OCR_SUPABASE_CLI, the path of a `supabase` binary (npm
// install supabase), makes the first test push with the real CLI as well.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from './migrate';
import { PostgresStore } from './postgres';
import { asUser, createSupabaseDatabase, createUser, type SupabaseDatabase } from './supabase.test-support';

const folder = path.resolve('supabase/migrations');
const files = readdirSync(folder).filter((f) => /^[0-9]+_.*\.sql$/.test(f)).sort();
const cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function project(): Promise<SupabaseDatabase> {
  const db = await createSupabaseDatabase('ocr_push');
  cleanup.push(() => db.drop());
  return db;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** What `supabase db push` does with supabase/migrations, as the project's owner. */
async function push(db: SupabaseDatabase): Promise<void> {
  const c = new pg.Client({ connectionString: db.ownerUrl });
  await c.connect();
  try {
    await c.query(`create schema supabase_migrations;
      create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text)`);
    for (const file of files) {
      const [, version, name] = /^([0-9]+)_(.*)\.sql$/.exec(file)!;
      const text = readFileSync(path.join(folder, file), 'utf8');
      await c.query('begin');
      try {
        await c.query(text);
      } catch (e) {
        throw new Error(`${file}: ${(e as Error).message}`);
      }
      await c.query('insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)', [version, name, [text]]);
      await c.query('commit');
    }
  } finally {
    await c.end();
  }
}

describe('supabase db push, then ocr', () => {
  it('every migration applies in file order on a fresh project, and ocr then applies none of them again', async () => {
    const db = await project();
    const cli = process.env.OCR_SUPABASE_CLI;
    if (cli) {
      const work = mkdtempSync(path.join(tmpdir(), 'ocr-push-'));
      cleanup.push(async () => rmSync(work, { recursive: true, force: true }));
      cpSync(path.resolve('supabase/config.toml'), path.join(work, 'supabase/config.toml'));
      cpSync(folder, path.join(work, 'supabase/migrations'), { recursive: true });
      execFileSync(cli, ['db', 'push', `--remote=${db.ownerUrl}`, '--skip-vault', '--yes', '--workdir', work], { stdio: 'pipe' });
    } else {
      await push(db);
    }
    expect(await sql(db.url, 'select name from ops.schema_migrations')).toEqual([]);

    const store = new PostgresStore({ url: db.ownerUrl, poolSize: 1 });
    cleanup.push(() => store.close());
    await store.migrate();
    const recorded = await sql<{ name: string }>(db.url, 'select name from ops.schema_migrations order by name');
    expect(recorded.map((r) => r.name)).toEqual(migrations.map((m) => m.name).sort());
    // nothing ran twice: 0001 would have failed on its tables, and the history holds each file once
    expect(await sql(db.url, `select version from supabase_migrations.schema_migrations group by version having count(*) > 1`)).toEqual([]);

    // the project works: a user makes a team and a session in it
    const api = new pg.Pool({ connectionString: db.authenticatorUrl, max: 1 });
    cleanup.push(() => api.end());
    const superuser = new pg.Pool({ connectionString: db.url, max: 1 });
    cleanup.push(() => superuser.end());
    const a = await createUser(superuser, 'a@example.com');
    const session = await asUser(api, a, async (c) => {
      await c.query(`select ops.create_team('pushed')`);
      return (await c.query<{ team_id: string }>(`select * from ops.create_session('after the push')`)).rows[0]!;
    });
    expect(session.team_id).toBeTruthy();
  });

  it("a project whose own migrations are in Supabase's history, without ops, gets every ocr migration", async () => {
    const db = await project();
    await sql(db.ownerUrl, `create schema supabase_migrations;
      create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text);
      insert into supabase_migrations.schema_migrations values ('0001', '{}', 'init'), ('0003', '{}', 'least_privilege');`);
    const store = new PostgresStore({ url: db.ownerUrl, poolSize: 1 });
    cleanup.push(() => store.close());
    await store.migrate();
    const recorded = await sql<{ name: string }>(db.url, 'select name from ops.schema_migrations order by name');
    expect(recorded.map((r) => r.name)).toEqual(migrations.map((m) => m.name).sort());
  });
});
