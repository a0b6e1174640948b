import { describe, expect, it } from 'vitest';
import { BoardStore, countByStatus, pickableSessions, summaryText } from './board-store';
import { hostNotification } from './protocol';
import { artifact, diff, run, session, snapshot, steps, t0 } from './test/fixtures';

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

describe('the board of runbook runs', () => {
  it('keeps the steps of each run in order, replaced by each delta, and its artifacts; none for runs it does not show', () => {
    const s = session();
    const r = run(s, { status: 'running', executor: 'runbook' });
    const board = new BoardStore(() => t0);
    const plan = steps(r, [
      ['build', 'succeeded'],
      ['test', 'running'],
    ]);
    board.apply(hostNotification('snapshot', snapshot(s, [r], { steps: [plan[1]!, plan[0]!], artifacts: [artifact(r, 'file', 'a.txt')] })));
    expect(board.getState().steps.get(r.id)?.map((x) => x.step_id)).toEqual(['build', 'test']);
    expect(board.getState().artifacts.get(r.id)?.map((a) => a.name)).toEqual(['a.txt']);
    expect(board.apply(hostNotification('steps', { run_id: r.id, steps: [{ ...plan[1]!, status: 'succeeded' }, plan[0]!] }))).toBe(true);
    expect(board.getState().steps.get(r.id)?.map((x) => `${x.step_id}:${x.status}`)).toEqual(['build:succeeded', 'test:succeeded']);
    expect(board.apply(hostNotification('steps', { run_id: crypto.randomUUID(), steps: [] }))).toBe(false);
    expect(board.apply(hostNotification('artifacts', { run_id: crypto.randomUUID(), artifacts: [] }))).toBe(false);
    board.apply(hostNotification('snapshot', snapshot(s, [r])));
    expect(board.getState().steps.size).toBe(0);
  });
});
