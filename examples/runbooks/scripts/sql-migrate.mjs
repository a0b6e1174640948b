#!/usr/bin/env node
// SQL migrations for the db-migrate and supabase-migration-run runbooks: the .sql files of a folder, in name order,
// checked and then applied to a database — with psql when it is installed, else with the project's `pg` package.
//
//   node sql-migrate.mjs check [--supabase]    which files are new; a dry run of them in a transaction rolled back
//   node sql-migrate.mjs apply [--supabase]    the new files in one transaction, each recorded as applied
//
// The database is $OCR_INPUT_DATABASE_URL (postgres://…); it is never put on a command line (psql gets it as PG*
// variables). The folder is $OCR_INPUT_FOLDER (default migrations), or supabase/migrations with --supabase.
// $OCR_INPUT_CLIENT chooses psql or pg (default: psql when present). What was applied is recorded in the database —
// ocr_schema_migrations (name, sha256), or with --supabase the Supabase CLI's supabase_migrations.schema_migrations
// (version, name) — and listed in $OCR_ARTIFACTS_DIR/applied.txt when that is set.
//
// Every file of one run goes in one transaction: all are applied or none. A file that manages transactions itself
// (BEGIN; / COMMIT;) is refused, since its COMMIT would end the dry run's transaction for real.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [mode, ...flags] = process.argv.slice(2);
const supabase = flags.includes('--supabase');
const folder = supabase ? path.join('supabase', 'migrations') : process.env.OCR_INPUT_FOLDER || 'migrations';
const url = process.env.OCR_INPUT_DATABASE_URL || '';
const table = supabase ? 'supabase_migrations.schema_migrations' : 'ocr_schema_migrations';

class Refused extends Error {}

function fail(message) {
  console.error(`sql-migrate: ${message}`);
  process.exit(1);
}

// ---- the files ---------------------------------------------------------------------------------------------------

