import { describe, expect, it } from 'vitest';
import { FrameScheduler } from './frame';
import { LogStore } from './log-store';
import { hostNotification, type WebviewNotification } from './protocol';
import { lines, logOf } from './test/fixtures';

function store(options?: { maxLines?: number; keepHidden?: number }) {
  const sent: WebviewNotification[] = [];
  const frames: Array<() => void> = [];
  const logs = new LogStore(
    { notify: (method, params) => void sent.push({ kind: 'notify', method, params } as WebviewNotification) },
    new FrameScheduler((cb) => frames.push(cb)),
    { maxLines: options?.maxLines ?? 1000, keepHidden: options?.keepHidden ?? 2 },
  );
  const frame = () => {
    for (const cb of frames.splice(0)) cb();
  };
  return { logs, sent, frame, frames };
}

describe('following logs', () => {
  it('follows the shown runs, stops following hidden ones, and asks again from the last line after a snapshot', () => {
    const { logs, sent } = store();
    logs.want(['a', 'b']);
    expect(sent.map((m) => [m.method, m.params])).toEqual([
      ['followLog', { run_id: 'a', after_seq: 0 }],
      ['followLog', { run_id: 'b', after_seq: 0 }],
    ]);
    logs.receive(hostNotification('log', logOf('a', lines(1, 5))));
    sent.length = 0;
    logs.want(['a']);
    expect(sent.map((m) => m.method)).toEqual(['unfollowLog']);
    sent.length = 0;
    logs.want(['a'], { resync: true });
    expect(sent.map((m) => m.params)).toEqual([{ run_id: 'a', after_seq: 5 }]);
  });

  it('keeps the lines of a run it queued, which the host follows unasked, and stops that follower when it does not show the run', () => {
    const { logs, sent } = store();
    logs.expect('new');
    logs.receive(hostNotification('log', logOf('new', lines(1, 2))));
    expect(logs.get('new')?.lastSeq).toBe(2);
    logs.want(['new']);
    expect(sent, 'the host already follows it: no second request').toEqual([]);
    logs.expect('behind');
    logs.want(['new']);
    expect(sent.map((m) => [m.method, m.params])).toEqual([['unfollowLog', { run_id: 'behind' }]]);
  });

  it('does not follow a log the host said is complete', () => {
    const { logs, sent } = store();
    logs.want(['a']);
    logs.receive(hostNotification('log', logOf('a', lines(1, 2))));
    logs.receive(hostNotification('logEnd', { run_id: 'a' }));
    sent.length = 0;
    logs.want(['a'], { resync: true });
    logs.want([]);
    logs.want(['a']);
    expect(sent).toEqual([]);
    expect(logs.get('a')?.ended).toBe(true);
  });

  it('repairs a gap once, by following again from the last line it has', () => {
    const { logs, sent } = store();
    logs.want(['a']);
    logs.receive(hostNotification('log', logOf('a', lines(1, 3))));
    sent.length = 0;
    logs.receive(hostNotification('log', logOf('a', lines(10, 3))));
    logs.receive(hostNotification('log', logOf('a', lines(13, 3))));
    expect(sent.map((m) => m.params)).toEqual([{ run_id: 'a', after_seq: 3 }]);
    logs.receive(hostNotification('log', logOf('a', lines(4, 12))));
    expect(logs.get('a')?.lastSeq).toBe(15);
  });

  it('tells its readers once per frame, however many batches arrived', () => {
    const { logs, frame, frames } = store();
    logs.want(['a']);
    let told = 0;
    logs.subscribe('a', () => told++);
    for (let i = 0; i < 50; i++) logs.receive(hostNotification('log', logOf('a', lines(1 + i * 10, 10))));
    expect(told).toBe(0);
    expect(frames.length).toBe(1);
    frame();
    expect(told).toBe(1);
    expect(logs.version('a')).toBe(1);
    expect(logs.get('a')?.length).toBe(500);
  });

  it('forgets the oldest hidden logs beyond its limit', () => {
    const { logs } = store({ keepHidden: 1 });
    for (const id of ['a', 'b', 'c']) {
      logs.want([id]);
      logs.receive(hostNotification('log', logOf(id, lines(1, 1))));
    }
    logs.want(['d']);
    expect(logs.get('a')).toBeUndefined();
    expect(logs.get('b')).toBeUndefined();
    expect(logs.get('c')).toBeDefined();
  });
});
