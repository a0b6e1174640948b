// The `ocr` command line as a user runs it: real processes, a real PostgreSQL and a real embedded server.
import { spawn } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../store/testing';
import { type CliOptions, type CliResult, runOcr } from './cli.test-support';

const isRoot = process.getuid?.() === 0;


const ocr = (args: string[], env: NodeJS.ProcessEnv = {}, options: CliOptions = {}): Promise<CliResult> =>
  runOcr(args, { ...options, env: { OCR_DATABASE_URL: '', ...env } });

/** Under root an embedded database's cluster lives in /var/lib/ops-control-room: a test removes what it made. */
function removeCluster(dataFolder: string): void {
  try {
    const { cluster } = JSON.parse(readFileSync(path.join(dataFolder, 'embedded.json'), 'utf8')) as { cluster: string };
    if (cluster.startsWith('/var/lib/ops-control-room/')) rmSync(cluster, { recursive: true, force: true });
  } catch {
    // nothing recorded
  }
}

const json = (r: CliResult) => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

describe('ocr on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    db = await createTestDatabase('ocr_cli');
    env = { OCR_DATABASE_URL: db.url };
  });
  afterAll(async () => db?.drop());

  it('creates a session and runs, and shows them with the database field names', async () => {
    const { id: sessionId } = json(await ocr(['--json', 'session', 'new', '--title', 'Release prep', '--intent', 'ship it'], env));
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const { id: runId } = json(await ocr(['run', '--session', sessionId.slice(0, 8), '--lane', 'B', '--priority', '5', '--json', '--', 'npm', 'test'], env));
    const status = json(await ocr(['status', '--json'], env));
    expect(status.sessions).toEqual([expect.objectContaining({ id: sessionId, title: 'Release prep', status: 'active' })]);
    expect(status.runs).toEqual([
      {
        id: runId,
        session_id: sessionId,
        lane: 'B',
        intent: 'npm test',
        executor: 'shell',
        status: 'queued',
        priority: 5,
        attempt: 0,
        claimed_by: null,
        created_at: expect.any(String),
        started_at: null,
        finished_at: null,
        exit_code: null,
        error: null,
        retry_of: null,
      },
    ]);
    const text = await ocr(['status'], env);
    expect(text.stdout).toContain('0 running · 1 queued');
    expect(text.stdout).toMatch(new RegExp(`${runId.slice(0, 8)}\\s+Release prep\\s+B\\s+queued\\s+5`));

    const cancel = json(await ocr(['cancel', runId, '--json'], env));
    expect(cancel).toEqual({ id: runId, outcome: 'canceled', status: 'canceled' });
    expect((await ocr(['cancel', runId], env)).stdout).toContain('already finished (canceled)');
    const retry = json(await ocr(['retry', runId, '--json'], env));
    const again = json(await ocr(['status', '--session', sessionId, '--json'], env));
    expect(again.runs.find((r: { id: string }) => r.id === retry.id)).toMatchObject({ status: 'queued', retry_of: runId, intent: 'npm test' });
    const logs = json(await ocr(['logs', runId, '--json'], env));
    expect(logs).toMatchObject({ run: { id: runId, status: 'canceled' }, events: [] });

    const archived = json(await ocr(['session', 'archive', sessionId, '--json'], env));
    expect(archived).toMatchObject({ id: sessionId, status: 'archived' });
    expect(json(await ocr(['session', 'list', '--json'], env)).sessions).toEqual([]);
    expect(json(await ocr(['session', 'list', '--all', '--json'], env)).sessions).toHaveLength(1);
  });

  it('answers bad input with one line that names the problem and the fix, and stores nothing', async () => {
    const { id: sessionId } = json(await ocr(['--json', 'session', 'new', '--title', 'Input checks'], env));
    const cases: Array<[string[], RegExp]> = [
      [['run', '--session', '0b9f0000', '--lane', 'A', '--', 'x'], /^ocr: session 0b9f0000 does not exist \(list sessions with `ocr session list`\)\n$/],
      [['run', '--session', sessionId, '--lane', 'E', '--', 'x'], /^ocr: lane: 'E' is not a lane of session .* \(use one of its lanes: A, B, C, D\)\n$/],
      [['run', '--session', sessionId, '--lane', 'A', '--', '   '], /^ocr: intent: a run needs an intent/],
      [['run', '--session', sessionId, '--lane', 'A', '--priority', 'high', '--', 'x'], /--priority "high": give a whole number/],
      [['session', 'new', '--title', 'x', '--lanes', 'A,,A'], /--lanes "A,,A": give 1 to 26 distinct lane names/],
      [['cancel', 'not-an-id'], /^ocr: run: "not-an-id" is not a run id/],
    ];
    for (const [args, message] of cases) {
      const r = await ocr(args, env);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout).toBe('');
    }
    const unreachable = await ocr(['status'], { OCR_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^ocr: cannot reach the database at postgres:\/\/nobody@127\.0\.0\.1:1\/none.*\(check that it is running/);
    const status = json(await ocr(['status', '--session', sessionId, '--json'], env));
    expect(status.runs).toEqual([]);
  });
});

