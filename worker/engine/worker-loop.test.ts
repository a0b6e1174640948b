// The worker's loop on the queue, with runs carried out in process (no worktree, no process): how ends are recorded,
// how far it claims ahead, what it does when the database refuses an end, and that stopping records every end.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type Run, type Session } from '../../domain';
import { PostgresStore } from '../store/postgres';
import type { RunEnding, Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import type { RunEnd } from './execution';
import { eventually } from './git.test-support';
import { inProcessExecutor, type InProcessWork } from './in-process';
import { Worker, type WorkerOptions } from './worker';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const workers: Worker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  store = new PostgresStore({ url: db.url });
  await store.migrate();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

/** The store, with every finish_and_claim statement the worker sends written down. */
function recording(calls: Array<{ ends: RunEnding[]; max: number }>): Store {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      if (name !== 'finishAndClaim') return value.bind(target);
      return (workerId: string, ends: RunEnding[], max: number, ...rest: unknown[]) => {
        calls.push({ ends, max });
        return value.call(target, workerId, ends, max, ...rest);
      };
    },
  });
}

async function startWorker(on: Store, session: Session, work: InProcessWork, options: WorkerOptions = {}): Promise<{ worker: Worker; ends: Array<[Run, RunEnd]> }> {
  const worker = new Worker(on, { sessions: [session.id], pollMs: 200, recoverMs: 60_000, ...options }, { executor: inProcessExecutor(work) });
  const ends: Array<[Run, RunEnd]> = [];
  worker.onRunFinished((run, end) => ends.push([run, end]));
  workers.push(worker);
  await worker.start();
  return { worker, ends };
}

const allFinished = async (runs: Run[]) => {
  const now = await Promise.all(runs.map((r) => store.getRun(r.id)));
  return now.every((r) => isFinal(r.status));
};

