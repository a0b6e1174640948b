// Ports per lane on real PostgreSQL: leased once per lane by the worker that holds one of its runs, unique across every
// session of the database even when eight lanes lease at the same moment on eight connections, the same for the lane's
// later runs, refused with a clear error when the window is full, and free again once the session is archived.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run, Session } from '../../domain';
import { openStore } from '../store/open';
import { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import type { Lease } from '../store/types';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const extraStores: PostgresStore[] = [];

beforeAll(async () => {
  db = await createTestDatabase('ocr_ports');
  store = await openStore(db.url);
});

afterAll(async () => {
  for (const s of extraStores) await s.close().catch(() => undefined);
  await store?.close();
  await db?.drop();
});

const lanes = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));

/** A store of its own (its own pool: its own connections) with a worker registered on it holding one run of `lane`. */
async function holder(session: Session, lane: string, id: string): Promise<{ store: PostgresStore; lease: Lease; run: Run }> {
  const own = new PostgresStore({ url: db.url, poolSize: 1 });
  extraStores.push(own);
  await own.registerWorker({ id, host: 'test', pid: 1, concurrency: 1, labels: {} });
  await store.createRun({ session_id: session.id, lane, intent: `serve ${lane}` });
  const [run] = await own.claimRuns(id, 1, { sessions: [session.id], lanes: [lane] });
  if (!run) throw new Error(`no run of lane ${lane} to claim`);
  return { store: own, lease: { runId: run.id, workerId: id, attempt: run.attempt }, run };
}

async function finish(h: { store: PostgresStore; lease: Lease }): Promise<void> {
  await h.store.finishAndClaim(h.lease.workerId, [{ runId: h.lease.runId, attempt: h.lease.attempt, status: 'succeeded', exitCode: 0 }], 0);
}

describe('lane ports', () => {
  let first: Session;

  it('gives 8 lanes leasing at once on 8 connections 8 ranges that do not overlap', async () => {
    first = await store.createSession({ title: 'eight lanes', lanes: lanes(8) });
    const holders = await Promise.all(lanes(8).map((lane, i) => holder(first, lane, `ports-w${i}`)));
    // all at once: each on a connection of its own
    const leased = await Promise.all(holders.map((h) => h.store.leaseLanePorts(h.lease)));
    expect(leased.map((p) => p.lane)).toEqual(lanes(8));
    expect(leased.every((p) => p.port_count === 10 && p.session_id === first.id)).toBe(true);
    const bases = leased.map((p) => p.port_base).sort((a, b) => a - b);
    expect(bases).toEqual([20000, 20010, 20020, 20030, 20040, 20050, 20060, 20070]);
    expect((await store.listLanePorts(first.id)).map((p) => [p.lane, p.port_base, p.leased_by])).toEqual(
      leased.map((p, i) => [p.lane, p.port_base, `ports-w${i}`]),
    );
    for (const h of holders) await finish(h);
  });

  it('gives a lane the same range for every later run, and another session the next free ones', async () => {
    const before = await store.listLanePorts(first.id);
    const again = await holder(first, 'C', 'ports-again');
    expect(await again.store.leaseLanePorts(again.lease)).toEqual(before.find((p) => p.lane === 'C'));
    // asking twice in one run changes nothing either, whatever count it asks
    expect((await again.store.leaseLanePorts(again.lease, 3)).port_base).toBe(before.find((p) => p.lane === 'C')!.port_base);
    await finish(again);

    const second = await store.createSession({ title: 'another session', lanes: ['A'] });
    const other = await holder(second, 'A', 'ports-other');
    expect(await other.store.leaseLanePorts(other.lease)).toMatchObject({ session_id: second.id, lane: 'A', port_base: 20080, port_count: 10 });
    await finish(other);
    await store.archiveSession(second.id);
  });

  it('frees a session\'s ranges when it is archived, for the next lanes to take', async () => {
    await store.archiveSession(first.id);
    expect(await store.listLanePorts(first.id)).toEqual([]);
    const next = await store.createSession({ title: 'after the archive', lanes: ['A', 'B'] });
    const a = await holder(next, 'A', 'ports-next-a');
    const b = await holder(next, 'B', 'ports-next-b');
    expect((await a.store.leaseLanePorts(a.lease)).port_base).toBe(20000);
    // a wider range takes the first gap it fits in
    expect((await b.store.leaseLanePorts(b.lease, 25)).port_base).toBe(20010);
    await finish(a);
    await finish(b);
    await store.archiveSession(next.id);
  });

  it('says what to do when the window is full, and refuses a count out of range', async () => {
    const full = await store.createSession({ title: 'greedy', lanes: lanes(11) });
    const holders = await Promise.all(lanes(11).map((lane, i) => holder(full, lane, `ports-greedy-${i}`)));
    for (const h of holders.slice(0, 10)) await h.store.leaseLanePorts(h.lease, 1000);
    const last = holders[10]!;
    const refused = await last.store.leaseLanePorts(last.lease, 1).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'invalid_state' });
    expect((refused as Error).message).toBe('no free range of 1 ports in 20000-29999: every one is leased by a lane of a session that is not archived');
    expect((refused as { hint?: string }).hint).toMatch(/archive the sessions you are done with/);
    await expect(last.store.leaseLanePorts(last.lease, 0)).rejects.toMatchObject({ code: 'invalid_input', message: 'port count: 0 is not 1 to 1000' });
    for (const h of holders) await finish(h);
    await store.archiveSession(full.id);
  });

  it('leases only for a run the worker holds, and none for an archived session', async () => {
    const session = await store.createSession({ title: 'fenced', lanes: ['A'] });
    const h = await holder(session, 'A', 'ports-fenced');
    await expect(h.store.leaseLanePorts({ ...h.lease, attempt: h.lease.attempt + 1 })).rejects.toMatchObject({ code: 'lease_lost' });
    // archived while its run still runs (being stopped): no new range
    await store.archiveSession(session.id);
    await expect(h.store.leaseLanePorts(h.lease)).rejects.toMatchObject({ code: 'invalid_state', message: `session ${session.id} is archived: its lanes get no ports` });
    expect(await store.listLanePorts(session.id)).toEqual([]);
  });

  it('tells which sessions short ids name, archived or not, and how many of their runs still run', async () => {
    const live = await store.createSession({ title: 'live', lanes: ['A'] });
    const h = await holder(live, 'A', 'ports-short');
    const short = (id: string) => id.replace(/-/g, '').slice(0, 8);
    const answer = await store.worktreeSessions([short(live.id), short(first.id), 'ffffffff']);
    expect(answer).toEqual(
      expect.arrayContaining([
        { shortId: short(live.id), sessionId: live.id, status: 'active', running: 1 },
        { shortId: short(first.id), sessionId: first.id, status: 'archived', running: 0 },
      ]),
    );
    expect(answer.some((s) => s.shortId === 'ffffffff')).toBe(false);
    await expect(store.worktreeSessions(['../etc'])).rejects.toMatchObject({ code: 'invalid_input' });
    await finish(h);
  });
});
