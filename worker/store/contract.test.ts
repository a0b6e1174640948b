// One contract suite for every engine: the invariants of the queue, checked against real databases.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from './engines.test-support';
import { LeaseLostError, OcrError } from './errors';
import { migrations } from './migrate';
import { PostgresStore } from './postgres';
import type { Run, RunEvent, Session } from '../../domain';
import type { RunEnding, Store } from './store';
import type { Lease } from './types';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const leaseOf = (run: Run, workerId = run.claimed_by!): Lease => ({ runId: run.id, workerId, attempt: run.attempt });

/** Registers workers by id through this store (a worker's writes need the token its registration answered). */
async function registered(s: Store, ...ids: string[]): Promise<void> {
  for (const id of ids) await s.registerWorker({ id, host: 'test', pid: process.pid, concurrency: 4, labels: {}, version: 'test' });
}

/** Ends one held run as a worker does (finish_and_claim, claiming nothing) and answers the run as it is now. */
async function finish(s: Store, lease: Lease, end: Omit<RunEnding, 'runId' | 'attempt'>): Promise<Run> {
  const answer = await s.finishAndClaim(lease.workerId, [{ runId: lease.runId, attempt: lease.attempt, ...end }], 0);
  expect(answer).toEqual({ claimed: [], refused: [] });
  return s.getRun(lease.runId);
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe.each(engines)('the queue on $name', (engine) => {
  let url: string;
  let stop: () => Promise<void>;
  let store: PostgresStore;

  beforeAll(async () => {
    ({ url, stop } = await engine.start());
    store = new PostgresStore({ url, poolSize: 10 });
    await store.migrate();
  });
  afterAll(async () => {
    await store?.close();
    await stop?.();
  });

  const newSession = (title = 'contract', lanes?: string[]): Promise<Session> => store.createSession({ title, lanes });

  it('applies its migrations once, however often it is asked', async () => {
    await Promise.all([store.migrate(), store.migrate()]);
    const other = new PostgresStore({ url });
    await other.migrate();
    await other.close();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query('select name from ops.schema_migrations order by name');
    await c.end();
    expect(rows.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
  });

  it('claims each of 5,000 runs exactly once with 8 concurrent claimers, never two running in one lane', async () => {
    const sessions = await Promise.all(Array.from({ length: 50 }, (_, i) => newSession(`load ${i}`)));
    const inputs = sessions.flatMap((s) =>
      s.lanes.flatMap((lane) => Array.from({ length: 25 }, (_, k) => ({ session_id: s.id, lane, intent: `job ${k}` }))),
    );
    const created = await store.createRuns(inputs);
    expect(created).toHaveLength(5000);
    const ids = new Set(created.map((r) => r.id));

    const claims = new Map<string, number>();
    const holding = new Map<string, string>(); // lane key -> run id
    const overlaps: string[] = [];
    const claimers = Array.from({ length: 8 }, (_, i) => new PostgresStore({ url, poolSize: 1 }));
    await Promise.all(
      claimers.map(async (c, i) => {
        const worker = `claimer-${i}`;
        await registered(c, worker);
        let idle = 0;
        while (idle < 3) {
          const runs = await c.claimRuns(worker, 5);
          if (runs.length === 0) {
            idle++;
            await sleep(5);
            continue;
          }
          idle = 0;
          for (const r of runs) {
            expect(ids.has(r.id)).toBe(true);
            claims.set(r.id, (claims.get(r.id) ?? 0) + 1);
            const key = `${r.session_id}/${r.lane}`;
            if (holding.has(key)) overlaps.push(`${key}: ${holding.get(key)} and ${r.id}`);
            holding.set(key, r.id);
          }
          await Promise.all(
            runs.map(async (r) => {
              holding.delete(`${r.session_id}/${r.lane}`);
              await finish(c, leaseOf(r, worker), { status: 'succeeded', exitCode: 0 });
            }),
          );
        }
      }),
    );
    await Promise.all(claimers.map((c) => c.close()));
    expect(overlaps).toEqual([]);
    expect(claims.size).toBe(5000);
    expect([...claims.values()].every((n) => n === 1)).toBe(true);
    const left = await store.listRuns({ status: ['queued', 'running'], limit: 10 });
    expect(left.filter((r) => sessions.some((s) => s.id === r.session_id))).toEqual([]);
  }, 180_000);

  it('runs each of 3,000 runs exactly once when 8 workers finish and claim in one statement, one lane at a time', async () => {
    // 20 lanes, 150 runs each: every claim races the statement that frees its lane
    const sessions = await Promise.all(Array.from({ length: 5 }, (_, i) => newSession(`steady ${i}`)));
    const inputs = sessions.flatMap((s) =>
      s.lanes.flatMap((lane) => Array.from({ length: 150 }, (_, k) => ({ session_id: s.id, lane, intent: `job ${k}` }))),
    );
    const ids = new Set((await store.createRuns(inputs)).map((r) => r.id));
    const mine = sessions.map((s) => s.id);

    // the database's own view, sampled while the workers go: never two running runs in one lane
    const overlaps: string[] = [];
    let going = true;
    const monitor = (async () => {
      const sql = new pg.Client({ connectionString: url });
      await sql.connect();
      while (going) {
        const r = await sql.query<{ lane: string; n: number }>(
          `select session_id || '/' || lane as lane, count(*)::int as n from ops.runs
            where status = 'running' and session_id = any ($1::uuid[]) group by 1 having count(*) > 1`,
          [mine],
        );
        overlaps.push(...r.rows.map((x) => `${x.lane}: ${x.n} running`));
      }
      await sql.end();
    })();

    const claims = new Map<string, number>();
    const workers = Array.from({ length: 8 }, () => new PostgresStore({ url, poolSize: 1 }));
    await Promise.all(
      workers.map(async (w, i) => {
        const worker = `steady-${i}`;
        await registered(w, worker);
        let held: Run[] = [];
        let idle = 0;
        while (idle < 3) {
          const ended = held.map((r) => ({ runId: r.id, attempt: r.attempt, status: 'succeeded' as const, exitCode: 0 }));
          held = (await w.finishAndClaim(worker, ended, 4, { sessions: mine })).claimed;
          if (held.length === 0) {
            idle++;
            await sleep(5);
            continue;
          }
          idle = 0;
          for (const r of held) {
            expect(ids.has(r.id)).toBe(true);
            claims.set(r.id, (claims.get(r.id) ?? 0) + 1);
          }
        }
      }),
    );
    going = false;
    await monitor;
    await Promise.all(workers.map((w) => w.close()));
    expect(overlaps).toEqual([]);
    expect(claims.size).toBe(3000);
    expect([...claims.values()].every((n) => n === 1)).toBe(true);
    const left = await store.listRuns({ status: ['queued', 'running'], limit: 10 });
    expect(left.filter((r) => mine.includes(r.session_id))).toEqual([]);
  }, 180_000);

  it('serves lower priority first, then oldest, inside a lane and across lanes', async () => {
    await registered(store, 'w-order');
    const s = await newSession('order', ['A', 'B']);
    const a1 = await store.createRun({ session_id: s.id, lane: 'A', intent: 'a1' });
    const a2 = await store.createRun({ session_id: s.id, lane: 'A', intent: 'a2' });
    const b1 = await store.createRun({ session_id: s.id, lane: 'B', intent: 'b1' });
    const hotfix = await store.createRun({ session_id: s.id, lane: 'A', intent: 'hotfix', priority: 1 });

    // one slot: the lane whose next run comes first is served first
    const [first] = await store.claimRuns('w-order', 1, { sessions: [s.id] });
    expect(first!.intent).toBe('hotfix');
    const [second] = await store.claimRuns('w-order', 1, { sessions: [s.id] });
    expect(second!.intent).toBe('b1');
    expect(await store.claimRuns('w-order', 5, { sessions: [s.id] })).toEqual([]); // both lanes busy
    await finish(store, leaseOf(first!), { status: 'succeeded', exitCode: 0 });
    const [third] = await store.claimRuns('w-order', 5, { sessions: [s.id] });
    expect(third!.id).toBe(a1.id);
    await finish(store, leaseOf(third!), { status: 'succeeded', exitCode: 0 });
    const [fourth] = await store.claimRuns('w-order', 5, { sessions: [s.id] });
    expect(fourth!.id).toBe(a2.id);
    expect(b1.id).toBe(second!.id);
    expect(hotfix.priority).toBe(1);
  });

  it('claims only the lanes, sessions and repositories a worker serves', async () => {
    await registered(store, 'w-filter');
    const mine = await store.createSession({ title: 'repo x', repo_id: 'x'.repeat(40) });
    const theirs = await store.createSession({ title: 'repo y', repo_id: 'y'.repeat(40) });
    await store.createRun({ session_id: mine.id, lane: 'C', intent: 'x-c' });
    await store.createRun({ session_id: mine.id, lane: 'D', intent: 'x-d' });
    await store.createRun({ session_id: theirs.id, lane: 'C', intent: 'y-c' });
    const got = await store.claimRuns('w-filter', 10, { lanes: ['C'], repoIds: ['x'.repeat(40)], sessions: [mine.id, theirs.id] });
    expect(got.map((r) => r.intent)).toEqual(['x-c']);
  });

  it('stores a batch of log lines once when the worker sends it again after a lost answer', async () => {
    await registered(store, 'w-resend');
    const s = await newSession('resend');
    await store.createRun({ session_id: s.id, lane: 'A', intent: 'chatty' });
    const [held] = await store.claimRuns('w-resend', 1, { sessions: [s.id] });
    const lease = leaseOf(held!);
    const line = (text: string, ms: number) => ({ stream: 'stdout' as const, text, ts: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString() });
    expect(await store.appendEvents(lease, [line('one', 1), line('two', 2)], 0)).toBe(2);
    // the answer to the next batch was lost: the same batch comes again, after the same last seq
    const batch = [line('three', 3), line('four', 4), line('five', 5)];
    expect(await store.appendEvents(lease, batch, 2)).toBe(5);
    expect(await store.appendEvents(lease, batch, 2)).toBe(5);
    // a line that only looks the same (same text, its own time) is a new line
    expect(await store.appendEvents(lease, [line('five', 6)], 5)).toBe(6);
    expect((await store.listEvents(held!.id, 0, 100)).map((e) => e.text)).toEqual(['one', 'two', 'three', 'four', 'five', 'five']);
  });

  it('refuses every write of a worker whose lease expired and was recovered (fencing)', async () => {
    await registered(store, 'w-new', 'w-old');
    const s = await newSession('fencing');
    const run = await store.createRun({ session_id: s.id, lane: 'A', intent: 'long job', max_attempts: 3 });
    const [held] = await store.claimRuns('w-old', 1, { sessions: [s.id], leaseSeconds: 1 });
    expect(held!.id).toBe(run.id);
    expect(held!.attempt).toBe(1);
    await store.appendEvents(leaseOf(held!), [{ stream: 'stdout', text: 'working' }]);
    await sleep(1200);
    const recovered = await store.recoverExpired();
    expect(recovered).toContainEqual({ runId: run.id, outcome: 'requeued' });
    const requeued = await store.getRun(run.id);
    expect(requeued.status).toBe('queued');
    expect(requeued.attempt).toBe(1);

    const [again] = await store.claimRuns('w-new', 1, { sessions: [s.id] });
    expect(again!.attempt).toBe(2);

    const stale = leaseOf(held!, 'w-old');
    await expect(store.appendEvents(stale, [{ stream: 'stdout', text: 'late' }])).rejects.toBeInstanceOf(LeaseLostError);
    await expect(store.appendEvents(stale, [])).rejects.toMatchObject({ code: 'lease_lost' });
    await expect(store.putArtifact(stale, { kind: 'diff', name: 'lane.diff', content: '' })).rejects.toMatchObject({ code: 'lease_lost' });
    // the old worker's end is refused, and the answer shows whose the run is now
    const refused = await store.finishAndClaim('w-old', [{ runId: run.id, attempt: stale.attempt, status: 'succeeded', exitCode: 0 }], 0);
    expect(refused).toMatchObject({ claimed: [], refused: [{ id: run.id, status: 'running', claimed_by: 'w-new', attempt: 2 }] });
    expect((await store.heartbeat('w-old', [run.id])).get(run.id)).toBe('lost');
    expect((await store.heartbeat('w-new', [run.id])).get(run.id)).toBe('held');

    const finished = await finish(store, leaseOf(again!), { status: 'succeeded', exitCode: 0 });
    expect(finished.status).toBe('succeeded');
    const lines = await store.listEvents(run.id);
    expect(lines.map((e) => e.text)).toEqual(['working']);
  });

  it('fails a run with "lease expired" once its attempts are used up, and frees its lane', async () => {
    await registered(store, 'w-2', 'w-dies');
    const s = await newSession('attempts');
    const run = await store.createRun({ session_id: s.id, lane: 'B', intent: 'crashy', max_attempts: 1 });
    const next = await store.createRun({ session_id: s.id, lane: 'B', intent: 'after' });
    await store.claimRuns('w-dies', 1, { sessions: [s.id], leaseSeconds: 1 });
    await sleep(1200);
    expect(await store.recoverExpired()).toContainEqual({ runId: run.id, outcome: 'failed' });
    const failed = await store.getRun(run.id);
    expect(failed).toMatchObject({ status: 'failed', error: 'lease expired' });
    const [claimed] = await store.claimRuns('w-2', 1, { sessions: [s.id] });
    expect(claimed!.id).toBe(next.id);
    expect(await store.recoverExpired()).toEqual([]);
  });

  it('renews every named lease in one heartbeat and lets an unnamed one expire', async () => {
    await registered(store, 'w-hb');
    const s = await newSession('heartbeat');
    await store.createRuns(['A', 'B', 'C'].map((lane) => ({ session_id: s.id, lane, intent: `hb ${lane}` })));
    const runs = await store.claimRuns('w-hb', 3, { sessions: [s.id], leaseSeconds: 1 });
    expect(runs).toHaveLength(3);
    const named = runs.slice(0, 2).map((r) => r.id);
    await sleep(600);
    const answer = await store.heartbeat('w-hb', named, 30);
    expect([...answer.values()]).toEqual(['held', 'held']);
    await sleep(600);
    const recovered = await store.recoverExpired();
    expect(recovered.map((r) => r.runId)).toEqual([runs[2]!.id]);
    for (const id of named) expect((await store.getRun(id)).status).toBe('running');
  });

  it('wakes everyone while no worker is live, else names a live worker to claim first', async () => {
    await store.listening();
    const named: Array<string | null> = [];
    const sub = store.onQueueChange((first) => named.push(first));
    const s = await newSession('wake');
    const queueOne = async () => {
      const before = named.length;
      await store.createRun({ session_id: s.id, lane: 'A', intent: 'wake' });
      await until('the queue notification', () => named.length > before || undefined);
      return named.at(-1);
    };
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    try {
      // whatever earlier tests registered stops counting as live
      await sql.query(`update ops.workers set last_heartbeat = now() - interval '2 minutes'`);
      expect(await queueOne()).toBeNull();

      const worker = (id: string) => ({ id, host: 'h', pid: 1, concurrency: 1, labels: {}, version: 'test' });
      await store.registerWorker(worker('wake-live'));
      await store.registerWorker(worker('wake-stopped'));
      await store.setWorkerState('wake-stopped', 'stopped');
      await store.registerWorker(worker('wake-silent'));
      await sql.query(`update ops.workers set last_heartbeat = now() - interval '2 minutes' where id = 'wake-silent'`);
      for (let i = 0; i < 5; i++) expect(await queueOne()).toBe('wake-live');

      // anyone told by a named worker that cannot take the news: everyone, at once
      const before = named.length;
      await store.wakeWorkers();
      await until('the passed-on notification', () => named.length > before || undefined);
      expect(named.at(-1)).toBeNull();
    } finally {
      sub.dispose();
      await sql.end();
    }
  });

  it('cancels a queued run at once, asks a running run to stop, and leaves a finished run alone', async () => {
    await registered(store, 'w-cancel');
    const s = await newSession('cancel');
    const running = await store.createRun({ session_id: s.id, lane: 'A', intent: 'sleep 600' });
    const queued = await store.createRun({ session_id: s.id, lane: 'A', intent: 'never' });
    const [held] = await store.claimRuns('w-cancel', 1, { sessions: [s.id] });
    expect(held!.id).toBe(running.id);

    const q = await store.cancelRun(queued.id);
    expect(q.outcome).toBe('canceled');
    expect(q.run.status).toBe('canceled');

    await store.listening();
    const told: Array<[string, string | null]> = [];
    const sub = store.onCancelRequested((runId, workerId) => told.push([runId, workerId]));
    const r = await store.cancelRun(running.id);
    expect(r.outcome).toBe('cancel_requested');
    expect(r.run.status).toBe('running');
    expect(r.run.cancel_requested_at).not.toBeNull();
    await until('the cancel notification', () => told.length > 0 || undefined);
    expect(told).toEqual([[running.id, 'w-cancel']]);
    sub.dispose();
    expect((await store.heartbeat('w-cancel', [running.id])).get(running.id)).toBe('cancel');

    const ended = await finish(store, leaseOf(held!), { status: 'canceled', exitCode: null, error: 'canceled' });
    expect(ended.status).toBe('canceled');
    const f = await store.cancelRun(running.id);
    expect(f.outcome).toBe('already_finished');
    expect(f.run.status).toBe('canceled');

    // the canceled queued run is never claimed
    expect(await store.claimRuns('w-cancel', 5, { sessions: [s.id] })).toEqual([]);
  });

  it('finishes a batch of runs in one call, answering the ones the worker no longer holds', async () => {
    await registered(store, 'w-batch');
    const s = await newSession('batch finish');
    await store.createRuns(['A', 'B', 'C'].flatMap((lane) => [1, 2].map((k) => ({ session_id: s.id, lane, intent: `${lane}${k}` }))));
    const held = await store.claimRuns('w-batch', 3, { sessions: [s.id] });
    expect(held.map((r) => r.intent)).toEqual(['A1', 'B1', 'C1']);
    const stolen = { runId: held[2]!.id, attempt: held[2]!.attempt + 1 }; // not this worker's attempt
    const answer = await store.finishAndClaim('w-batch', [
      { runId: held[0]!.id, attempt: held[0]!.attempt, status: 'succeeded', exitCode: 0 },
      { runId: held[1]!.id, attempt: held[1]!.attempt, status: 'failed', exitCode: 2, error: 'exited 2' },
      { ...stolen, status: 'succeeded', exitCode: 0 },
    ], 0);
    expect(answer.claimed).toEqual([]);
    expect(answer.refused.map((r) => [r.intent, r.status])).toEqual([['C1', 'running']]);
    expect((await store.getRun(held[0]!.id)).status).toBe('succeeded');
    expect((await store.getRun(held[1]!.id)).status).toBe('failed');
    expect((await store.getRun(held[2]!.id)).status).toBe('running');
    const next = await store.claimRuns('w-batch', 3, { sessions: [s.id] });
    expect(next.map((r) => r.intent)).toEqual(['A2', 'B2']);
    await expect(store.finishAndClaim('w-batch', [{ runId: next[0]!.id, attempt: 1, status: 'queued' as never }], 0)).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('retries a finished run as a new queued run that points at the old one', async () => {
    await registered(store, 'w-retry');
    const s = await newSession('retry');
    const run = await store.createRun({ session_id: s.id, lane: 'D', intent: 'flaky', spec: { command: 'exit 1' } });
    await expect(store.retryRun(run.id)).rejects.toMatchObject({ code: 'invalid_state' });
    const [held] = await store.claimRuns('w-retry', 1, { sessions: [s.id] });
    await finish(store, leaseOf(held!), { status: 'failed', exitCode: 1, error: 'exited 1' });
    const retry = await store.retryRun(run.id);
    expect(retry).toMatchObject({ status: 'queued', intent: 'flaky', lane: 'D', retry_of: run.id, spec: { command: 'exit 1' } });
  });

  it('rejects bad input with an error that names the field, and stores nothing', async () => {
    const s = await newSession('input');
    const before = (await store.listRuns({ sessionId: s.id })).length;
    await expect(store.createRun({ session_id: s.id, lane: 'Z', intent: 'x' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining("lane: 'Z' is not a lane of session"),
    });
    await expect(store.createRun({ session_id: s.id, lane: 'A', intent: '   ' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('intent'),
    });
    await expect(
      store.createRun({ session_id: '00000000-0000-4000-8000-000000000000', lane: 'A', intent: 'x' }),
    ).rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('session') });
    await expect(store.createSession({ title: ' ' })).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('title') });
    await expect(store.createSession({ title: 'x', lanes: ['A', 'A'] })).rejects.toBeInstanceOf(OcrError);
    // a batch with one bad run stores none of them
    await expect(
      store.createRuns([
        { session_id: s.id, lane: 'A', intent: 'good' },
        { session_id: s.id, lane: 'nope', intent: 'bad' },
      ]),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    expect((await store.listRuns({ sessionId: s.id })).length).toBe(before);
    const archived = await store.archiveSession(s.id);
    expect(archived.status).toBe('archived');
    await expect(store.createRun({ session_id: s.id, lane: 'A', intent: 'x' })).rejects.toMatchObject({ code: 'invalid_state' });
  });

  it('delivers every line of a run once, in order, across a dropped connection', async () => {
    await registered(store, 'w-follow');
    const s = await newSession('follow');
    const run = await store.createRun({ session_id: s.id, lane: 'A', intent: 'chatty' });
    const [held] = await store.claimRuns('w-follow', 1, { sessions: [s.id] });
    const lease = leaseOf(held!);
    const follower = new PostgresStore({ url });
    const seen: RunEvent[] = [];
    const following = (async () => {
      for await (const batch of follower.followRun(run.id, 0, { pollMs: 60_000 })) seen.push(...batch);
    })();
    let n = 0;
    const write = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await store.appendEvents(lease, Array.from({ length: 10 }, () => ({ stream: 'stdout' as const, text: `line ${++n}` })));
      }
    };
    await write(20);
    await until('the first lines', () => seen.length > 0 || undefined);
    // cut the follower's LISTEN connection from the server side, then keep writing while it is down
    const pid = await until('the listen connection', () => follower.listenerForTests.backendPid);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    await write(30);
    await until('a new listen connection', () => {
      const p = follower.listenerForTests.backendPid;
      return p && p !== pid ? p : undefined;
    });
    await write(10);
    await finish(store, lease, { status: 'succeeded', exitCode: 0 });
    await following;
    await follower.close();
    expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    expect(seen.map((e) => e.text)).toEqual(Array.from({ length: 600 }, (_, i) => `line ${i + 1}`));
  });

  it('tells a session watcher about every change of its runs', async () => {
    await registered(store, 'w-watch');
    const s = await newSession('watch');
    const snapshots: string[][] = [];
    const watch = store.watchSession(s.id, (snap) => snapshots.push(snap.runs.map((r) => `${r.intent}:${r.status}`)), { pollMs: 60_000 });
    await until('the first snapshot', () => snapshots.length > 0 || undefined);
    expect(snapshots[0]).toEqual([]);
    const run = await store.createRun({ session_id: s.id, lane: 'A', intent: 'watched' });
    await until('queued', () => snapshots.some((x) => x.includes('watched:queued')) || undefined);
    const [held] = await store.claimRuns('w-watch', 1, { sessions: [s.id] });
    await until('running', () => snapshots.some((x) => x.includes('watched:running')) || undefined);
    await finish(store, leaseOf(held!), { status: 'succeeded', exitCode: 0 });
    await until('succeeded', () => snapshots.some((x) => x.includes('watched:succeeded')) || undefined);
    watch.dispose();
    expect(run.status).toBe('queued');
  });

  it('keeps a diff artifact with its size and checksum', async () => {
    await registered(store, 'w-art');
    const s = await newSession('artifact');
    await store.createRun({ session_id: s.id, lane: 'A', intent: 'edit' });
    const [held] = await store.claimRuns('w-art', 1, { sessions: [s.id] });
    const patch = 'diff --git a/x b/x\n+é\n';
    const a = await store.putArtifact(leaseOf(held!), { kind: 'diff', name: 'lane.diff', mime: 'text/x-diff', content: patch, meta: { files: 1 } });
    expect(a.size).toBe(Buffer.byteLength(patch));
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await store.getArtifact(held!.id, 'diff'))?.content).toBe(patch);
  });

  // ---- runbook runs: steps, approvals, backoff ----------------------------------------------------------------------

  /** A published one-step-and-a-gate runbook and a run of it in lane A of a new session (plus `behind` queued after it). */
  async function runbookRun(title: string): Promise<{ session: Session; run: Run; behind: Run }> {
    const session = await newSession(title, ['A']);
    const runbook = { name: 'contract-gate', title: 'Gate', description: '', kind: 'custom' as const, inputs: [], policy: { max_attempts: 1, concurrency: 'allow' as const },
      steps: [{ id: 'one', run: 'true', continue_on_error: false }, { id: 'gate', approval: { message: 'go?' }, continue_on_error: false }, { id: 'two', run: 'true', continue_on_error: false }] };
    const template = await store.publishTemplate({ name: 'contract-gate', text: `${title}\n`, sha256: createHash('sha256').update(title).digest('hex'), runbook });
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: title, executor: 'runbook', spec: { template_id: template.id, name: 'contract-gate', version: template.version, inputs: {} } });
    const behind = await store.createRun({ session_id: session.id, lane: 'A', intent: 'behind' });
    return { session, run, behind };
  }
  const plan = [{ step_id: 'one', title: 'one', kind: 'shell' as const }, { step_id: 'gate', title: 'gate', kind: 'approval' as const }, { step_id: 'two', title: 'two', kind: 'shell' as const }];

  it('moves a run\'s steps only under its lease, and only along their transitions', async () => {
    await registered(store, 'w-steps', 'w-steps-late');
    const { session, run } = await runbookRun('steps');
    const [held] = await store.claimRuns('w-steps', 1, { sessions: [session.id] });
    expect(held!.id).toBe(run.id);
    const lease = leaseOf(held!);
    expect((await store.planSteps(lease, plan)).map((s) => [s.step_id, s.status])).toEqual([['one', 'queued'], ['gate', 'queued'], ['two', 'queued']]);
    // planned once: a second plan answers the rows as they are
    await store.moveStep(lease, 0, 'running');
    expect((await store.planSteps(lease, plan))[0]).toMatchObject({ status: 'running', tries: 1 });
    await expect(store.moveStep(lease, 2, 'succeeded')).rejects.toMatchObject({ code: 'invalid_state', message: expect.stringContaining('is queued; it cannot become succeeded') });
    await expect(store.moveStep({ ...lease, workerId: 'w-steps-late' }, 0, 'succeeded')).rejects.toMatchObject({ code: 'lease_lost' });
    await expect(store.moveStep({ ...lease, attempt: lease.attempt + 1 }, 0, 'succeeded')).rejects.toMatchObject({ code: 'lease_lost' });
    expect(await store.moveStep(lease, 0, 'succeeded', { exitCode: 0 })).toMatchObject({ status: 'succeeded', exit_code: 0 });
    await finish(store, lease, { status: 'failed', exitCode: 1, error: 'stop' });
    await expect(store.moveStep(lease, 2, 'running')).rejects.toMatchObject({ code: 'lease_lost' });
  });

  it('parks a run at its gate without a lease, keeps its lane, and lets another worker resume it once approved', async () => {
    await registered(store, 'w-park', 'w-resume');
    const { session, run, behind } = await runbookRun('park');
    const [held] = await store.claimRuns('w-park', 1, { sessions: [session.id] });
    const lease = leaseOf(held!);
    await store.planSteps(lease, plan);
    await store.moveStep(lease, 0, 'running');
    await store.moveStep(lease, 0, 'succeeded');
    const parked = await store.parkRun(lease, 1, { message: 'go?' });
    expect(parked).toMatchObject({ status: 'waiting', lease_expires_at: null, approval: { step: 1, step_id: 'gate', message: 'go?' } });
    // no lease: nothing to renew, nothing to recover; the lane stays its
    expect((await store.heartbeat('w-park', [run.id])).get(run.id)).toBe('lost');
    expect(await store.claimRuns('w-resume', 5, { sessions: [session.id] })).toEqual([]);
    await expect(store.moveStep(lease, 2, 'running')).rejects.toMatchObject({ code: 'lease_lost' });
    expect((await store.listSteps(run.id))[1]!.status).toBe('waiting');
    // a decision, once
    const approved = await store.approveRun(run.id, 'ok');
    expect(approved).toMatchObject({ status: 'queued', max_attempts: held!.max_attempts + 1, approval: { decision: 'approved', reason: 'ok' } });
    await expect(store.rejectRun(run.id, 'late')).rejects.toMatchObject({ code: 'invalid_state' });
    const [resumed] = await store.claimRuns('w-resume', 5, { sessions: [session.id] });
    expect(resumed).toMatchObject({ id: run.id, claimed_by: 'w-resume', attempt: held!.attempt + 1, started_at: held!.started_at });
    expect((await store.planSteps(leaseOf(resumed!), plan)).map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'queued']);
    expect((await store.getRun(behind.id)).status).toBe('queued');
  });

  it('keeps a run backing off out of reach until its time, then serves it before what came after it', async () => {
    await registered(store, 'w-backoff');
    const session2 = await newSession('backoff 2', ['A']);
    const retried = await store.createRun({ session_id: session2.id, lane: 'A', intent: 'retried', max_attempts: 3 });
    const after = await store.createRun({ session_id: session2.id, lane: 'A', intent: 'after' });
    const [mine] = await store.claimRuns('w-backoff', 1, { sessions: [session2.id] });
    const requeued = await store.requeueRun(leaseOf(mine!), 1.5, 'step one exited 1');
    expect(requeued).toMatchObject({ status: 'queued', error: 'step one exited 1' });
    expect(Date.parse(requeued.run_after!)).toBeGreaterThan(Date.now() + 500);
    expect(await store.claimRuns('w-backoff', 5, { sessions: [session2.id] })).toEqual([]);
    await sleep(1600);
    await store.recoverExpired();
    const [again] = await store.claimRuns('w-backoff', 5, { sessions: [session2.id] });
    expect(again).toMatchObject({ id: retried.id, attempt: 2, run_after: null });
    expect((await store.getRun(after.id)).status).toBe('queued');
    // its attempts used up, it cannot go back
    await store.moveStep(leaseOf(again!), 0, 'running').catch(() => undefined);
    const [third] = [await store.requeueRun(leaseOf(again!), 0, 'again')];
    const [last] = await store.claimRuns('w-backoff', 5, { sessions: [session2.id] });
    expect(last).toMatchObject({ id: third.id, attempt: 3 });
    await expect(store.requeueRun(leaseOf(last!), 1, 'once more')).rejects.toMatchObject({ code: 'invalid_state', message: expect.stringContaining('has used its 3 attempts') });
  });
});