describe('ocr on the embedded database', () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'ocr-cli-'));
  const data = path.join(folder, 'db');
  afterAll(async () => {
    await ocr(['--db', data, 'db', 'stop']);
    removeCluster(data);
    rmSync(folder, { recursive: true, force: true });
  });

  it('starts one server for two CLI processes that need it at the same moment', async () => {
    const [a, b] = await Promise.all([
      ocr(['--db', data, '--init', '--json', 'session', 'new', '--title', 'first']),
      ocr(['--db', data, '--init', '--json', 'session', 'new', '--title', 'second']),
    ]);
    json(a);
    json(b);
    const list = json(await ocr(['--db', data, '--json', 'session', 'list']));
    expect(list.sessions.map((s: { title: string }) => s.title).sort()).toEqual(['first', 'second']);
    const status = json(await ocr(['--db', data, '--json', 'db', 'status']));
    expect(status).toMatchObject({ running: true, initialised: true });
    // exactly one postmaster serves this data folder
    const ps = await new Promise<string>((resolve) => {
      const p = spawn('ps', ['-eo', 'pid,args'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d));
      p.on('close', () => resolve(out));
    });
    const servers = ps.split('\n').filter((l) => l.includes(`-D ${realpathSync(path.join(data, 'pgdata'))}`) && /\bpostgres\b/.test(l));
    expect(servers).toHaveLength(1);
    expect(servers[0]).toContain(String(status.pid));

    const stop = json(await ocr(['--db', data, '--json', 'db', 'stop']));
    expect(stop.stopped).toBe(true);
    expect(json(await ocr(['--db', data, '--json', 'db', 'status'])).running).toBe(false);
    // the next command starts it again, with the data kept
    expect(json(await ocr(['--db', data, '--json', 'session', 'list'])).sessions).toHaveLength(2);
  });
});

