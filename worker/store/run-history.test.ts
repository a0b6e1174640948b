// Run history against real databases: every filter narrows to the runs a person would expect, each sort pages through
// every run exactly once (keyset cursors, pages of 2 and 3 so that page ends fall on ties and on the boundary between
// finished and unfinished runs), bad filters are refused naming the field, and a client login reads only its own.
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewRun, Run, Session } from '../../domain';
import { engines } from './engines.test-support';
import { OcrError } from './errors';
import { PostgresStore } from './postgres';
import type { RunHistoryQuery, RunHistoryRow } from './run-history';
import { testServerUrl } from './testing';

describe.each(engines)('run history on $name', (engine) => {
  let url: string;
  let stop: () => Promise<void>;
  let store: PostgresStore;
  let admin: pg.Client;
  let web: Session;
  let api: Session;
  /** the runs by a name of the test's own */
  const runs: Record<string, Run> = {};

  /** Ends a queued run as a worker does (claim, then finish), through the queue's own functions. */
  async function finish(run: Run, status: 'succeeded' | 'failed' | 'canceled'): Promise<void> {
    const worker = `history-${randomBytes(3).toString('hex')}`;
    await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 1, labels: {}, version: 'test' });
    const claimed = await store.claimRuns(worker, 1, { sessions: [run.session_id], lanes: [run.lane] });
    expect(claimed.map((r) => r.id)).toEqual([run.id]);
    await store.finishAndClaim(worker, [{ runId: run.id, attempt: claimed[0]!.attempt, status, exitCode: status === 'succeeded' ? 0 : 1 }], 0);
  }

  async function claim(run: Run): Promise<void> {
    const worker = `history-${randomBytes(3).toString('hex')}`;
    await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 1, labels: {}, version: 'test' });
    expect((await store.claimRuns(worker, 1, { sessions: [run.session_id], lanes: [run.lane] })).map((r) => r.id)).toEqual([run.id]);
  }

  beforeAll(async () => {
    ({ url, stop } = await engine.start());
    store = new PostgresStore({ url, poolSize: 4 });
    await store.migrate();
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
    web = await store.createSession({ title: 'Web app', lanes: ['A', 'B'] });
    api = await store.createSession({ title: 'API', lanes: ['A', 'B'] });
    const queue = async (name: string, session: Session, lane: string, intent: string, extra: Pick<NewRun, 'executor' | 'spec'> = {}) => {
      runs[name] = await store.createRun({ session_id: session.id, lane, intent, ...extra });
    };
    // oldest first: the order they are queued in is the order of their seq
    await queue('build', web, 'A', 'npm run build');
    await queue('test', web, 'A', 'npm test');
    await queue('lint', web, 'B', 'npm run lint -- --max-warnings 0');
    await queue('migrate', api, 'A', 'Apply 100% of the migrations');
    const runbook = { name: 'deploy', title: 'Deploy', description: '', kind: 'deploy' as const, inputs: [], policy: { max_attempts: 1, concurrency: 'allow' as const },
      steps: [{ id: 'ship', run: 'true', continue_on_error: false }] };
    const template = await store.publishTemplate({ name: 'deploy', text: 'deploy\n', sha256: createHash('sha256').update('deploy\n').digest('hex'), runbook });
    await queue('deploy', api, 'A', 'Deploy (runbook deploy v1)', { executor: 'runbook', spec: { template_id: template.id, name: 'deploy', version: template.version, inputs: {} } });
    await queue('agent', api, 'B', 'Fix the flaky test', { executor: 'agent', spec: { profile: 'claude' } });
    await queue('queued', web, 'B', 'echo still waiting');
    // build ran 5 s, test 30 s, lint failed after 2 s, migrate canceled after 60 s; deploy runs; agent and queued wait
    await finish(runs.build!, 'succeeded');
    await finish(runs.test!, 'succeeded');
    await finish(runs.lint!, 'failed');
    await finish(runs.migrate!, 'canceled');
    await claim(runs.deploy!);
    const times: Record<string, [created: string, seconds: number | null]> = {
      build: ['2026-01-01T10:00:00Z', 5],
      test: ['2026-01-02T10:00:00Z', 30],
      lint: ['2026-01-03T10:00:00Z', 2],
      migrate: ['2026-01-04T10:00:00Z', 60],
      deploy: ['2026-01-05T10:00:00Z', null],
      agent: ['2026-01-06T10:00:00Z', null],
      queued: ['2026-01-07T10:00:00Z', null],
    };
    // fixed times, so that date ranges and durations are known (what a worker would have written over days)
    for (const [name, [created, seconds]] of Object.entries(times)) {
      await admin.query(
        `update ops.runs set created_at = $2, started_at = case when started_at is null then null else $2::timestamptz + interval '1 s' end,
                finished_at = case when finished_at is null then null else $2::timestamptz + interval '1 s' + make_interval(secs => $3) end
          where id = $1`,
        [runs[name]!.id, created, seconds ?? 0],
      );
    }
  });

  afterAll(async () => {
    await admin?.end();
    await store?.close();
    await stop?.();
  });

  const names = (rows: RunHistoryRow[]) => rows.map((r) => Object.entries(runs).find(([, run]) => run.id === r.id)?.[0] ?? r.id);

  /** Every run of the query, page by page; also checks that no page is longer than asked. */
  async function all(query: RunHistoryQuery): Promise<string[]> {
    const seen: RunHistoryRow[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const page = await store.listRunHistory({ ...query, cursor });
      expect(page.runs.length).toBeLessThanOrEqual(query.limit ?? 50);
      seen.push(...page.runs);
      if (!page.next) return names(seen);
      cursor = page.next;
    }
    throw new Error('more than 20 pages');
  }

  it('lists every run of every session, newest first, with its session title', async () => {
    const page = await store.listRunHistory();
    expect(names(page.runs)).toEqual(['queued', 'agent', 'deploy', 'migrate', 'lint', 'test', 'build']);
    expect(page.next).toBeNull();
    expect(page.runs.find((r) => r.id === runs.lint!.id)).toMatchObject({ session_title: 'Web app', status: 'failed', lane: 'B' });
  });

  it('pages through every run once, in order, whatever the page size', async () => {
    for (const limit of [1, 2, 3]) {
      expect(await all({ limit })).toEqual(['queued', 'agent', 'deploy', 'migrate', 'lint', 'test', 'build']);
    }
  });

  it.each<[string, RunHistoryQuery, string[]]>([
    ['several statuses', { status: ['failed', 'canceled'] }, ['migrate', 'lint']],
    ['one status', { status: ['running'] }, ['deploy']],
    ['a lane', { lane: 'B' }, ['queued', 'agent', 'lint']],
    ['a session', { session_id: 'SESSION:api' }, ['agent', 'deploy', 'migrate']],
    ['a session and a lane', { session_id: 'SESSION:web', lane: 'A' }, ['test', 'build']],
    ['an executor', { executor: 'agent' }, ['agent']],
    ['a runbook by name', { runbook: 'deploy' }, ['deploy']],
    ['a runbook no run ran', { runbook: 'rollback' }, []],
    ['created since', { since: '2026-01-05T00:00:00Z' }, ['queued', 'agent', 'deploy']],
    ['created until', { until: '2026-01-02T10:00:00Z' }, ['build']],
    ['a date range', { since: '2026-01-02T00:00:00Z', until: '2026-01-04T00:00:00Z' }, ['lint', 'test']],
    ['intent text in any case', { search: 'NPM RUN' }, ['lint', 'build']],
    ['a % in the text is a %, not a wildcard', { search: '100%' }, ['migrate']],
    ['a _ in the text is a _, not a wildcard', { search: 'n_m' }, []],
    ['statuses and a lane together', { status: ['succeeded', 'failed'], lane: 'A' }, ['test', 'build']],
  ])('narrows by %s', async (_name, query, expected) => {
    const sessionIds: Record<string, string> = { 'SESSION:api': api.id, 'SESSION:web': web.id };
    const resolved = { ...query, ...(query.session_id ? { session_id: sessionIds[query.session_id] } : {}) };
    expect(await all({ ...resolved, limit: 2 })).toEqual(expected);
  });

  it('finds a run by the first characters of its id, with or without dashes', async () => {
    const id = runs.lint!.id;
    expect(names((await store.listRunHistory({ search: id.slice(0, 8) })).runs)).toContain('lint');
    expect(names((await store.listRunHistory({ search: id })).runs)).toEqual(['lint']);
    expect(names((await store.listRunHistory({ search: id.replace(/-/g, '').toUpperCase() })).runs)).toEqual(['lint']);
  });

  it('sorts the longest first, then the runs without a duration newest first, across pages', async () => {
    const expected = ['migrate', 'test', 'build', 'lint', 'queued', 'agent', 'deploy'];
    for (const limit of [1, 2, 3, 50]) expect(await all({ sort: 'duration', limit })).toEqual(expected);
    expect(await all({ sort: 'duration', status: ['succeeded', 'running'], limit: 1 })).toEqual(['test', 'build', 'deploy']);
  });

  it('sorts by status: what needs someone first, then failed, canceled and succeeded, newest first within each', async () => {
    const expected = ['deploy', 'queued', 'agent', 'lint', 'migrate', 'test', 'build'];
    for (const limit of [1, 2, 3, 50]) expect(await all({ sort: 'status', limit })).toEqual(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown status', { status: ['done'] }, /^status\.0: /],
    ['no status at all', { status: [] }, /^status: give at least one status$/],
    ['a lane with a space', { lane: 'A B' }, /^lane: a lane name is 1 to 16/],
    ['a session that is not an id', { session_id: 'web' }, /^session_id: give a session id$/],
    ['an unknown executor', { executor: 'python' }, /^executor: /],
    ['a date that is not a time', { since: 'yesterday' }, /^since: give a time such as 2026-12-01T00:00:00Z$/],
    ['a range the wrong way round', { since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' }, /^since: .* is not before until /],
    ['a page of none', { limit: 0 }, /^limit: /],
    ['a page too big', { limit: 1001 }, /^limit: a page holds at most 1000 runs$/],
    ['an unknown sort', { sort: 'random' }, /^sort: /],
    ['an unknown field', { owner: 'me' }, /^input: |owner/],
    ['a cursor of another sort', 'CURSOR', /^cursor: not the cursor of a page of this list/],
    ['a cursor that is not one', { cursor: 'not-a-cursor' }, /^cursor: not the cursor of a page of this list/],
  ])('refuses %s with a line naming the field', async (_name, query, message) => {
    let q = query;
    if (q === 'CURSOR') q = { sort: 'status', cursor: (await store.listRunHistory({ limit: 1 })).next };
    const error = await store.listRunHistory(q as RunHistoryQuery).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OcrError);
    expect((error as OcrError).code).toBe('invalid_input');
    expect((error as OcrError).message).toMatch(message);
  });

  it('shows a client login the runs of its own sessions only', async () => {
    if (engine.name !== 'postgres') return; // login roles of the machine's server; the embedded one has its own role only
    const login = `ocr_t_history_${randomBytes(4).toString('hex')}`;
    const server = new pg.Client({ connectionString: testServerUrl() });
    await server.connect();
    await server.query(`create role ${login} login in role ocr_client`);
    const asClient = new URL(url);
    asClient.username = login;
    asClient.password = '';
    const client = new PostgresStore({ url: asClient.toString(), poolSize: 1 });
    try {
      const own = await client.createSession({ title: 'Mine', lanes: ['A'] });
      const mine = await client.createRun({ session_id: own.id, lane: 'A', intent: 'npm test' });
      const page = await client.listRunHistory({ search: 'npm' });
      expect(page.runs.map((r) => r.id)).toEqual([mine.id]);
      expect((await store.listRunHistory({ search: 'npm' })).runs.map((r) => r.id)).toContain(mine.id);
    } finally {
      await client.close();
      await server.query(`drop role if exists ${login}`).catch(() => undefined);
      await server.end();
    }
  });

});
