// @vitest-environment jsdom
import '../test/dom';
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { Profiler } from 'react';
import { describe, expect, it } from 'vitest';
import { RunboardApp } from './app';
import { rowHeight } from './log-row';
import type { ValueElement } from '../elements';
import '../elements';
import type { Run } from '../../domain';
import { lines, run, session, snapshot, logOf } from '../test/fixtures';
import { viewport } from '../test/dom';
import { mountRunboard } from '../test/mount';

const visibleRows = viewport.height / rowHeight;

async function streaming() {
  const mounted = mountRunboard();
  const s = session({ lanes: ['A'] });
  const live = run(s, { status: 'running' });
  await mounted.host.notify('snapshot', snapshot(s, [live]));
  const scroller = () => document.querySelector<HTMLElement>('.log-scroll')!;
  const feed = (from: number, count: number, text?: (n: number) => string) => mounted.host.notify('log', logOf(live.id, lines(from, count, text)));
  return { ...mounted, s, live, scroller, feed };
}

/** Lets the page's scroll listeners see where the viewport is, as a browser does after a scroll. */
async function settle(): Promise<void> {
  await act(async () => {
    await new Promise((r) => setTimeout(r, 5));
  });
}

async function scrollTo(el: HTMLElement, top: number): Promise<void> {
  el.scrollTop = top;
  await settle();
}

describe('the live log', () => {
  it('renders only the rows in view of a long log', async () => {
    const { feed, scroller } = await streaming();
    await feed(1, 20_000);
    const rows = scroller().querySelectorAll('.log-line');
    expect(rows.length).toBeGreaterThan(visibleRows);
    // the rows in view and a block or two around them: a handful of the log's 20,000
    expect(rows.length).toBeLessThan(150);
    expect(scroller().querySelector('[data-seq="20000"]')).toBeTruthy();
    expect(scroller().querySelector('.log-sizer')?.getAttribute('style')).toContain(`height: ${20_000 * rowHeight}px`);
  });

  it('tells stdout, stderr and system lines apart and colors ANSI escapes', async () => {
    const { host, live, scroller } = await streaming();
    await host.notify(
      'log',
      logOf(live.id, [
        { seq: 1, stream: 'system', level: 'info', text: 'running npm test' },
        { seq: 2, stream: 'stdout', level: 'info', text: '\x1b[32mPASS\x1b[0m a.test.ts' },
        { seq: 3, stream: 'stderr', level: 'info', text: 'warning: slow' },
      ]),
    );
    const row = (seq: number) => scroller().querySelector(`[data-seq="${seq}"]`)!;
    expect(row(1).className).toContain('system');
    expect(row(2).querySelector('.ansi-fg-green')?.textContent).toBe('PASS');
    expect(row(2).textContent).toBe('PASS a.test.ts');
    expect(row(3).className).toContain('stderr');
  });

  it('follows the tail, lets go when the user scrolls up, and resumes on Jump to end', async () => {
    const { feed, scroller } = await streaming();
    await feed(1, 100);
    await settle();
    const bottom = () => scroller().scrollHeight - scroller().clientHeight;
    expect(scroller().scrollTop).toBe(bottom());
    expect(scroller().querySelector('[data-seq="100"]')).toBeTruthy();
    expect(screen.getByText('following')).toBeTruthy();

    await feed(101, 50);
    expect(scroller().scrollTop).toBe(bottom());
    expect(scroller().querySelector('[data-seq="150"]')).toBeTruthy();

    await scrollTo(scroller(), 20 * rowHeight);
    const jump = await screen.findByText('Jump to end');
    await feed(151, 50);
    await settle();
    expect(scroller().scrollTop).toBe(20 * rowHeight);
    expect(scroller().querySelector('[data-seq="21"]')).toBeTruthy();
    expect(scroller().querySelector('[data-seq="200"]')).toBeNull();

    fireEvent.click(jump);
    await settle();
    expect(scroller().scrollTop).toBe(bottom());
    expect(scroller().querySelector('[data-seq="200"]')).toBeTruthy();
    await feed(201, 10);
    expect(scroller().querySelector('[data-seq="210"]')).toBeTruthy();
    expect(screen.queryByText('Jump to end')).toBeNull();
  });

  it('searches with a match count, moves through matches, and marks the current one', async () => {
    const { feed, scroller } = await streaming();
    await feed(1, 500, (n) => (n % 100 === 0 ? `step ${n}: ERROR in module` : `step ${n}: ok`));
    const search = document.querySelector('.log-search') as ValueElement;
    await act(async () => {
      search.value = 'error';
      search.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
    });
    await settle();
    const count = () => document.querySelector('.log-count')?.textContent;
    expect(count()).toMatch(/^\d of 5$/);
    fireEvent.keyDown(search, { key: 'Enter' });
    fireEvent.keyDown(search, { key: 'Enter' });
    await settle();
    const current = () => scroller().querySelector('mark.match.current');
    expect(count()).toMatch(/^\d of 5$/);
    const at = Number(count()!.split(' ')[0]);
    expect(current()?.closest('.log-line')?.getAttribute('data-seq')).toBe(String(at * 100));
    expect(current()?.textContent).toBe('ERROR');
    expect(screen.getByText('Jump to end')).toBeTruthy();

    fireEvent.keyDown(search, { key: 'Enter', shiftKey: true });
    await settle();
    expect(current()?.closest('.log-line')?.getAttribute('data-seq')).toBe(String((at - 1) * 100 || 500));

    // new lines are searched as they arrive
    await feed(501, 100, (n) => (n === 600 ? 'final ERROR' : 'fine'));
    expect(count()).toMatch(/ of 6$/);
    fireEvent.click(screen.getByTitle('Next match (Enter)'));
    expect(count()).toMatch(/^\d of 6$/);

    await act(async () => {
      search.value = 'nothing like this';
      search.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
    });
    expect(count()).toBe('No results');
  });

  it('copies the log and opens it as a document through the editor', async () => {
    const { host, feed, live } = await streaming();
    await feed(1, 3, (n) => `\x1b[1mline\x1b[0m ${n}`);
    fireEvent.click(screen.getByTitle('Copy log'));
    expect(host.request('copyText').params).toEqual({ text: 'line 1\nline 2\nline 3' });
    await host.answer(host.request('copyText'), {});
    expect(screen.getByText('Copied 3 lines.')).toBeTruthy();
    fireEvent.click(screen.getByTitle('Open as document'));
    expect(host.request('openLog').params).toEqual({ run_id: live.id });
  });

  it('renders each lane at most once per animation frame, however many batches arrive', async () => {
    const mounted = mountRunboard();
    const s = session({ lanes: ['A', 'B'] });
    const a = run(s, { status: 'running' });
    const b = run(s, { status: 'running', lane: 'B' });
    await mounted.host.notify('snapshot', snapshot(s, [a, b]));
    mounted.unmount();
    let commits = 0;
    render(
      <Profiler id="board" onRender={() => commits++}>
        <RunboardApp runboard={mounted.runboard} />
      </Profiler>,
    );
    commits = 0;
    for (let i = 0; i < 40; i++) {
      await mounted.host.notify('log', logOf(a.id, lines(1 + i * 25, 25)), { frame: false });
      await mounted.host.notify('log', logOf(b.id, lines(1 + i * 25, 25)), { frame: false });
    }
    expect(commits).toBe(0);
    expect(mounted.host.pendingFrames()).toBe(1);
    await mounted.host.runFrames();
    await settle();
    expect(commits).toBeLessThanOrEqual(2);
    expect(document.querySelector('[data-lane="A"] [data-seq="1000"]')).toBeTruthy();
    expect(document.querySelector('[data-lane="B"] [data-seq="1000"]')).toBeTruthy();
  });
});

