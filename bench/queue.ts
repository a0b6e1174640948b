// Queue benchmark: runs per second through 4 worker processes on PostgreSQL, and the latency from queuing a run to a
// listening worker's claim, both with the engine's own Worker and an executor that does no work. Prints a markdown
// table. Run with `npm run bench:queue`.
import { fork } from 'node:child_process';
import os from 'node:os';
import { inProcessExecutor } from '../worker/engine/in-process';
import { Worker } from '../worker/engine/worker';
import { PostgresStore } from '../worker/store/postgres';
import type { Store } from '../worker/store/store';
import { createTestDatabase, testServerUrl } from '../worker/store/testing';
import type { Run, Session } from '../domain';
import pg from 'pg';

const RUNS = Number(process.env.BENCH_RUNS ?? 20_000);
const WORKERS = 4;
const BACKING_OFF = Number(process.env.BENCH_BACKING_OFF ?? 5_000);
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);

interface WorkerMessage {
  finished: number;
  statements: number;
}

/** The engine's Worker with an executor that does no work: what is measured is the queue and the worker's loop. */
function noopWorker(store: Store, id: string, concurrency: number, onEnd?: () => void): Worker {
  const worker = new Worker(store, { id, concurrency, pollMs: 1000, recoverMs: 1000, version: 'bench' }, { executor: inProcessExecutor(async () => undefined) });
  if (onEnd) worker.onRunFinished(onEnd);
  return worker;
}

/** Counts the statements that record ends and claim: the round trips a run costs. */
function counting(store: PostgresStore, count: () => void): Store {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      if (name !== 'finishAndClaim') return value.bind(target);
      return (...args: unknown[]) => (count(), value.apply(target, args));
    },
  });
}

// A worker process: the engine's Worker from 'go' until 'stop' (the parent says stop once the queue is empty).
async function workerRole(url: string, id: string, concurrency: number): Promise<void> {
  const store = new PostgresStore({ url });
  let finished = 0;
  let statements = 0;
  const worker = noopWorker(counting(store, () => statements++), id, concurrency, () => finished++);
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await worker.start();
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await worker.stop({ graceMs: 0 });
  await store.close();
  process.send!({ finished, statements } satisfies WorkerMessage);
}

// A listening worker: claims as soon as it is told a run is queued.
async function listenerRole(url: string): Promise<void> {
  const store = new PostgresStore({ url });
  const worker = noopWorker(store, 'listener', 8);
  await worker.start();
  await store.listening();
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await worker.stop({ graceMs: 0 });
  await store.close();
  process.exit(0);
}

/**
 * Runs that back off before their next attempt: `count` runs in lanes of their own, each claimed and queued again an
 * hour from now (requeue_run, as a runbook run with attempts left is), so they head their lanes but may not run.
 */
async function backingOff(store: PostgresStore, count: number): Promise<void> {
  const sessions: Session[] = [];
  for (let i = 0; i < count / 4; i += 250) {
    sessions.push(...(await Promise.all(Array.from({ length: Math.min(250, count / 4 - i) }, (_, k) => store.createSession({ title: `backing off ${i + k}` })))));
  }
  const runs = sessions.flatMap((s) => s.lanes.map((lane) => ({ session_id: s.id, lane, intent: 'later' })));
  for (let i = 0; i < runs.length; i += 5000) await store.createRuns(runs.slice(i, i + 5000));
  await store.registerWorker({ id: 'backoff-setup', host: os.hostname(), pid: process.pid, concurrency: 1, labels: {}, version: 'bench' });
  for (let left = count; left > 0; ) {
    const claimed = await store.claimRuns('backoff-setup', 500, { sessions: sessions.map((s) => s.id) });
    await Promise.all(claimed.map((r) => store.requeueRun({ runId: r.id, workerId: 'backoff-setup', attempt: r.attempt }, 3600, 'backing off')));
    left -= claimed.length;
  }
}

