import { describe, expect, it } from 'vitest';
import { columnsFor, laneNames, laneView, shownRun } from './lane';
import { run, session } from './test/fixtures';

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
