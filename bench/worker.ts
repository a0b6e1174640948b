// Worker benchmark: how fast a cancel kills a run's process tree, how long a run held by a SIGKILLed worker takes to
// be running again elsewhere, and how many log lines per second reach the database end to end. Prints a markdown
// table. Run with `npm run bench:worker` (PostgreSQL at OCR_TEST_DATABASE_URL; Linux, for /proc).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker, type WorkerOptions } from '../worker/engine/worker';
import { openStore } from '../worker/store/open';
import type { Store } from '../worker/store/store';
import { createTestDatabase } from '../worker/store/testing';
import { isFinal, type Run } from '../domain';
import { percentile as nearestRank } from './peers/stats';

const CANCELS = Number(process.env.BENCH_CANCELS ?? 50);
const KILLS = Number(process.env.BENCH_KILLS ?? 3);
const LOG_LINES = Number(process.env.BENCH_LOG_LINES ?? 200_000);
const LEASE_SECONDS = Number(process.env.BENCH_LEASE_SECONDS ?? 5);
const RECOVER_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Running (not zombie) processes of a process group. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      const f = stat(pid);
      return f !== undefined && f[0] !== 'Z' && Number(f[2]) === pgid;
    });
}

const running = (pid: number) => {
  const f = stat(pid);
  return f !== undefined && f[0] !== 'Z';
};

async function until<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, limitMs = 60_000, everyMs = 1): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('benchmark step timed out');
    await sleep(everyMs);
  }
}

async function finished(store: Store, runId: string): Promise<Run> {
  return until(async () => {
    const r = await store.getRun(runId);
    return isFinal(r.status) && r;
  }, 600_000, 20);
}

/** The nearest-rank percentile of the samples (NaN for none). */
const percentile = (values: number[], p: number): number => nearestRank(values, p) ?? NaN;

const ms = (v: number) => `${v.toFixed(1)} ms`;

async function cancelLatency(store: Store, root: string): Promise<{ dead: number[]; canceled: number[] }> {
  const session = await store.createSession({ title: 'bench: cancel', lanes: ['A'] });
  const worker = new Worker(store, { id: 'bench-cancel', worktreeRoot: root, sessions: [session.id], concurrency: 1 });
  await worker.start();
  const dead: number[] = [];
  const canceled: number[] = [];
  for (let i = 0; i < CANCELS; i++) {
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 600 & sleep 600' });
    const group = await until(() => worker.processGroupOf(run.id));
    // The wrapper, the watcher, the shell and its two sleeps: the tree is complete once its leaves exist.
    const pids = await until(() => {
      const m = groupMembers(group);
      return m.length >= 5 && m;
    });
    const t0 = now();
    await store.cancelRun(run.id);
    await until(() => pids.every((p) => !running(p)), 30_000, 0.2);
    dead.push(now() - t0);
    await until(async () => (await store.getRun(run.id)).status === 'canceled', 30_000, 1);
    canceled.push(now() - t0);
  }
  await worker.stop({ graceMs: 0 });
  return { dead, canceled };
}

/** A worker in its own process, to be SIGKILLed: this same program, started with --doomed-worker. */
function doomedWorker(url: string, options: WorkerOptions) {
  const child = spawn(process.execPath, [__filename, '--doomed-worker', url, JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

async function doomedWorkerRole(url: string, options: string): Promise<void> {
  const store = await openStore(url, { migrate: false });
  await new Worker(store, JSON.parse(options) as WorkerOptions).start();
}

async function killRecovery(store: Store, url: string, root: string): Promise<Array<{ dead: number; reclaimed: number }>> {
  const samples: Array<{ dead: number; reclaimed: number }> = [];
  for (let i = 0; i < KILLS; i++) {
    const session = await store.createSession({ title: `bench: kill ${i}`, lanes: ['A'] });
    const run = await store.createRun({
      session_id: session.id,
      lane: 'A',
      intent: 'if [ "$OCR_ATTEMPT" = 1 ]; then sleep 600 & sleep 600; else true; fi',
    });
    const child = doomedWorker(url, { id: `bench-doomed-${i}`, worktreeRoot: root, sessions: [session.id], leaseSeconds: LEASE_SECONDS, recoverMs: 600_000 });
    await until(async () => (await store.getRun(run.id)).status === 'running', 60_000, 5);
    // Find the run's processes: the ones whose environment names it.
    const pids = await until(() => {
      const found = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`OCR_RUN_ID=${run.id}`);
        } catch {
          return false;
        }
      });
      return found.length >= 3 && found;
    }, 60_000, 10);
    const rescuer = new Worker(store, { id: `bench-rescuer-${i}`, worktreeRoot: root, sessions: [session.id], leaseSeconds: LEASE_SECONDS, recoverMs: RECOVER_MS });
    await rescuer.start();
    const t0 = now();
    child.kill('SIGKILL');
    await until(() => pids.every((p) => !running(p)), 30_000, 0.2);
    const dead = now() - t0;
    await until(async () => (await store.getRun(run.id)).claimed_by === rescuer.id, 120_000, 10);
    samples.push({ dead, reclaimed: now() - t0 });
    await finished(store, run.id);
    await rescuer.stop({ graceMs: 0 });
  }
  return samples;
}