/** The folder's .sql files in name order, each with what records it (its version for Supabase, else its name). */
function migrationFiles() {
  let names;
  try {
    names = readdirSync(folder).filter((n) => n.endsWith('.sql')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch (e) {
    throw new Refused(`cannot read the folder ${folder} (${e.code ?? e.message}): give the folder of the .sql files, relative to the repository`);
  }
  const files = names.map((name) => {
    const file = path.join(folder, name);
    const text = readFileSync(file, 'utf8');
    const sha256 = createHash('sha256').update(text).digest('hex');
    let version;
    if (supabase) {
      const m = /^(\d+)_([^/]*)\.sql$/.exec(name);
      if (!m) throw new Refused(`${file}: a migration's name is <version>_<name>.sql, such as 20240101120000_create_users.sql`);
      version = m[1];
    }
    const own = /^[ \t]*(begin|commit|rollback|start[ \t]+transaction|abort)\b[ \t\w]*;/im.exec(text);
    if (own) {
      const line = text.slice(0, own.index).split('\n').length;
      throw new Refused(`${file}:${line}: "${own[0].trim()}": the file manages its own transaction; remove it (each run applies its files in one transaction)`);
    }
    return { name, file, text, sha256, key: supabase ? version : name, label: supabase ? name.slice(version.length + 1, -4) : name };
  });
  if (supabase) {
    const seen = new Map();
    for (let i = 0; i < files.length; i++) {
      const f = files[i];
      if (seen.has(f.key)) throw new Refused(`${f.file}: version ${f.key} is also the version of ${seen.get(f.key)}; give each migration its own timestamp`);
      seen.set(f.key, f.file);
      const next = files[i + 1];
      if (next && BigInt(next.key) < BigInt(f.key)) {
        throw new Refused(`${f.file} sorts before ${next.file} by name but has the higher version: the names must be in the order of their versions (timestamps of the same width, such as 20240101120000)`);
      }
    }
  }
  return files;
}

// ---- the database --------------------------------------------------------------------------------------------------

const pgEnvNames = {
  host: 'PGHOST', port: 'PGPORT', user: 'PGUSER', password: 'PGPASSWORD', dbname: 'PGDATABASE', sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT', sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY', application_name: 'PGAPPNAME',
  connect_timeout: 'PGCONNECT_TIMEOUT', options: 'PGOPTIONS', target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/** The database URL as the PG* variables psql reads, so that it is on no command line. */
function pgEnv(text) {
  let u;
  try {
    u = new URL(text);
  } catch {
    throw new Refused('the database URL is not a URL: give postgres://user:password@host:5432/database');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Refused(`the database URL starts with ${u.protocol}//: give a postgres:// URL`);
  const env = {};
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname.replace(/^\[(.*)\]$/, '$1'));
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  if (u.pathname.length > 1) env.PGDATABASE = decodeURIComponent(u.pathname.slice(1));
  for (const [k, v] of u.searchParams) {
    const name = pgEnvNames[k];
    if (!name) throw new Refused(`the database URL's parameter "${k}" is not one psql is given here: leave it out, or set the client input to pg`);
    env[name] = v;
  }
  return env;
}

const quote = (text) => `'${String(text).replace(/'/g, "''")}'`;

function hasPsql() {
  return spawnSync('psql', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** psql: a script on stdin, stopping at the first error; answers its output, or throws with what psql said. */
function psqlClient() {
  const env = { ...process.env, ...pgEnv(url) };
  // `echo`: the script's own lines (which file it is at) are shown as they come, also when it fails
  const run = (script, args, echo) =>
    new Promise((resolve, reject) => {
      const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-A', '-t', ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (b) => (echo ? process.stdout.write(b) : (out += b)));
      child.stderr.on('data', (b) => (err += b));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) return reject(new Error(err.trim() || `psql exited ${code}`));
        if (err.trim()) process.stderr.write(err);
        resolve(out);
      });
      child.stdin.end(script);
    });
  return {
    name: 'psql',
    async rows(sql) {
      const out = await run(`${sql};\n`, ['-F', '\t'], false);
      return out.split('\n').filter(Boolean).map((l) => l.split('\t'));
    },
    async transaction(files, { commit, record, prelude }) {
      const lines = ['begin;'];
      if (prelude) lines.push(`${prelude};`);
      for (const f of files) {
        lines.push(`\\echo ${commit ? 'applying' : 'checking'} ${f.name}`, `\\i ${quote(f.file)}`);
        if (record) lines.push(`${record(f).sql};`);
      }
      lines.push(commit ? 'commit;' : 'rollback;');
      await run(lines.join('\n') + '\n', [], true);
    },
    async close() {},
  };
}

/** The project's `pg` package (or one on NODE_PATH). */
async function pgClient() {
  let pg;
  try {
    pg = createRequire(path.join(process.cwd(), 'package.json'))('pg');
  } catch {
    throw new Refused('neither psql nor the pg package is here: install the PostgreSQL client (psql), or add pg to the project (npm install --save-dev pg)');
  }
  const client = new (pg.Client ?? pg.default.Client)({ connectionString: url });
  await client.connect();
  return {
    name: 'pg',
    async rows(sql) {
      return (await client.query({ text: sql, rowMode: 'array' })).rows.map((r) => r.map((v) => (v === null ? '' : String(v))));
    },
    async transaction(files, { commit, record, prelude }) {
      await client.query('begin');
      try {
        if (prelude) await client.query(prelude);
        for (const f of files) {
          console.log(`${commit ? 'applying' : 'checking'} ${f.name}`);
          try {
            await client.query(f.text);
          } catch (e) {
            const line = e.position ? f.text.slice(0, Number(e.position) - 1).split('\n').length : 1;
            throw new Error(`${f.file}:${line}: ERROR:  ${e.message}`);
          }
          if (record) {
            const { text, values } = record(f);
            await client.query(text, values);
          }
        }
        await client.query(commit ? 'commit' : 'rollback');
      } catch (e) {
        await client.query('rollback').catch(() => undefined);
        throw e;
      }
    },
    async close() {
      await client.end();
    },
  };
}

async function connect() {
  if (!url) throw new Refused('no database: give the database_url input (postgres://user:password@host:5432/database)');
  const choice = process.env.OCR_INPUT_CLIENT || 'auto';
  if (choice === 'psql' || (choice === 'auto' && hasPsql())) {
    if (choice === 'psql' && !hasPsql()) throw new Refused('psql is not installed here: install the PostgreSQL client, or set the client input to pg');
    return psqlClient();
  }
  return pgClient();
}

// ---- what was applied before ---------------------------------------------------------------------------------------

const createTable = 'set local client_min_messages = warning; ' + (supabase
  ? 'create schema if not exists supabase_migrations; create table if not exists supabase_migrations.schema_migrations (version text not null primary key, statements text[], name text)'
  : 'create table if not exists ocr_schema_migrations (name text primary key, sha256 text not null, applied_at timestamptz not null default now(), applied_by text not null default current_user)') + '; reset client_min_messages';

async function appliedBefore(db) {
  const [[exists] = []] = await db.rows(`select to_regclass(${quote(table)}) is not null`);
  if (exists !== 't' && exists !== 'true') return new Map();
  const rows = await db.rows(supabase ? `select version, '' from ${table}` : `select name, sha256 from ${table}`);
  return new Map(rows.map(([key, sha]) => [key, sha]));
}

function record(f) {
  return supabase
    ? { sql: `insert into ${table} (version, name) values (${quote(f.key)}, ${quote(f.label)})`, text: `insert into ${table} (version, name) values ($1, $2)`, values: [f.key, f.label] }
    : { sql: `insert into ${table} (name, sha256) values (${quote(f.name)}, ${quote(f.sha256)})`, text: `insert into ${table} (name, sha256) values ($1, $2)`, values: [f.name, f.sha256] };
}

/** The files not applied yet; refuses a changed file that was applied, or (Supabase) a new one older than the last applied. */
function pending(files, applied) {
  const todo = [];
  for (const f of files) {
    if (!applied.has(f.key)) {
      todo.push(f);
      continue;
    }
    if (!supabase && applied.get(f.key) !== f.sha256) throw new Refused(`${f.file} was applied before and has changed since: write a new migration file instead`);
  }
  if (supabase && todo.length > 0 && applied.size > 0) {
    const last = [...applied.keys()].reduce((a, b) => (BigInt(a) > BigInt(b) ? a : b));
    const old = todo.find((f) => BigInt(f.key) < BigInt(last));
    if (old) throw new Refused(`${old.file} is older than the last migration applied (${last}): rename it with a newer timestamp`);
  }
  return todo;
}

// ---- main ----------------------------------------------------------------------------------------------------------

async function main() {
  if (mode !== 'check' && mode !== 'apply') fail('usage: node sql-migrate.mjs check|apply [--supabase]');
  const files = migrationFiles();
  const db = await connect();
  try {
    const applied = await appliedBefore(db);
    const todo = pending(files, applied);
    console.log(`${files.length} file(s) in ${folder} (${db.name}): ${files.length - todo.length} applied before, ${todo.length} to apply`);
    if (todo.length === 0) {
      console.log('nothing to apply');
    } else if (mode === 'check') {
      await db.transaction(todo, { commit: false });
      console.log(`dry run: the ${todo.length} file(s) ran in one transaction, rolled back`);
    } else {
      await db.transaction(todo, { commit: true, record, prelude: createTable });
      for (const f of todo) console.log(`applied ${f.name}`);
      console.log(`${todo.length} file(s) applied in one transaction, recorded in ${table}`);
    }
    if (mode === 'apply' && process.env.OCR_ARTIFACTS_DIR) {
      writeFileSync(path.join(process.env.OCR_ARTIFACTS_DIR, 'applied.txt'), todo.map((f) => `${f.name} ${f.sha256}\n`).join('') || 'nothing to apply\n');
    }
  } finally {
    await db.close();
  }
}

main().catch((e) => fail(e.message));
