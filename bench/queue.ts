// Queue benchmark: claims per second for 4 worker processes on PostgreSQL, and the latency from queuing a run to a
// listening worker's claim. Prints a markdown table. Run with `npm run bench:queue`.
import { fork } from 'node:child_process';
import os from 'node:os';
import { PostgresStore } from '../worker/store/postgres';
import { createTestDatabase, testServerUrl } from '../worker/store/testing';
import type { Run, Session } from '../domain';
import pg from 'pg';

const RUNS = Number(process.env.BENCH_RUNS ?? 20_000);
const WORKERS = 4;
const LATENCY_SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 300);

interface WorkerMessage {
  claimed: number;
  claimCalls: number;
}

// A worker process: claim up to `batch` runs and finish them (in one call when batched), until the queue is empty.
async function workerRole(url: string, id: string, batch: number): Promise<void> {
  const store = new PostgresStore({ url, poolSize: 2 });
  let claimed = 0;
  let claimCalls = 0;
  let empty = 0;
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  while (empty < 3) {
    claimCalls++;
    const runs = await store.claimRuns(id, batch);
    if (runs.length === 0) {
      // lanes may all be busy with other workers' runs: stop only when nothing is left to claim
      if ((await store.listRuns({ status: ['queued'], limit: 1 })).length === 0) empty++;
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    empty = 0;
    claimed += runs.length;
    if (batch === 1) await store.finishRun({ runId: runs[0]!.id, workerId: id, attempt: runs[0]!.attempt }, { status: 'succeeded', exitCode: 0 });
    else await store.finishRuns(id, runs.map((r) => ({ runId: r.id, attempt: r.attempt, status: 'succeeded' as const, exitCode: 0 })));
  }
  await store.close();
  process.send!({ claimed, claimCalls } satisfies WorkerMessage);
}

// A listening worker: claims as soon as it is told a run is queued.
async function listenerRole(url: string): Promise<void> {
  const store = new PostgresStore({ url, poolSize: 2 });
  let busy = false;
  let again = false;
  const drain = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const runs = await store.claimRuns('listener', 8);
        await Promise.all(runs.map((r) => store.finishRun({ runId: r.id, workerId: 'listener', attempt: r.attempt }, { status: 'succeeded', exitCode: 0 })));
      } while (again);
    } finally {
      busy = false;
    }
  };
  store.onQueueChange(() => void drain());
  await store.listening();
  process.send!({ ready: true });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  await store.close();
  process.exit(0);
}

async function drainScenario(batch: number, lanes: 'distinct' | 100): Promise<{ perSec: number; seconds: number; claimCalls: number }> {
  const db = await createTestDatabase('ocr_bench');
  const store = new PostgresStore({ url: db.url });
  try {
    await store.migrate();
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
    const children = Array.from({ length: WORKERS }, (_, i) => fork(__filename, ['worker', db.url, `w${i}`, String(batch)], { stdio: 'inherit' }));
    await new Promise((r) => setTimeout(r, 500)); // let them connect
    const done = children.map((c) => new Promise<WorkerMessage>((resolve) => c.once('message', (m) => resolve(m as WorkerMessage))));
    const t0 = performance.now();
    for (const c of children) c.send('go');
    const results = await Promise.all(done);
    const seconds = (performance.now() - t0) / 1000;
    const claimed = results.reduce((a, r) => a + r.claimed, 0);
    if (claimed !== RUNS) throw new Error(`claimed ${claimed} of ${RUNS} runs`);
    return { perSec: RUNS / seconds, seconds, claimCalls: results.reduce((a, r) => a + r.claimCalls, 0) };
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
  const [role, url, id, batch] = process.argv.slice(2);
  if (role === 'worker') return workerRole(url!, id!, Number(batch));
  if (role === 'listener') return listenerRole(url!);

  const admin = new pg.Client({ connectionString: testServerUrl() });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  await admin.end();
  console.log(`# Queue benchmark — ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, PostgreSQL ${version}, Node ${process.version}\n`);
  console.log(`${RUNS.toLocaleString('en')} no-op runs, ${WORKERS} worker processes, each claiming a batch of runs then finishing them (batch 10: one finish_runs call).\n`);
  console.log('| scenario | batch | claims/s | seconds | claim calls |');
  console.log('|---|---:|---:|---:|---:|');
  for (const lanes of ['distinct', 100] as const) {
    for (const batch of [1, 10]) {
      const r = await drainScenario(batch, lanes);
      const label = lanes === 'distinct' ? 'distinct lanes' : '100 busy lanes';
      console.log(`| ${label} | ${batch} | ${Math.round(r.perSec).toLocaleString('en')} | ${r.seconds.toFixed(2)} | ${r.claimCalls.toLocaleString('en')} |`);
    }
  }
  const l = await latencyScenario();
  console.log(`\nQueue-to-claim latency with an idle listening worker (${LATENCY_SAMPLES} runs, one at a time): p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