async function drainScenario(concurrency: number, lanes: 'distinct' | 100, backingOffRuns = 0): Promise<{ perSec: number; seconds: number; statements: number }> {
  const db = await createTestDatabase('ocr_bench');
  const store = new PostgresStore({ url: db.url });
  try {
    await store.migrate();
    if (backingOffRuns > 0) await backingOff(store, backingOffRuns);
    const sessionCount = lanes === 'distinct' ? RUNS / 4 : 25;
    const sessions: Session[] = [];
    for (let i = 0; i < sessionCount; i += 500) {
      sessions.push(...(await Promise.all(Array.from({ length: Math.min(500, sessionCount - i) }, (_, k) => store.createSession({ title: `bench ${i + k}` })))));
    }
    const inputs = Array.from({ length: RUNS }, (_, i) => {
      const s = sessions[i % sessions.length]!;
      return { session_id: s.id, lane: s.lanes[Math.floor(i / sessions.length) % 4]!, intent: 'noop' };
    });
    for (let i = 0; i < inputs.length; i += 5000) await store.createRuns(inputs.slice(i, i + 5000));
    const children = Array.from({ length: WORKERS }, (_, i) => fork(__filename, ['worker', db.url, `w${i}`, String(concurrency)], { stdio: 'inherit' }));
    await new Promise((r) => setTimeout(r, 500)); // let them connect
    const done = children.map((c) => new Promise<WorkerMessage>((resolve) => c.once('message', (m) => resolve(m as WorkerMessage))));
    const t0 = performance.now();
    for (const c of children) c.send('go');
    // the drain is over when the database holds no unfinished run
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const unfinished = `select count(*)::int as n from ops.runs where status in ('queued', 'running') and run_after is null`;
    while ((await sql.query<{ n: number }>(unfinished)).rows[0]!.n > 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (performance.now() - t0) / 1000;
    await sql.end();
    for (const c of children) c.send('stop');
    const results = await Promise.all(done);
    const finished = results.reduce((a, r) => a + r.finished, 0);
    if (finished !== RUNS) throw new Error(`finished ${finished} of ${RUNS} runs`);
    return { perSec: RUNS / seconds, seconds, statements: results.reduce((a, r) => a + r.statements, 0) };
  } finally {
    await store.close();
    await db.drop();
  }
}

async function latencyScenario(): Promise<{ p50: number; p99: number; max: number }> {
  const db = await createTestDatabase('ocr_bench');
  const store = new PostgresStore({ url: db.url });
  try {
    await store.migrate();
    const session = await store.createSession({ title: 'latency' });
    const child = fork(__filename, ['listener', db.url], { stdio: 'inherit' });
    await new Promise((resolve) => child.once('message', resolve));
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const run = await store.createRun({ session_id: session.id, lane: 'ABCD'[i % 4]!, intent: 'noop' });
      let claimed: Run;
      for (;;) {
        claimed = await store.getRun(run.id);
        if (claimed.claimed_at) break;
        await new Promise((r) => setTimeout(r, 1));
      }
      // both timestamps come from the database's clock: queued (insert) to claimed (claim transaction)
      samples.push(Date.parse(claimed.claimed_at!) - Date.parse(claimed.created_at));
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 10));
    }
    child.send('stop');
    samples.sort((a, b) => a - b);
    const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
    return { p50: at(0.5), p99: at(0.99), max: samples[samples.length - 1]! };
  } finally {
    await store.close();
    await db.drop();
  }
}

async function main(): Promise<void> {
  const [role, url, id, concurrency] = process.argv.slice(2);
  if (role === 'worker') return workerRole(url!, id!, Number(concurrency));
  if (role === 'listener') return listenerRole(url!);

  const admin = new pg.Client({ connectionString: testServerUrl() });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  await admin.end();
  console.log(`# Queue benchmark — ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, PostgreSQL ${version}, Node ${process.version}\n`);
  console.log(`${RUNS.toLocaleString('en')} no-op runs, ${WORKERS} worker processes, each the engine's Worker with an in-process executor that does no work.\n`);
  console.log('| scenario | slots per worker | runs/s | seconds | finish_and_claim statements |');
  console.log('|---|---:|---:|---:|---:|');
  for (const lanes of ['distinct', 100] as const) {
    for (const concurrency of [1, 8]) {
      const r = await drainScenario(concurrency, lanes);
      const label = lanes === 'distinct' ? 'distinct lanes' : '100 busy lanes';
      console.log(`| ${label} | ${concurrency} | ${Math.round(r.perSec).toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${r.statements.toLocaleString('en')} |`);
    }
  }
  // the claim walks only lanes whose head may run: runs waiting out a backoff cost it nothing
  const r = await drainScenario(8, 'distinct', BACKING_OFF);
  console.log(`| distinct lanes, ${BACKING_OFF.toLocaleString('en')} runs backing off in other lanes | 8 | ${Math.round(r.perSec).toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${r.statements.toLocaleString('en')} |`);
  const l = await latencyScenario();
  console.log(`\nQueue-to-claim latency with an idle listening worker (${LATENCY_SAMPLES} runs, one at a time): p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
