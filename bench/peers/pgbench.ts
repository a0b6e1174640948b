// The physical reference: what this PostgreSQL does with the simplest write transaction a queue needs, a one-row
// UPDATE, from as many clients as the workers run jobs at once. Claims per second read as a fraction of it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { createTestDatabase } from '../../worker/store/testing';
import type { Config } from './config';
import type { Result } from './scenarios';

const run = promisify(execFile);
const ROWS = 100_000;

export async function pgbenchVersion(): Promise<string | null> {
  try {
    const { stdout } = await run('pgbench', ['--version']);
    return /(\d+(\.\d+)+)/.exec(stdout)?.[1] ?? stdout.trim();
  } catch {
    return null;
  }
}

export async function pgbench(cfg: Config): Promise<Result> {
  const version = await pgbenchVersion();
  const clients = cfg.workers * cfg.concurrency;
  const result: Result = {
    scenario: 'pgbench',
    system: 'pgbench',
    version: version ?? 'not installed',
    node: null,
    profile: null,
    runs_per_sec: null,
    overlaps: null,
    p50_ms: null,
    p95_ms: null,
    p99_ms: null,
    lost: null,
    twice: null,
    note: null,
  };
  if (!version) {
    result.note = 'pgbench is not installed (it comes with the PostgreSQL client tools)';
    return result;
  }
  const db = await createTestDatabase('ocr_peers');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ocr-pgbench-'));
  try {
    const c = new pg.Client({ connectionString: db.url });
    c.on('error', () => undefined); // dropping the database ends this connection if it is still open
    await c.connect();
    try {
      await c.query(`create table counters (id integer primary key, n bigint not null default 0);
                     insert into counters (id) select generate_series(1, ${ROWS})`);
      await c.query('vacuum analyze counters');
    } finally {
      await c.end();
    }
    const script = path.join(dir, 'update.sql');
    await writeFile(script, `\\set id random(1, ${ROWS})\nupdate counters set n = n + 1 where id = :id;\n`);
    const u = new URL(db.url);
    const args = [
      '-n', '-f', script, '-M', 'prepared',
      '-c', String(clients), '-j', String(Math.min(clients, os.cpus().length)), '-T', String(cfg.pgbenchSeconds),
      '-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'), db.name,
    ];
    const env = { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) };
    const { stdout } = await run('pgbench', args, { env, timeout: (cfg.pgbenchSeconds + 60) * 1000 });
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout) ?? /tps = ([\d.]+)/.exec(stdout);
    const lat = /latency average = ([\d.]+) ms/.exec(stdout);
    result.runs_per_sec = tps ? Math.round(Number(tps[1])) : null;
    result.note = `one-row UPDATE per transaction, ${clients} clients, ${cfg.pgbenchSeconds} s${lat ? `, latency average ${lat[1]} ms` : ''}`;
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await db.drop();
  }
}