// Finding: `--db http://…` or `--db postgress://…` created and started a database in a folder of that name, and a
// non-numeric port or ?sslmode=require printed a stack trace. Every form here is refused in one line, exit code 1,
// nothing created: not in the working folder, not in the user's data folder.
describe('ocr --db: what it accepts', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-cli-db-'));
  const cwd = path.join(scratch, 'cwd');
  const env = { XDG_DATA_HOME: path.join(scratch, 'data-home') };
  mkdirSync(cwd);
  const aFile = path.join(scratch, 'notes.txt');
  writeFileSync(aFile, 'not a database');
  const notEmpty = path.join(scratch, 'project');
  mkdirSync(notEmpty);
  writeFileSync(path.join(notEmpty, 'README.md'), 'mine');
  const created: string[] = [];
  afterAll(async () => {
    for (const data of created) {
      await ocr(['--db', data, 'db', 'stop'], env);
      removeCluster(data);
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  const accepted = /give a postgres:\/\/ or postgresql:\/\/ URL \(postgres:\/\/user:password@host:5432\/dbname\)|for example postgres:\/\/user:password@host:5432\/dbname|add its name after the host/;
  // prettier-ignore
  const refused: Array<[string, string[], RegExp]> = [
    ['an http URL', ['--db', 'http://example.com/db', 'status'], /^ocr: --db "http:\/\/example\.com\/db" is neither a PostgreSQL URL nor a folder \(/],
    ['a misspelt scheme', ['--db', 'postgress://h/db', 'session', 'list'], /^ocr: --db "postgress:\/\/h\/db" is neither a PostgreSQL URL nor a folder \(/],
    ['a port that is not a number', ['--db', 'postgres://h:abc/db', 'status'], /^ocr: --db "postgres:\/\/h:abc\/db": the port "abc" is not a number from 1 to 65535 \(/],
    ['a password in a bad URL stays hidden', ['--db', 'postgres://me:hunter2@h:99999/db', 'status'], /^ocr: --db "postgres:\/\/me:\*\*\*@h:99999\/db": the port 99999 is not a number from 1 to 65535 \(/],
    ['no database name', ['--db', 'postgres://h:5432', 'status'], /^ocr: --db "postgres:\/\/h:5432" names no database \(/],
    ['a file', ['--db', aFile, 'status'], /^ocr: --db ".*notes\.txt" is a file, not a folder \(/],
    ['a folder with other things in it', ['--db', notEmpty, '--init', 'status'], /^ocr: --db ".*project" is a folder without an embedded database, and not empty \(/],
    ['a new folder without --init', ['--db', 'fresh', 'session', 'list'], /^ocr: --db "fresh": there is no embedded database in that folder \(add --init to create one there, or /],
    ['a new folder in OCR_DATABASE_URL without --init', ['status'], /^ocr: OCR_DATABASE_URL "fresh": there is no embedded database in that folder \(add --init/],
    ['db start in a new folder without --init', ['--db', 'fresh', 'db', 'start'], /^ocr: --db "fresh": there is no embedded database in that folder/],
    ['db status of a URL of the wrong kind', ['--db', 'http://example.com/db', 'db', 'status'], /^ocr: --db "http:\/\/example\.com\/db" is neither/],
  ];

  it.each(refused)('%s: one line, exit 1, nothing created', async (name, args, message) => {
    const r = await ocr(args, { ...env, ...(name.includes('OCR_DATABASE_URL') ? { OCR_DATABASE_URL: 'fresh' } : {}) }, { cwd });
    expect(r.stderr, name).toMatch(message);
    expect(r.stderr, name).toMatch(/^ocr: [^\n]*\n$/);
    expect(r.stderr, name).toMatch(accepted);
    expect(r.stderr, name).not.toMatch(/hunter2|\n\s+at /);
    expect(r.code, name).toBe(1);
    expect(r.stdout, name).toBe('');
    expect(readdirSync(cwd), 'nothing in the working folder').toEqual([]);
    expect(existsSync(env.XDG_DATA_HOME), 'no default data folder').toBe(false);
    expect(readdirSync(notEmpty)).toEqual(['README.md']);
  });

  it('takes sslmode=require, and answers a server without SSL in one line', async () => {
    const db = await createTestDatabase('ocr_cli_ssl');
    try {
      const url = new URL(db.url);
      url.searchParams.set('sslmode', 'require');
      const r = await ocr(['--db', url.toString(), 'status'], env, { cwd });
      // a server without SSL (or with a certificate node-postgres does not trust) is one line; one with SSL answers
      if (r.code !== 0) {
        expect(r.stderr).toMatch(/^ocr: cannot (use|reach) the database at postgres:\/\/[^\n]*sslmode=require: [^\n]+ \(check that it is running[^\n]*\)\n$/);
        expect(r.code).toBe(1);
      } else {
        expect(r.stderr).toBe('');
      }
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('creates an embedded database in a new folder with --init, and only there; status and stop create nothing', async () => {
    const fresh = path.join(scratch, 'fresh-db');
    const status = json(await ocr(['--db', fresh, '--json', 'db', 'status'], env, { cwd }));
    expect(status).toMatchObject({ running: false, initialised: false });
    expect(existsSync(fresh)).toBe(false);
    expect(json(await ocr(['--db', fresh, '--json', 'db', 'stop'], env, { cwd }))).toMatchObject({ stopped: false });
    expect(existsSync(fresh)).toBe(false);

    created.push(fresh);
    const started = json(await ocr(['--db', fresh, '--json', 'db', 'start', '--init'], env, { cwd }));
    expect(started).toMatchObject({ started: true, running: true, initialised: true });
    expect(started.port).toBeUndefined();
    expect(started.socket).toMatch(/\.s\.PGSQL\.\d+$/);
    // from now on it is an embedded data folder: no --init needed
    const session = json(await ocr(['--db', fresh, '--json', 'session', 'new', '--title', 'in the new folder'], env, { cwd }));
    expect(session.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await ocr(['--db', fresh, 'db', 'status'], env, { cwd })).stdout).toMatch(/^running on unix socket \/.*\.s\.PGSQL\.\d+ \(pid \d+\), data in /);
    expect(readdirSync(cwd)).toEqual([]);
  });

  // Not root, with a data folder whose socket path would be too long: the socket goes to a short private folder.
  it.skipIf(!isRoot)('as another user, a data folder too deep for a socket path gets a short private socket folder', async () => {
    const home = path.join(scratch, 'nobody');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, 65534, 65534);
    // scratch is root's and private: the other user reaches its home through a folder of its own under the temp folder
    const base = mkdtempSync(path.join(os.tmpdir(), 'ocr-cli-other-'));
    chownSync(base, 65534, 65534);
    const deep = path.join(base, 'a-folder-with-a-long-name-'.repeat(3), 'db');
    expect(Buffer.byteLength(path.join(deep, 'run', '.s.PGSQL.5432'))).toBeGreaterThan(100);
    const as = { uid: 65534, gid: 65534, cwd: base };
    const otherEnv = { HOME: home, XDG_DATA_HOME: path.join(home, 'data') };
    try {
      const made = await ocr(['--db', deep, '--init', '--json', 'session', 'new', '--title', 'deep'], otherEnv, as);
      expect(made.stderr).toBe('');
      expect(made.code).toBe(0);
      const layout = JSON.parse(readFileSync(path.join(deep, 'embedded.json'), 'utf8')) as { cluster: string; socketDir: string };
      expect(layout.cluster).toBe(deep);
      expect(path.dirname(layout.socketDir)).toBe(realpathSync(os.tmpdir()));
      const socketDir = lstatSync(layout.socketDir);
      expect({ uid: socketDir.uid, mode: socketDir.mode & 0o777, dir: socketDir.isDirectory() }).toEqual({ uid: 65534, mode: 0o700, dir: true });
      const info = JSON.parse(readFileSync(path.join(deep, 'server.json'), 'utf8')) as { socket: string; port?: number };
      expect(path.dirname(info.socket)).toBe(layout.socketDir);
      expect(info.port).toBeUndefined();
      const list = await ocr(['--db', deep, '--json', 'session', 'list'], otherEnv, as);
      expect(JSON.parse(list.stdout).sessions.map((s: { title: string }) => s.title)).toEqual(['deep']);
      expect(json(await ocr(['--db', deep, '--json', 'db', 'stop'], otherEnv, as)).stopped).toBe(true);
      rmSync(layout.socketDir, { recursive: true, force: true });
    } finally {
      await ocr(['--db', deep, 'db', 'stop'], otherEnv, as);
      rmSync(base, { recursive: true, force: true });
    }
  });
});