describe('after a window reload', () => {
  it('reopens on the same session, run and scroll position', async () => {
    const first = mountRunboard();
    const s = session({ lanes: ['A', 'B'] });
    const old = run(s, { status: 'succeeded', intent: 'build' });
    const live = run(s, { status: 'running', intent: 'deploy' });
    await first.host.notify('snapshot', snapshot(s, [old, live]));
    fireEvent.click(within(screen.getByRole('list', { name: 'Earlier runs in lane A' })).getByText('build'));
    await first.host.notify('log', logOf(old.id, lines(1, 1000)));
    await first.host.notify('logEnd', { run_id: old.id });
    const scroller = document.querySelector<HTMLElement>('[data-lane="A"] .log-scroll')!;
    await scrollTo(scroller, 400 * rowHeight);
    first.runboard.dispose();
    first.unmount();
    const saved = first.api.getState();

    const second = mountRunboard({ state: saved });
    expect(second.host.sent[0]).toEqual({ kind: 'notify', method: 'ready', params: { protocol: 1, session_id: s.id } });
    await second.host.notify('snapshot', snapshot(s, [old, live] as Run[]));
    expect(second.host.notifications('followLog')).toContainEqual({ run_id: old.id, after_seq: 0 });
    await second.host.notify('log', logOf(old.id, lines(1, 1000)));
    await settle();
    const restored = document.querySelector<HTMLElement>('[data-lane="A"] .log-scroll')!;
    await waitFor(() => expect(restored.scrollTop).toBe(400 * rowHeight));
    expect(restored.querySelector('[data-seq="401"]')).toBeTruthy();
    expect(document.querySelector('[data-lane="A"] .run-card')?.getAttribute('data-run')).toBe(old.id);
  });
});
