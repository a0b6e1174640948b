import { describe, expect, it } from 'vitest';
import { columnsFor, laneNames, laneView, shownRun } from './lane';
import { hostNotification } from './protocol';
import { liveness } from './run';
import { BoardStore, countByStatus, pickableSessions, summaryText } from './session';
import { diff, run, session, snapshot, t0 } from './test/fixtures';

describe('the board', () => {
  it('ignores deltas before the first snapshot and deltas of another session', () => {
    const s = session();
    const board = new BoardStore(() => t0);
    expect(board.apply(hostNotification('runs', { session_id: s.id, runs: [run(s)] }))).toBe(false);
    board.apply(hostNotification('snapshot', snapshot(s)));
    const other = session();
    expect(board.apply(hostNotification('runs', { session_id: other.id, runs: [run(other)] }))).toBe(false);
    expect(board.getState().runs.size).toBe(0);
  });

  it('never goes back to an older version of a run', () => {
    const s = session();
    const queued = run(s, { updated_at: '2025-01-01T00:00:05.000Z' });
    const board = new BoardStore(() => t0);
    board.apply(hostNotification('snapshot', snapshot(s, [queued])));
    const running = { ...queued, status: 'running' as const, updated_at: '2025-01-01T00:00:06.000Z' };
    board.apply(hostNotification('runs', { session_id: s.id, runs: [running] }));
    board.apply(hostNotification('runs', { session_id: s.id, runs: [queued] }));
    expect(board.getState().runs.get(queued.id)?.status).toBe('running');
  });

  it('replaces everything with a new snapshot, diffs included, and learns the host clock', () => {
    const s = session();
    const done = run(s, { status: 'succeeded' });
    const board = new BoardStore(() => t0);
    board.apply(hostNotification('snapshot', snapshot(s, [run(s), done], { diffs: [diff(done)], now: new Date(t0 + 5000).toISOString() })));
    expect(board.getState().clockOffsetMs).toBe(5000);
    expect(board.getState().diffs.get(done.id)?.files).toBe(2);
    const next = session({ title: 'Other' });
    board.apply(hostNotification('snapshot', snapshot(next)));
    expect(board.getState().session?.title).toBe('Other');
    expect(board.getState().runs.size).toBe(0);
    expect(board.getState().diffs.size).toBe(0);
  });

  it('summarizes the session as the header says it', () => {
    const s = session();
    const runs = [run(s, { status: 'running' }), run(s, { status: 'running', lane: 'B' }), run(s), run(s), run(s), run(s, { status: 'failed' })];
    for (let i = 0; i < 5; i++) runs.push(run(s, { status: 'succeeded' }));
    expect(summaryText(countByStatus(runs))).toBe('2 running · 3 queued · 5 succeeded · 1 failed · 0 canceled');
  });

  it('lists archived sessions only when asked, but always the shown one', () => {
    const active = session();
    const archived = session({ status: 'archived' });
    expect(pickableSessions([active, archived], false, null)).toEqual([active]);
    expect(pickableSessions([active, archived], true, null)).toEqual([active, archived]);
    expect(pickableSessions([active, archived], false, archived.id)).toEqual([active, archived]);
  });
});

describe('a lane', () => {
  it('orders its queue as the queue will: lower priority first, then oldest', () => {
    const s = session();
    const first = run(s, { intent: 'first' });
    const second = run(s, { intent: 'second' });
    const urgent = run(s, { intent: 'urgent', priority: 0 });
    const view = laneView('A', [first, second, urgent, run(s, { lane: 'B' })]);
    expect(view.queued.map((q) => [q.position, q.run.intent])).toEqual([
      [1, 'urgent'],
      [2, 'first'],
      [3, 'second'],
    ]);
    expect(view.current).toBeNull();
  });

  it('shows the running run, else the newest finished one, and keeps the rest as history', () => {
    const s = session();
    const old = run(s, { status: 'failed' });
    const last = run(s, { status: 'succeeded' });
    expect(laneView('A', [old, last]).current?.id).toBe(last.id);
    expect(laneView('A', [old, last]).history.map((r) => r.id)).toEqual([old.id]);
    const running = run(s, { status: 'running' });
    const view = laneView('A', [old, last, running]);
    expect(view.current?.id).toBe(running.id);
    expect(view.history.map((r) => r.id)).toEqual([last.id, old.id]);
    expect(shownRun(view, old.id)?.id).toBe(old.id);
    expect(shownRun(view, 'gone')?.id).toBe(running.id);
  });

  it('keeps the session’s lanes and adds lanes that runs name', () => {
    const s = session({ lanes: ['A', 'B'] });
    expect(laneNames(s, [run(s, { lane: 'Z' }), run(s, { lane: 'A' })])).toEqual(['A', 'B', 'Z']);
  });

  it('lays lanes out in 1, 2 or 4 columns', () => {
    expect(columnsFor(500, 4)).toBe(1);
    expect(columnsFor(900, 4)).toBe(2);
    expect(columnsFor(1600, 4)).toBe(4);
    expect(columnsFor(1600, 2)).toBe(2);
    expect(columnsFor(1600, 1)).toBe(1);
  });
});

describe('a run', () => {
  it('reads its worker as alive while the lease is well ahead, and as expiring near its end', () => {
    const s = session();
    const r = run(s, { status: 'running', heartbeat_at: new Date(t0).toISOString(), lease_expires_at: new Date(t0 + 30_000).toISOString() });
    expect(liveness(r, t0 + 5_000)).toBe('live');
    expect(liveness(r, t0 + 25_000)).toBe('expiring');
    expect(liveness({ ...r, status: 'succeeded' }, t0)).toBe('none');
  });
});