describe('the worker loop', () => {
  it('records the runs that end in one turn with one statement, which also claims for the slots they freed', async () => {
    const session = await store.createSession({ title: 'one turn', lanes: ['A', 'B', 'C', 'D'] });
    const runs = await store.createRuns(['A', 'B', 'C', 'D'].flatMap((lane) => [1, 2].map((k) => ({ session_id: session.id, lane, intent: `${lane}${k}` }))));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const calls: Array<{ ends: RunEnding[]; max: number }> = [];
    await startWorker(recording(calls), session, () => gate, { concurrency: 4 });
    await eventually(async () => (await store.listRuns({ sessionId: session.id, status: ['running'] })).length === 4, 'four running');
    const before = calls.length;
    release(); // the four first runs end in the same turn
    await eventually(() => allFinished(runs), 'every run finished');
    const withEnds = calls.slice(before).filter((c) => c.ends.length > 0);
    expect(withEnds[0]!.ends.map((e) => e.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(withEnds[0]!.max).toBeGreaterThanOrEqual(4);
    const done = await Promise.all(runs.map((r) => store.getRun(r.id)));
    expect(done.every((r) => r.status === 'succeeded')).toBe(true);
  });

  it('claims ahead for runs shorter than a round trip, and not for runs that take long', async () => {
    const session = await store.createSession({ title: 'ahead', lanes: Array.from({ length: 26 }, (_, i) => `l${i}`) });
    const quick = await store.createRuns(Array.from({ length: 2000 }, (_, i) => ({ session_id: session.id, lane: `l${i % 26}`, intent: 'noop' })));
    const calls: Array<{ ends: RunEnding[]; max: number }> = [];
    const { worker } = await startWorker(recording(calls), session, async () => undefined, { concurrency: 2 });
    await eventually(() => allFinished(quick), 'the quick runs finished', 60_000);
    // no-op runs end far within a round trip: the worker asked for more than its two slots
    expect(Math.max(...calls.map((c) => c.max))).toBeGreaterThan(2);
    await worker.stop({ graceMs: 0 });

    const slow = await store.createRuns(Array.from({ length: 6 }, (_, i) => ({ session_id: session.id, lane: `l${i}`, intent: 'slow' })));
    const slowCalls: Array<{ ends: RunEnding[]; max: number }> = [];
    await startWorker(recording(slowCalls), session, () => new Promise((r) => setTimeout(r, 150)), { concurrency: 2 });
    await eventually(() => allFinished(slow), 'the slow runs finished');
    // runs of 150 ms take far longer than a round trip: never more than the free slots
    expect(Math.max(...slowCalls.map((c) => c.max))).toBeLessThanOrEqual(2);
  });

  it('says a run was lost when the database refuses its end, and writes nothing for it', async () => {
    const session = await store.createSession({ title: 'refused', lanes: ['A'] });
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'held too long' });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    // a lease of 2 s and a heartbeat that never comes in time: the run is recovered while it is still going here
    // (one slot, busy with it: the worker does not take the run back itself)
    const { ends } = await startWorker(store, session, () => gate, { concurrency: 1, leaseSeconds: 2, heartbeatMs: 600_000, pollMs: 600_000 });
    await eventually(async () => (await store.getRun(run.id)).status === 'running', 'running');
    await eventually(async () => (await store.recoverExpired()).length > 0, 'the lease expired and the run went back to the queue', 10_000);
    await store.registerWorker({ id: 'another-worker', host: 'h', pid: 1, concurrency: 1, labels: {} });
    const [again] = await store.claimRuns('another-worker', 1, { sessions: [session.id] });
    expect(again!.id).toBe(run.id);
    release();
    await eventually(() => ends.length === 1, 'the worker reported the end');
    expect(ends[0]![1]).toMatchObject({ status: 'lost', error: expect.stringContaining('held by another-worker') });
    expect(await store.getRun(run.id)).toMatchObject({ status: 'running', claimed_by: 'another-worker', attempt: 2 });
  });

  it('a run canceled while claimed ahead ends canceled without starting', async () => {
    const session = await store.createSession({ title: 'cancel ahead', lanes: ['A', 'B'] });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const calls: Array<{ ends: RunEnding[]; max: number }> = [];
    const { worker } = await startWorker(recording(calls), session, (r) => (started.push(r.intent), r.intent === 'first' ? gate : Promise.resolve()), { concurrency: 1 });
    // quick runs first: the worker learns that its runs take less than a round trip, and claims ahead from then on
    const quick = await store.createRuns(Array.from({ length: 30 }, () => ({ session_id: session.id, lane: 'A', intent: 'quick' })));
    await eventually(() => allFinished(quick), 'the quick runs finished');
    started.length = 0;
    const first = await store.createRun({ session_id: session.id, lane: 'A', intent: 'first' });
    await eventually(() => started.includes('first'), 'the first run started');
    const second = await store.createRun({ session_id: session.id, lane: 'B', intent: 'second' });
    // held by the worker, waiting for its one slot
    await eventually(async () => (await store.getRun(second.id)).status === 'running', 'the second run claimed ahead');
    expect(await store.cancelRun(second.id)).toMatchObject({ outcome: 'cancel_requested' });
    // it ends at once, while the one slot is still busy with the first run
    await eventually(async () => (await store.getRun(second.id)).status === 'canceled', 'the second run canceled');
    expect((await store.getRun(first.id)).status).toBe('running');
    release();
    await eventually(() => allFinished([first, second]), 'both finished');
    expect(started).toEqual(['first']);
    await eventually(() => worker.status().running.length === 0, 'the worker lets go of both');
  });

  it('stopping cancels what still runs and records every end before it resolves', async () => {
    const session = await store.createSession({ title: 'drain', lanes: ['A', 'B', 'C'] });
    const runs = await store.createRuns(['A', 'B', 'C'].map((lane) => ({ session_id: session.id, lane, intent: 'forever' })));
    const { worker } = await startWorker(store, session, (_run, signal) => new Promise((r) => signal.addEventListener('abort', () => r())), { concurrency: 3 });
    await eventually(async () => (await store.listRuns({ sessionId: session.id, status: ['running'] })).length === 3, 'three running');
    await worker.stop({ graceMs: 50 });
    const done = await Promise.all(runs.map((r) => store.getRun(r.id)));
    expect(done.map((r) => r.status)).toEqual(['canceled', 'canceled', 'canceled']);
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const row = await sql.query<{ state: string }>('select state from ops.workers where id = $1', [worker.id]);
    await sql.end();
    expect(row.rows[0]!.state).toBe('stopped');
  });
});
