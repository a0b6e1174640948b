// The example runbooks (examples/runbooks, copied by `ocr runbook init`) as a user gets them: each one validates, and
// each one runs for real through a real Worker, in a lane's worktree of a fresh Node project, against a real HTTP
// server and real PostgreSQL databases.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type Run, type Session } from '../../domain';
import { describeRepo } from '../engine/repo';
import { eventually, tempDir } from '../engine/git.test-support';
import { Worker } from '../engine/worker';
import { queueRunbookRun } from '../runs/queue-runbook-run';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { type RunbookFile, readRunbooks } from './files';
import { examplesRoot, makeFixtureProject } from './fixture-project.test-support';
import { SecretBox } from './secrets';

type Db = Awaited<ReturnType<typeof createTestDatabase>>;

let queueDb: Db;
let store: PostgresStore;
let worker: Worker;
let server: Server;
let base: string;
let project: string;
let broken: string;
let session: Session;
let brokenSession: Session;
const targets: Db[] = [];
const dir = tempDir('ocr-examples-');
const keyFile = path.join(dir.path, 'secret.key');
const secrets = () => SecretBox.fromFile(keyFile, { create: true });

async function newSession(repo: string, title: string): Promise<Session> {
  const d = await describeRepo(repo);
  return store.createSession({ title, lanes: ['A', 'B', 'C', 'D', 'E', 'F', 'G'], repo_id: d.repoId, repo_path: d.repoPath, base_ref: d.baseRef });
}

