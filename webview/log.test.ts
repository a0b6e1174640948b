import { describe, expect, it } from 'vitest';
import { plainText, segments } from './ansi';
import { FrameScheduler } from './frame';
import { LogStore, RunLog } from './log';
import { LogSearch } from './log-search';
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

describe('a run log', () => {
  it('keeps each line once, in order, and reports a gap', () => {
    const log = new RunLog('r');
    expect(log.append(logOf('r', lines(1, 3)))).toBe('ok');
    expect(log.append(logOf('r', lines(2, 3)))).toBe('ok');
    expect(log.text).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);
    expect(log.append(logOf('r', lines(7, 2)))).toBe('gap');
    expect(log.lastSeq).toBe(4);
  });

  it('keeps the last lines within its limit and counts what it dropped', () => {
    const log = new RunLog('r', 100);
    log.append(logOf('r', lines(1, 150)));
    expect(log.length).toBeLessThanOrEqual(100);
    expect(log.dropped + log.length).toBe(150);
    expect(log.seqAt(0)).toBe(log.dropped + 1);
    expect(log.text.at(-1)).toBe('line 150');
  });

  it('shows what a terminal leaves after carriage returns, without escapes in its plain text', () => {
    const log = new RunLog('r');
    log.append(logOf('r', [{ seq: 1, stream: 'stderr', level: 'warn', text: 'progress 10%\rprogress 100%\r' }]));
    log.append(logOf('r', [{ seq: 2, stream: 'stdout', level: 'info', text: '\x1b[31mred\x1b[0m and \x1b]8;;http://x\x07link\x1b]8;;\x07' }]));
    expect(log.text[0]).toBe('progress 100%');
    expect(log.stream(0)).toBe('stderr');
    expect(log.level(0)).toBe('warn');
    expect(log.plain[1]).toBe('red and link');
  });
});

describe('ANSI', () => {
  it('maps colors to theme classes and exact colors to styles', () => {
    expect(segments('\x1b[1;32mok\x1b[0m done')).toEqual([
      { text: 'ok', className: 'ansi-fg-green ansi-bold' },
      { text: ' done', className: '' },
    ]);
    expect(segments('\x1b[38;5;9mA\x1b[38;5;208mB\x1b[48;2;1;2;3mC')).toEqual([
      { text: 'A', className: 'ansi-fg-bright-red' },
      { text: 'B', className: '', color: 'rgb(255, 135, 0)' },
      { text: 'C', className: '', color: 'rgb(255, 135, 0)', background: 'rgb(1, 2, 3)' },
    ]);
    expect(plainText('tab\there\u0007')).toBe('tab\there');
  });
});

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

describe('log search', () => {
  it('counts every occurrence, ignores case, and keeps up with new lines', () => {
    const log = new RunLog('r');
    log.append(logOf('r', lines(1, 3, (n) => (n === 2 ? 'Error: error again' : `ok ${n}`))));
    const search = new LogSearch(log);
    search.update('error');
    expect(search.count).toBe(2);
    expect(search.rangesOn(1, 1)).toEqual([
      { start: 0, end: 5, current: false },
      { start: 7, end: 12, current: true },
    ]);
    log.append(logOf('r', lines(4, 1, () => '\x1b[31mERROR\x1b[0m')));
    expect(search.update('error')).toBe(true);
    expect(search.count).toBe(3);
    expect(search.firstFrom(2)).toBe(2);
    expect(search.firstFrom(9)).toBe(0);
    search.update('');
    expect(search.count).toBe(0);
  });
});
