// The `ocr` command line as a user runs it: real processes, a real PostgreSQL and a real embedded server.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../store/testing';

const ocrJs = path.resolve('dist/ocr.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function ocr(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ocrJs, ...args], { env: { ...process.env, OCR_DATABASE_URL: '', ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Under root an embedded database's cluster lives in /var/lib/ops-control-room: a test removes what it made. */
function removeCluster(dataFolder: string): void {
  try {
    const { cluster } = JSON.parse(readFileSync(path.join(dataFolder, 'embedded.json'), 'utf8')) as { cluster: string };
    if (cluster.startsWith('/var/lib/ops-control-room/')) rmSync(cluster, { recursive: true, force: true });
  } catch {
    // nothing recorded
  }
}

const json = (r: Result) => {
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
      ocr(['--db', data, '--json', 'session', 'new', '--title', 'first']),
      ocr(['--db', data, '--json', 'session', 'new', '--title', 'second']),
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