beforeAll(async () => {
  queueDb = await createTestDatabase('ocr_examples');
  store = await openStore(queueDb.url);
  project = await makeFixtureProject(path.join(dir.path, 'project'));
  broken = await makeFixtureProject(path.join(dir.path, 'broken'), {
    // a good statement first: the dry run must not leave it applied either
    'supabase/migrations/20240103000000_add_comments.sql': 'create table comments (id bigint primary key);\ncreate tabel oops (id int);\n',
  });
  session = await newSession(project, 'examples');
  brokenSession = await newSession(broken, 'broken migration');
  server = createServer((req, res) => {
    res.statusCode = req.url === '/health' ? 200 : req.url === '/broken' ? 500 : 404;
    res.end(String(res.statusCode));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // where sql-migrate.mjs finds `pg` when it is told to use it (the fixture project has no node_modules)
  process.env.NODE_PATH = path.resolve('node_modules');
  worker = new Worker(store, {
    worktreeRoot: path.join(dir.path, 'worktrees'),
    sessions: [session.id, brokenSession.id],
    concurrency: 3,
    pollMs: 200,
    recoverMs: 200,
    secretKeyFile: keyFile,
    passEnv: ['NODE_PATH'],
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop({ graceMs: 0 });
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await store?.close();
  await Promise.all(targets.map((t) => t.drop()));
  await queueDb?.drop();
  dir.remove();
});

async function example(name: string, repo = project): Promise<RunbookFile> {
  const set = await readRunbooks(repo);
  const file = set.runbooks.find((r) => r.runbook.name === name);
  if (!file) throw new Error(`no runbook ${name} in ${repo}`);
  return file;
}

async function finished(runId: string, limitMs = 60_000): Promise<Run> {
  let run = await store.getRun(runId);
  await eventually(async () => isFinal((run = await store.getRun(runId)).status), `run ${runId} finished`, limitMs);
  return run;
}

async function stdout(runId: string, step?: string): Promise<string[]> {
  const events = await store.listEvents(runId, 0, 100_000);
  return events.filter((e) => e.stream === 'stdout' && (step === undefined || e.step === step)).map((e) => e.text);
}

async function targetDb(): Promise<Db> {
  const db = await createTestDatabase('ocr_examples_target');
  targets.push(db);
  return db;
}

async function query<T extends pg.QueryResultRow>(db: Db, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const tables = async (db: Db): Promise<string[]> =>
  (await query<{ t: string }>(db, `select table_schema || '.' || table_name as t from information_schema.tables where table_schema in ('public', 'supabase_migrations') order by 1`)).map((r) => r.t);

describe('the example runbooks', () => {
  it('are every file of examples/runbooks, and each validates', async () => {
    const set = await readRunbooks(examplesRoot);
    expect(set.problems).toEqual([]);
    expect(set.runbooks.map((r) => r.runbook.name).sort()).toEqual(['db-migrate', 'healthcheck', 'supabase-migration-run', 'test-and-lint', 'vercel-env-fix']);
    const copied = await readRunbooks(project);
    expect(copied.problems).toEqual([]);
    expect(copied.runbooks.map((r) => r.sha256).sort()).toEqual(set.runbooks.map((r) => r.sha256).sort());
  });

  it('healthcheck: passes when every URL answers as expected, and fails naming the one that does not', async () => {
    const file = await example('healthcheck');
    const good = await queueRunbookRun(store, file, { session_id: session.id, lane: 'A', inputs: { urls: `${base}/health=200` } }, secrets);
    const bad = await queueRunbookRun(store, file, { session_id: session.id, lane: 'B', inputs: { urls: `${base}/health=200,${base}/broken=200`, timeout: 5 } }, secrets);
    expect(await finished(good.id)).toMatchObject({ status: 'succeeded' });
    expect(await stdout(good.id, 'check')).toEqual([expect.stringMatching(new RegExp(`^ok   200 ${base}/health \\d+ ms$`)), 'all 1 URL(s) answered as expected']);
    const report = (await store.listArtifacts(good.id)).find((a) => a.kind === 'file' && a.name === 'healthcheck.txt');
    expect(report?.content).toContain(`200 ${base}/health`);

    expect(await finished(bad.id)).toMatchObject({ status: 'failed', error: 'step check exited 1' });
    const lines = await stdout(bad.id, 'check');
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^FAIL 500 ${base}/broken \\(expected 200\\)`)));
    expect(lines).toContainEqual(`1 of 2 URL(s) did not answer as expected: ${base}/broken`);
  });

  it('test-and-lint: installs when needed, then npm test and npm run lint succeed', async () => {
    const run = await queueRunbookRun(store, await example('test-and-lint'), { session_id: session.id, lane: 'C' }, secrets);
    expect(await finished(run.id, 120_000)).toMatchObject({ status: 'succeeded' });
    expect((await store.listSteps(run.id)).map((s) => [s.step_id, s.status])).toEqual([
      ['install', 'succeeded'],
      ['test', 'succeeded'],
      ['lint', 'succeeded'],
    ]);
    expect(await stdout(run.id, 'test')).toContain('tests passed');
    expect(await stdout(run.id, 'lint')).toContain('lint: no problems');
  });

  it('db-migrate: on dev applies the folder and records it; on prod it waits for an approval after the dry run', async () => {
    const file = await example('db-migrate');
    const dev = await targetDb();
    const prod = await targetDb();
    const inputs = (db: Db, env: string) => ({ env, database_url: db.url, folder: 'supabase/migrations' });
    const onDev = await queueRunbookRun(store, file, { session_id: session.id, lane: 'D', inputs: inputs(dev, 'dev') }, secrets);
    const onProd = await queueRunbookRun(store, file, { session_id: session.id, lane: 'E', inputs: inputs(prod, 'prod') }, secrets);
    expect(onProd.spec).toMatchObject({ env: 'prod', inputs: { database_url: { sealed: expect.any(String) } } });

    expect(await finished(onDev.id)).toMatchObject({ status: 'succeeded' });
    expect((await store.listSteps(onDev.id)).map((s) => [s.step_id, s.status])).toEqual([
      ['check', 'succeeded'],
      ['approve', 'skipped'],
      ['apply', 'succeeded'],
    ]);
    expect(await tables(dev)).toEqual(['public.ocr_schema_migrations', 'public.posts', 'public.users']);
    expect((await query<{ name: string }>(dev, 'select name from ocr_schema_migrations order by name')).map((r) => r.name)).toEqual([
      '20240101000000_create_users.sql',
      '20240102000000_create_posts.sql',
    ]);
    expect((await store.listArtifacts(onDev.id)).find((a) => a.name === 'applied.txt')?.content).toMatch(/^20240101000000_create_users\.sql [0-9a-f]{64}\n20240102000000_create_posts\.sql [0-9a-f]{64}\n$/);
    const events = await store.listEvents(onDev.id, 0, 100_000);
    expect(events.some((e) => e.text.includes(dev.url))).toBe(false);

    await eventually(async () => (await store.getRun(onProd.id)).status === 'waiting', 'the prod run waits at its gate', 60_000);
    expect(await store.getRun(onProd.id)).toMatchObject({ approval: { step_id: 'approve', message: expect.stringContaining('supabase/migrations to prod') } });
    expect(await stdout(onProd.id, 'check')).toContain('dry run: the 2 file(s) ran in one transaction, rolled back');
    expect(await tables(prod)).toEqual([]);
    await store.approveRun(onProd.id, 'reviewed');
    expect(await finished(onProd.id)).toMatchObject({ status: 'succeeded' });
    expect(await tables(prod)).toEqual(['public.ocr_schema_migrations', 'public.posts', 'public.users']);
  });

  it('vercel-env-fix: the run leaves a diff adding the name the sources read and .env.example lacks', async () => {
    const run = await queueRunbookRun(store, await example('vercel-env-fix'), { session_id: session.id, lane: 'F' }, secrets);
    expect(await finished(run.id)).toMatchObject({ status: 'succeeded' });
    expect(await stdout(run.id, 'compare')).toContain('added API_TOKEN (read in src/config.js:3)');
    const diff = await store.getArtifact(run.id, 'diff');
    expect(diff?.meta).toMatchObject({ files: 1, insertions: expect.any(Number), deletions: 0 });
    const added = diff!.content!.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++'));
    expect(diff!.content).toContain('+++ b/.env.example');
    expect(added).toContain('+API_TOKEN=');
    expect(added.some((l) => /API_URL|NODE_ENV/.test(l) && !l.startsWith('+#'))).toBe(false);
  });

  it('supabase-migration-run: applies the two files with pg and records them; a broken file fails it with nothing applied', async () => {
    const good = await targetDb();
    const target = await targetDb();
    const run = await queueRunbookRun(store, await example('supabase-migration-run'), { session_id: session.id, lane: 'G', inputs: { database_url: good.url, client: 'pg' } }, secrets);
    const bad = await queueRunbookRun(store, await example('supabase-migration-run', broken), { session_id: brokenSession.id, lane: 'A', inputs: { database_url: target.url } }, secrets);

    expect(await finished(run.id)).toMatchObject({ status: 'succeeded' });
    expect(await stdout(run.id, 'validate')).toContain('2 file(s) in supabase/migrations (pg): 0 applied before, 2 to apply');
    expect(await tables(good)).toEqual(['public.posts', 'public.users', 'supabase_migrations.schema_migrations']);
    expect(await query(good, 'select version, name from supabase_migrations.schema_migrations order by version')).toEqual([
      { version: '20240101000000', name: 'create_users' },
      { version: '20240102000000', name: 'create_posts' },
    ]);

    expect(await finished(bad.id)).toMatchObject({ status: 'failed', error: 'step validate exited 1' });
    expect((await store.listSteps(bad.id)).map((s) => [s.step_id, s.status])).toEqual([
      ['validate', 'failed'],
      ['approve', 'skipped'],
      ['apply', 'skipped'],
    ]);
    const errors = (await store.listEvents(bad.id, 0, 100_000)).filter((e) => e.stream === 'stderr').map((e) => e.text).join('\n');
    expect(errors).toMatch(/supabase\/migrations\/20240103000000_add_comments\.sql:2: ERROR: {1,2}syntax error at or near "tabel"/);
    expect(await tables(target)).toEqual([]);
  });
});
