// `ocr runs` as a user runs it (the built bundle, a real PostgreSQL): the run history of two sessions as a table, as one
// JSON array and as a Markdown table, narrowed by each flag.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run, Session } from '../../domain';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { type CliResult, refused, runOcr } from './cli.test-support';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let web: Session;
let api: Session;
const runs: Record<string, Run> = {};

const ocr = (...args: string[]): Promise<CliResult> => runOcr(['runs', ...args], { env: { OCR_DATABASE_URL: db.url } });
const json = (r: CliResult): Array<Record<string, unknown>> => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Array<Record<string, unknown>>;
};
const intents = (r: CliResult) => json(r).map((row) => row.intent);

async function finish(run: Run, status: 'succeeded' | 'failed' | 'canceled', error?: string): Promise<void> {
  const worker = `cli-runs-${randomBytes(3).toString('hex')}`;
  await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 1, labels: {}, version: 'test' });
  const [claimed] = await store.claimRuns(worker, 1, { sessions: [run.session_id], lanes: [run.lane] });
  expect(claimed?.id).toBe(run.id);
  await store.finishAndClaim(worker, [{ runId: run.id, attempt: claimed!.attempt, status, exitCode: status === 'succeeded' ? 0 : 1, error }], 0);
}

beforeAll(async () => {
  db = await createTestDatabase('ocr_cli_runs');
  store = (await openStore(db.url)) as PostgresStore;
  web = await store.createSession({ title: 'Web app', lanes: ['A', 'B'] });
  api = await store.createSession({ title: 'API | v2', lanes: ['A', 'B'] });
  runs.old = await store.createRun({ session_id: web.id, lane: 'A', intent: 'npm run build' });
  runs.test = await store.createRun({ session_id: web.id, lane: 'B', intent: 'npm test' });
  runs.migrate = await store.createRun({ session_id: api.id, lane: 'A', intent: 'psql -f migrate.sql | tee out' });
  runs.queued = await store.createRun({ session_id: api.id, lane: 'B', intent: 'echo waiting' });
  await finish(runs.old, 'succeeded');
  await finish(runs.test, 'failed', 'exit code 1');
  await finish(runs.migrate, 'canceled');
  // the first run was made ten days ago: what --since and --until tell apart
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query(`update ops.runs set created_at = now() - interval '10 days' where id = $1`, [runs.old.id]);
  // and the runs took 5 s, 30 s and 60 s: what --sort duration orders
  for (const [run, seconds] of [[runs.old, 5], [runs.test, 30], [runs.migrate, 60]] as const) {
    await admin.query(`update ops.runs set finished_at = started_at + make_interval(secs => $2) where id = $1`, [run.id, seconds]);
  }
  await admin.end();
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

describe('ocr runs', () => {
  it('lists the runs of every session newest first, as a table', async () => {
    const r = await ocr();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUN\s+SESSION\s+LANE\s+STATUS\s+EXECUTOR\s+CREATED\s+TIME\s+INTENT$/);
    expect(lines.slice(1).map((l) => l.slice(0, 8))).toEqual(['queued', 'migrate', 'test', 'old'].map((k) => runs[k]!.id.replace(/-/g, '').slice(0, 8)));
    expect(lines[3]).toMatch(/Web app\s+B\s+failed\s+shell\s+.* ago\s+.*npm test\s+\[exit code 1\]$/);
  });

  it('gives one JSON array with --json, with the session title, the runbook and the duration', async () => {
    const rows = json(await runOcr(['--json', 'runs'], { env: { OCR_DATABASE_URL: db.url } }));
    expect(rows.map((row) => row.id)).toEqual([runs.queued!.id, runs.migrate!.id, runs.test!.id, runs.old!.id]);
    expect(rows[2]).toMatchObject({ session_id: web.id, session_title: 'Web app', lane: 'B', status: 'failed', executor: 'shell', error: 'exit code 1', runbook: null });
    expect(rows[2]!.duration_ms).toEqual(expect.any(Number));
    expect(rows[0]!.duration_ms).toBeNull();
  });

  it.each<[string, string[], string[]]>([
    ['several statuses', ['--status', 'failed,canceled'], ['psql -f migrate.sql | tee out', 'npm test']],
    ['a status in capitals, with spaces', ['--status', ' Queued '], ['echo waiting']],
    ['a lane', ['--lane', 'B'], ['echo waiting', 'npm test']],
    ['a session by the first characters of its id', ['--session', 'SESSION'], ['echo waiting', 'psql -f migrate.sql | tee out']],
    ['an executor', ['--executor', 'shell', '--lane', 'A'], ['psql -f migrate.sql | tee out', 'npm run build']],
    ['a runbook that never ran', ['--runbook', 'deploy'], []],
    ['since a week ago', ['--since', '7d'], ['echo waiting', 'psql -f migrate.sql | tee out', 'npm test']],
    ['until a week ago', ['--until', '7d'], ['npm run build']],
    ['text of the intent, any case', ['--search', 'NPM'], ['npm test', 'npm run build']],
    ['the longest first, then the runs without a duration', ['--sort', 'duration'], ['psql -f migrate.sql | tee out', 'npm test', 'npm run build', 'echo waiting']],
    ['status: what needs someone first', ['--sort', 'status'], ['echo waiting', 'npm test', 'psql -f migrate.sql | tee out', 'npm run build']],
    ['at most one', ['--limit', '1'], ['echo waiting']],
  ])('narrows or orders by %s', async (_name, args, expected) => {
    const given = args.map((a) => (a === 'SESSION' ? api.id.slice(0, 8) : a));
    expect(intents(await runOcr(['--json', 'runs', ...given], { env: { OCR_DATABASE_URL: db.url } }))).toEqual(expected);
  });

  it('finds a run by the first characters of its id', async () => {
    expect(intents(await runOcr(['--json', 'runs', '--search', runs.test!.id.slice(0, 8)], { env: { OCR_DATABASE_URL: db.url } }))).toEqual(['npm test']);
  });

  it('prints a Markdown table with --md, pipes escaped', async () => {
    const r = await ocr('--md', '--status', 'canceled');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      '| Run | Session | Lane | Status | Executor | Created | Duration | Intent |\n|---|---|---|---|---|---|---|---|\n' +
        `| \`${runs.migrate!.id.replace(/-/g, '').slice(0, 8)}\` | API \\| v2 | A | canceled | shell | ${(await store.getRun(runs.migrate!.id)).created_at} | 1 min 00 s | psql -f migrate.sql \\| tee out |\n`,
    );
  });

  it('says so when no run matches, and that more runs are left out', async () => {
    const none = await ocr('--search', 'nothing like this');
    expect(none.stdout).toBe('no runs match\n');
    const some = await ocr('--limit', '2');
    expect(some.stdout).toMatch(/\n… and more: --limit 4 shows more\n$/);
  });

  it('refuses --md with --json in one line', async () => {
    refused(await runOcr(['--json', 'runs', '--md'], { env: { OCR_DATABASE_URL: db.url } }), /^ocr: --md and --json: give one of them/);
  });
});