async function logThroughput(store: Store, root: string): Promise<{ seconds: number; lines: number; complete: boolean }> {
  const session = await store.createSession({ title: 'bench: log', lanes: ['A'] });
  const worker = new Worker(store, { id: 'bench-log', worktreeRoot: root, sessions: [session.id] });
  await worker.start();
  const run = await store.createRun({
    session_id: session.id,
    lane: 'A',
    intent: `awk 'BEGIN { for (i = 1; i <= ${LOG_LINES}; i++) printf "line %d of the benchmark: \\033[32mok\\033[0m and some more text\\n", i }'`,
  });
  const t0 = now();
  const done = await finished(store, run.id);
  const seconds = (now() - t0) / 1000;
  await worker.stop({ graceMs: 0 });
  let count = 0;
  let last = 0;
  let ordered = true;
  for (;;) {
    const batch = await store.listEvents(run.id, last, 20_000);
    if (batch.length === 0) break;
    for (const e of batch) {
      if (e.stream !== 'stdout') continue;
      count++;
      if (!e.text.startsWith(`line ${count} `)) ordered = false;
    }
    last = batch[batch.length - 1]!.seq;
  }
  return { seconds, lines: count, complete: done.status === 'succeeded' && count === LOG_LINES && ordered };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--doomed-worker') return doomedWorkerRole(process.argv[3]!, process.argv[4]!);
  const db = await createTestDatabase('ocr_bench');
  const store = await openStore(db.url);
  const root = mkdtempSync(path.join(os.tmpdir(), 'ocr-bench-'));
  try {
    process.stderr.write(`cancel latency: ${CANCELS} cancels…\n`);
    const cancel = await cancelLatency(store, root);
    if (process.env.BENCH_SAMPLES) process.stderr.write(`cancel → dead (ms): ${cancel.dead.map((v) => v.toFixed(1)).join(' ')}\n`);
    process.stderr.write(`SIGKILL recovery: ${KILLS} workers, lease ${LEASE_SECONDS} s…\n`);
    const kills = await killRecovery(store, db.url, root);
    process.stderr.write(`log throughput: ${LOG_LINES} lines…\n`);
    const log = await logThroughput(store, root);
    const median = (v: number[]) => percentile(v, 50);
    const rows = [
      ['cancel → process tree dead, p50', ms(percentile(cancel.dead, 50)), `${CANCELS} cancels of \`sleep 600 & sleep 600\` (5 processes)`],
      ['cancel → process tree dead, p99', ms(percentile(cancel.dead, 99)), 'NOTIFY → TERM to the group → all exited'],
      ['cancel → run `canceled`, p50 / p99', `${ms(percentile(cancel.canceled, 50))} / ${ms(percentile(cancel.canceled, 99))}`, 'until its end was recorded (finish_and_claim)'],
      ['SIGKILL of worker → its run processes dead, median', ms(median(kills.map((k) => k.dead))), `${KILLS} kills; pipe EOF → watcher kills the group`],
      ['SIGKILL of worker → run running on another worker, median', ms(median(kills.map((k) => k.reclaimed))), `lease ${LEASE_SECONDS} s, recover_expired every ${RECOVER_MS / 1000} s`],
      ['log lines per second, end to end', Math.round(log.lines / log.seconds).toLocaleString('en-US'), `${log.lines.toLocaleString('en-US')} lines in ${log.seconds.toFixed(2)} s (queue → succeeded), ${log.complete ? 'all in order' : 'INCOMPLETE'}`],
    ];
    process.stdout.write(`\n| measure | value | notes |\n|---|---|---|\n${rows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`);
    process.stdout.write(`\n${os.cpus().length} cores, Node ${process.version}, ${store.description}\n`);
  } finally {
    await store.close();
    await db.drop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => {
    if (process.argv[2] !== '--doomed-worker') process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
