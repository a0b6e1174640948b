// Test support: Debian's PgBouncer in front of the machine's PostgreSQL, on a free loopback port, in transaction or
// session mode, trusting every client as the local server does. It refuses to run as root, so under root it runs as
// the postgres user (`-u postgres`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { testServerUrl } from './testing';

export interface PgBouncer {
  port: number;
  poolMode: 'transaction' | 'session';
  /** the URL of `database` through this PgBouncer, as user postgres */
  url(database: string): string;
  /** what PgBouncer's admin console shows: SHOW CLIENTS, SHOW SERVERS … (rows of the simple query) */
  show(what: 'clients' | 'servers' | 'pools'): Promise<Array<Record<string, unknown>>>;
  /** what it wrote to stderr so far */
  output(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  poolMode: 'transaction' | 'session';
  /** server connections per database and user (PgBouncer's default_pool_size) */
  poolSize: number;
}

/** The pgbouncer program: on PATH, or where Debian puts it (/usr/sbin, often not on a user's PATH). */
export function findPgBouncer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs.filter(Boolean)) {
    const file = path.join(dir, 'pgbouncer');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const program = findPgBouncer();
  if (!program) throw new Error('pgbouncer is not installed: `apt-get install -y pgbouncer` (npm test installs it when run as root on Debian)');
  const server = new URL(testServerUrl());
  const root = process.getuid?.() === 0;
  if (root && spawnSync('id', ['-u', 'postgres']).status !== 0) throw new Error('pgbouncer refuses to run as root, and there is no postgres user to run it as');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-pgbouncer-'));
  chmodSync(dir, 0o755);
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    chmodSync(path.join(dir, name), 0o644);
    return path.join(dir, name);
  };
  const users = file('users.txt', '"postgres" ""\n');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const ini = file(
      'pgbouncer.ini',
      [
        '[databases]',
        `* = host=${server.hostname} port=${server.port || 5432}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${users}`,
        'admin_users = postgres',
        `pool_mode = ${options.poolMode}`,
        `default_pool_size = ${options.poolSize}`,
        'max_client_conn = 500',
        'server_check_delay = 0',
        'log_connections = 0',
        'log_disconnections = 0',
        '',
      ].join('\n'),
    );
    const child = spawn(program, root ? ['-u', 'postgres', ini] : [ini], { stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const up = await listening(child, port, () => output);
    if (up === 'address in use' && attempt < 5) continue;
    if (up !== 'up') {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start (${up}):\n${output}`);
    }
    const bouncer: PgBouncer = {
      port,
      poolMode: options.poolMode,
      url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
      async show(what) {
        const admin = new pg.Client({ connectionString: bouncer.url('pgbouncer') });
        await admin.connect();
        try {
          return (await admin.query(`show ${what}`)).rows as Array<Record<string, unknown>>;
        } finally {
          await admin.end();
        }
      },
      output: () => output,
      async stop() {
        await stopChild(child);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return bouncer;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** 'up' once the port answers; why not otherwise. */
async function listening(child: ChildProcess, port: number, output: () => string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      return /Address already in use/i.test(output()) ? 'address in use' : `it exited with ${child.exitCode ?? child.signalCode}`;
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return 'up';
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  return 'its port did not open within 10 s';
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
