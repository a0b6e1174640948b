// Where a phase's queue lives, and how the suite restarts it: a fresh database on the machine's PostgreSQL (restarted
// with pg_ctlcluster), or an embedded database in a temporary data folder (stopped hard; the workers' stores start it
// again, as any client of the embedded database does when its server is gone). The suite's own connections never
// start a server: they wait for it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EmbeddedDatabase } from '../../worker/store/embedded';
import { openStore } from '../../worker/store/open';
import { PostgresStore } from '../../worker/store/postgres';
import { createTestDatabase, testServerUrl } from '../../worker/store/testing';
import { onCleanup, run, runSync } from './cleanup';
import { ocrJs } from './ocr';

export interface Restart {
  /** when the server went away, and when it answered again (ms since the epoch) */
  downAt: number;
  upAt: number;
  how: string;
  /** who brought it back */
  by: string;
}

export interface Target {
  describe: string;
  /** --db for a worker on the host */
  workerDb: string;
  /** the machine's server, for the proxy to the namespace */
  tcp?: { host: string; port: number; database: string; user: string };
  /** the suite's store: sessions and runs are queued through it */
  store: PostgresStore;
  /** a new connection for the suite's own queries; it starts nothing */
  connect(): Promise<pg.Client>;
  restart(log: (line: string) => void, whoStartedIt: () => string | undefined): Promise<Restart>;
  dispose(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A database of its own on the machine's PostgreSQL (OCR_TEST_DATABASE_URL), dropped at the end. */
export async function machineTarget(): Promise<Target> {
  const db = await createTestDatabase('ocr_chaos');
  const admin = testServerUrl();
  const drop = onCleanup(`database ${db.name}`, () => db.drop(), () => runSync('psql', [admin, '-qc', `drop database if exists ${db.name} with (force)`]));
  const store = await openStore(db.url);
  const url = new URL(db.url);
  const cluster = await clusterOf(Number(url.port || 5432));
  const connect = async () => {
    const c = new pg.Client({ connectionString: db.url, connectionTimeoutMillis: 3000 });
    await c.connect();
    return c;
  };
  return {
    describe: `database ${db.name} on the machine's PostgreSQL ${cluster.version} (${url.host})`,
    workerDb: db.url,
    tcp: { host: url.hostname, port: Number(url.port || 5432), database: db.name, user: decodeURIComponent(url.username || 'postgres') },
    store,
    connect,
    async restart(log) {
      const downAt = Date.now();
      log(`restarting the machine's PostgreSQL: pg_ctlcluster --skip-systemctl-redirect ${cluster.version} ${cluster.name} restart`);
      await run('pg_ctlcluster', ['--skip-systemctl-redirect', cluster.version, cluster.name, 'restart'], { timeoutMs: 120_000 });
      const upAt = await answers(connect);
      return { downAt, upAt, how: `pg_ctlcluster ${cluster.version} ${cluster.name} restart (fast shutdown, then start)`, by: 'pg_ctlcluster' };
    },
    async dispose() {
      await store.close().catch(() => undefined);
      await drop();
    },
  };
}

/** The cluster (version, name) that listens on `port`, from pg_lsclusters. */
async function clusterOf(port: number): Promise<{ version: string; name: string }> {
  const out = await run('pg_lsclusters', ['-h']).catch((e: Error) => {
    throw new Error(`the machine's PostgreSQL is restarted with pg_ctlcluster, which is not here: ${e.message}`);
  });
  for (const line of out.split('\n')) {
    const [version, name, p, status] = line.trim().split(/\s+/);
    if (version && name && Number(p) === port && status === 'online') return { version, name };
  }
  throw new Error(`no online PostgreSQL cluster listens on port ${port} (pg_lsclusters)`);
}

/** Resolves with the time a new connection first answers. */
async function answers(connect: () => Promise<pg.Client>, limitMs = 120_000): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    try {
      const c = await connect();
      await c.query('select 1');
      await c.end();
      return Date.now();
    } catch {
      if (Date.now() > deadline) throw new Error(`the database did not answer within ${limitMs / 1000} s`);
      await sleep(100);
    }
  }
}

/**
 * An embedded database in a new temporary data folder, started with `ocr --init db start`. At the end it is stopped
 * with `ocr db stop` and its folders removed: the data folder, and under root the cluster in /var/lib/ops-control-room.
 */
