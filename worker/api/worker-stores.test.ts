// The worker engine's main scenarios (drain, cancel, fencing, recovery) on both of its stores: PostgreSQL directly, and
// the ops-api edge function over HTTP with a worker token. Same engine, same outcomes.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type Run, type RunEvent } from '../../domain';
import { alive, eventually, groupMembers, tempDir } from '../engine/git.test-support';
import { Worker, type WorkerOptions } from '../engine/worker';
import type { WorkerStore } from '../store/store';
import { HttpWorkerStore } from './http-store';
import { opsApiFixture, type OpsApiFixture } from './ops-api.test-fixture';

let f: OpsApiFixture;
const dir = tempDir();
const worktreeRoot = path.join(dir.path, 'worktrees');
const workers: Worker[] = [];
const stores: HttpWorkerStore[] = [];

beforeAll(async () => {
  f = await opsApiFixture();
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await f?.close();
  dir.remove();
});

async function finished(runId: string, limitMs = 30_000): Promise<Run> {
  let run = await f.store.getRun(runId);
  await eventually(async () => isFinal((run = await f.store.getRun(runId)).status), `run ${runId} finished`, limitMs);
  return run;
}

async function allEvents(runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (;;) {
    const batch = await f.store.listEvents(runId, events.at(-1)?.seq ?? 0, 5000);
    if (batch.length === 0) return events;
    events.push(...batch);
  }
}

async function waitForLine(runId: string, pattern: RegExp): Promise<RegExpMatchArray> {
  let match: RegExpMatchArray | null = null;
  await eventually(async () => {
    for (const e of await allEvents(runId)) if ((match = pattern.exec(e.text))) return true;
    return false;
  }, `a line matching ${pattern}`);
  return match!;
}

describe.each(['postgres', 'http'] as const)('the worker engine on the %s store', (kind) => {
  const storeFor = (): WorkerStore => {
    if (kind === 'postgres') return f.store;
    const http = new HttpWorkerStore({ url: f.api.url, token: f.token, waitMs: 5000 });
    stores.push(http);
    return http;
  };

  async function startWorker(session: string, options: WorkerOptions = {}): Promise<Worker> {
    const worker = new Worker(storeFor(), { worktreeRoot, sessions: [session], pollMs: 500, recoverMs: 500, ...options, id: `${kind}-${options.id ?? 'w'}-${session.slice(0, 8)}` });
    workers.push(worker);
    await worker.start();
    return worker;
  }

  it('drains: 4 lanes at once, the runs of one lane one after another, each with its output', async () => {
    const session = await f.sessionOfA(`${kind} drain`);
    const runs = await f.store.createRuns(['A', 'B', 'C', 'D'].flatMap((lane) => [1, 2].map((i) => ({ session_id: session, lane, intent: `sleep 0.3; echo ${lane}${i}` }))));
    const worker = await startWorker(session, { concurrency: 4 });
    const done = await Promise.all(runs.map((r) => finished(r.id)));
    await worker.whenIdle();
    expect(done.every((r) => r.status === 'succeeded' && r.exit_code === 0 && r.claimed_by === worker.id)).toBe(true);
    for (const lane of ['A', 'B', 'C', 'D']) {
      const [first, second] = done.filter((r) => r.lane === lane).sort((a, b) => a.seq - b.seq);
      expect(Date.parse(second!.started_at!)).toBeGreaterThanOrEqual(Date.parse(first!.finished_at!));
    }
    for (const r of done) expect((await allEvents(r.id)).map((e) => e.text)).toContain(`${r.lane}${r.intent.slice(-1)}`);
  });

  it('cancel: a running sleep 600 and its children end, and the run is canceled', async () => {
    const session = await f.sessionOfA(`${kind} cancel`, ['A']);
    const run = await f.store.createRun({ session_id: session, lane: 'A', intent: 'sleep 600 & echo "child $!"; sleep 600' });
    const worker = await startWorker(session);
    const child = Number((await waitForLine(run.id, /^child (\d+)$/))[1]);
    const group = worker.processGroupOf(run.id)!;
    const asked = Date.now();
    expect((await f.store.cancelRun(run.id)).outcome).toBe('cancel_requested');
    const done = await finished(run.id);
    expect(done.status).toBe('canceled');
    // the long-poll (or NOTIFY) brings the cancel well before the next heartbeat would
    expect(Date.now() - asked).toBeLessThan(4000);
    expect(groupMembers(group)).toEqual([]);
    expect(alive(child)).toBe(false);
  });

  it('fencing: a worker whose lease expired kills its run and writes nothing more for it; the next attempt finishes', async () => {
    const session = await f.sessionOfA(`${kind} fencing`, ['A']);
    const run = await f.store.createRun({
      session_id: session,
      lane: 'A',
      intent: 'if [ "$OCR_ATTEMPT" = 1 ]; then sleep 600 & echo "child $!"; wait; else echo "second attempt"; fi',
    });
    const late = await startWorker(session, { id: 'late', concurrency: 1, leaseSeconds: 2, heartbeatMs: 3500, recoverMs: 60_000 });
    const child = Number((await waitForLine(run.id, /^child (\d+)$/))[1]);
    const group = late.processGroupOf(run.id)!;
    await eventually(async () => (await f.store.recoverExpired()).some((r) => r.runId === run.id), 'lease expired and recovered');
    await eventually(() => groupMembers(group).length === 0 && !alive(child), 'the lost run was killed');
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    const texts = (await allEvents(run.id)).map((e) => e.text);
    expect(texts).toContain('second attempt');
    // attempt 1 never said how it ended: it was not its worker's to finish any more
    expect(texts.filter((t) => /^(canceled|exited)/.test(t))).toHaveLength(1);
  });

  it('recovery: a worker that stops without a word loses its run to another, which completes it', async () => {
    const session = await f.sessionOfA(`${kind} recovery`, ['A']);
    const run = await f.store.createRun({
      session_id: session,
      lane: 'A',
      intent: 'if [ "$OCR_ATTEMPT" = 1 ]; then echo "first attempt"; sleep 600; else echo "second attempt"; fi',
    });
    const doomed = await startWorker(session, { id: 'doomed', concurrency: 1, leaseSeconds: 2, heartbeatMs: 600_000, recoverMs: 60_000 });
    await waitForLine(run.id, /^first attempt$/);
    // its heartbeats stop (as if its machine lost the network); another worker recovers the run after the lease
    const rescuer = await startWorker(session, { id: 'rescuer', leaseSeconds: 2, recoverMs: 300 });
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, claimed_by: rescuer.id });
    // and the first worker, told its lease is gone, has stopped its attempt
    await eventually(() => doomed.status().running.length === 0, 'the doomed worker let go of the run');
  });
});
