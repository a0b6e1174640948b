// A real worker on real PostgreSQL gives each lane's runs the lane's ports: OCR_PORT and OCR_PORT_COUNT in their
// environment, different for two lanes, the same for a lane's later runs, on the session's snapshot, and free again
// for other lanes once the session is archived.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type LanePorts, type Run, type Session } from '../../domain';
import { eventually, tempDir } from '../engine/git.test-support';
import { Worker } from '../engine/worker';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const dir = tempDir();
const workers: Worker[] = [];

beforeAll(async () => {
  db = await createTestDatabase('ocr_ports_worker');
  store = await openStore(db.url);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

async function startWorker(session: Session): Promise<void> {
  const worker = new Worker(store, { worktreeRoot: path.join(dir.path, 'worktrees'), sessions: [session.id], pollMs: 200, recoverMs: 500 });
  workers.push(worker);
  await worker.start();
}

async function finished(runId: string): Promise<Run> {
  let run = await store.getRun(runId);
  await eventually(async () => isFinal((run = await store.getRun(runId)).status), `run ${runId} finished`, 30_000);
  return run;
}

/** What the run printed, and the worker's own lines about its ports. */
async function output(runId: string): Promise<{ stdout: string[]; notes: string[] }> {
  const events = await store.listEvents(runId);
  return {
    stdout: events.filter((e) => e.stream === 'stdout').map((e) => e.text),
    notes: events.filter((e) => e.stream === 'system' && /leased ports/.test(e.text)).map((e) => e.text),
  };
}

const echoPorts = 'echo "$OCR_PORT $OCR_PORT_COUNT"';

describe('ports of a lane, with a real worker', () => {
  it('exports the lane\'s ports to each of its runs, different per lane, the same for its later runs, freed on archive', async () => {
    const session = await store.createSession({ title: 'servers', lanes: ['A', 'B'] });
    const snapshots: LanePorts[][] = [];
    const watch = store.watchSession(session.id, (s) => snapshots.push(s.ports), { pollMs: 200 });
    const [a1, b1] = await store.createRuns([
      { session_id: session.id, lane: 'A', intent: echoPorts },
      { session_id: session.id, lane: 'B', intent: echoPorts },
    ]);
    await startWorker(session);
    expect((await finished(a1!.id)).status).toBe('succeeded');
    expect((await finished(b1!.id)).status).toBe('succeeded');
    const a2 = await store.createRun({ session_id: session.id, lane: 'A', intent: echoPorts });
    expect((await finished(a2.id)).status).toBe('succeeded');

    const leased = await store.listLanePorts(session.id);
    const of = (lane: string) => leased.find((p) => p.lane === lane)!;
    const [outA1, outB1, outA2] = await Promise.all([output(a1!.id), output(b1!.id), output(a2.id)]);
    expect(outA1.stdout).toEqual([`${of('A').port_base} 10`]);
    expect(outB1.stdout).toEqual([`${of('B').port_base} 10`]);
    expect(of('A').port_base).not.toBe(of('B').port_base);
    expect(outA2.stdout).toEqual(outA1.stdout);
    // the log says so once, when the lane takes its range
    const range = (p: LanePorts) => `ports ${p.port_base}–${p.port_base + p.port_count - 1}`;
    expect(outA1.notes).toEqual([`lane A leased ${range(of('A'))} ($OCR_PORT, $OCR_PORT_COUNT) until its session is archived`]);
    expect(outA2.notes).toEqual([]);
    // the session's snapshot, what the editor shows, carries both ranges
    await eventually(() => snapshots.at(-1)?.length === 2, 'a snapshot with both lanes\' ports');
    expect(snapshots.at(-1)!.map((p) => [p.lane, p.port_base])).toEqual([['A', of('A').port_base], ['B', of('B').port_base]]);

    await store.archiveSession(session.id);
    expect(await store.listLanePorts(session.id)).toEqual([]);
    await eventually(() => snapshots.at(-1)?.length === 0, 'a snapshot without ports');
    watch.dispose();

    // the range lane A had is the first free one again: a lane of another session gets it
    const next = await store.createSession({ title: 'next', lanes: ['A'] });
    const n1 = await store.createRun({ session_id: next.id, lane: 'A', intent: echoPorts });
    await startWorker(next);
    await finished(n1.id);
    expect((await output(n1.id)).stdout).toEqual([`${Math.min(of('A').port_base, of('B').port_base)} 10`]);
  });

  it('a run cannot set OCR_PORT itself through its spec', async () => {
    const session = await store.createSession({ title: 'no override', lanes: ['A'] });
    await expect(store.createRun({ session_id: session.id, lane: 'A', intent: echoPorts, spec: { env: { OCR_PORT: '80' } } })).resolves.toBeDefined();
    await startWorker(session);
    const [run] = await store.listRuns({ sessionId: session.id });
    const done = await finished(run!.id);
    // refused by the worker's allow-list before anything runs: OCR_* names are the worker's own
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/OCR_PORT/);
  });
});