export async function embeddedTarget(log: (line: string) => void): Promise<Target> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ocr-chaos-db-'));
  const dataFolder = path.join(tmp, 'db');
  const embedded = new EmbeddedDatabase(dataFolder);
  let cluster: string | undefined;
  let postmaster: number | undefined;
  const removeFolders = () => {
    rmSync(tmp, { recursive: true, force: true });
    // only a cluster the embedded database made for this data folder, in its own place under root
    if (cluster && cluster.startsWith('/var/lib/ops-control-room/') && !cluster.startsWith(tmp)) rmSync(cluster, { recursive: true, force: true });
  };
  const remove = onCleanup(
    `embedded database in ${dataFolder}`,
    async () => {
      await run(process.execPath, [ocrJs(), '--db', dataFolder, 'db', 'stop'], { timeoutMs: 90_000 }).catch((e: Error) => {
        log(`ocr db stop: ${e.message}`);
        if (postmaster) runSync('kill', ['-QUIT', String(postmaster)]);
      });
      removeFolders();
    },
    () => {
      if (postmaster) runSync('kill', ['-QUIT', String(postmaster)]);
      try {
        execFileSync('sleep', ['1']);
      } catch {
        // best effort
      }
      removeFolders();
    },
  );
  await run(process.execPath, [ocrJs(), '--db', dataFolder, '--init', 'db', 'start'], { timeoutMs: 180_000 });
  const first = await embedded.status();
  cluster = first.cluster ? realpathOrSelf(first.cluster) : undefined;
  postmaster = first.pid;
  // migrated through the same path the CLI takes; then the suite's own store, which never starts the server
  const setup = await openStore(dataFolder);
  await setup.close();
  const store = new PostgresStore({ connection: await embedded.connection(), kind: 'embedded', description: `embedded database in ${dataFolder}` });
  const connect = async () => {
    const where = await embedded.connection();
    const c = new pg.Client({ ...where, connectionTimeoutMillis: 3000 });
    await c.connect();
    return c;
  };
  return {
    describe: `embedded PostgreSQL in a temporary data folder (unix socket ${first.socket ?? '?'})`,
    workerDb: dataFolder,
    store,
    connect,
    async restart(say, whoStartedIt) {
      const before = await embedded.status();
      if (!before.running || !before.pid) throw new Error('the embedded database is not running before its restart');
      // what `pg_ctl stop -m immediate` sends: the postmaster and its backends quit at once, without a checkpoint
      say(`stopping the embedded database hard: SIGQUIT to its postmaster (pid ${before.pid})`);
      const downAt = Date.now();
      process.kill(before.pid, 'SIGQUIT');
      while (alive(before.pid)) await sleep(20);
      // the workers' stores notice on their next connection and start it again; the suite only watches
      const deadline = Date.now() + 60_000;
      let by: string | undefined;
      let upAt = 0;
      for (;;) {
        const now = await embedded.status().catch(() => undefined);
        if (now?.running && now.pid && now.pid !== before.pid) {
          postmaster = now.pid;
          upAt = Date.now();
          // the worker that started it says so once its start returns
          for (let i = 0; i < 100 && !whoStartedIt(); i++) await sleep(50);
          by = whoStartedIt() ?? 'a client (no worker said so)';
          break;
        }
        if (Date.now() > deadline) {
          say('the embedded database was not started again within 60 s by the workers; starting it with `ocr db start`');
          await run(process.execPath, [ocrJs(), '--db', dataFolder, 'db', 'start'], { timeoutMs: 120_000 });
          postmaster = (await embedded.status()).pid;
          by = 'the suite (`ocr db start`), after 60 s without the workers';
          upAt = Date.now();
          break;
        }
        await sleep(50);
      }
      return { downAt, upAt, how: `SIGQUIT to the postmaster (immediate shutdown, crash recovery at the next start)`, by };
    },
    async dispose() {
      await store.close().catch(() => undefined);
      await remove();
    },
  };
}

/** Alive and not a zombie (whoever reaps it may take its time). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function realpathOrSelf(p: string): string {
  try {
    return existsSync(p) ? realpathSync(p) : p;
  } catch {
    return p;
  }
}
