// @vitest-environment jsdom
import './test/dom';
import { act, fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ValueElement } from './elements';
import './elements';
import { defaultPriority, highPriority, type Run } from '../domain';
import { diff, lines, run, session, snapshot, t0, logOf } from './test/fixtures';
import { mountRunboard } from './test/mount';

function lane(name: string): HTMLElement {
  return screen.getByRole('region', { name: `Lane ${name}` });
}

async function type(field: Element, value: string): Promise<void> {
  await act(async () => {
    (field as ValueElement).value = value;
    field.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
  });
}

async function connected(runs: (s: ReturnType<typeof session>) => Run[] = () => []) {
  const mounted = mountRunboard();
  const s = session();
  const rows = runs(s);
  await mounted.host.notify('snapshot', snapshot(s, rows));
  return { ...mounted, s, rows };
}

describe('the board', () => {
  it('shows the session, its summary, and one lane per configured lane in lane order', async () => {
    const { host, s } = await connected((s) => [run(s, { status: 'running' }), run(s, { lane: 'B' }), run(s, { lane: 'C', status: 'failed' })]);
    expect(host.sent[0]).toMatchObject({ method: 'ready' });
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe(s.title);
    expect(screen.getByText('make CI green')).toBeTruthy();
    expect(screen.getByText(/team\/app\.git/)).toBeTruthy();
    expect(screen.getByRole('status', { name: 'Runs by status' }).textContent).toBe('1 running · 1 queued · 0 succeeded · 1 failed · 0 canceled');
    const names = screen.getAllByRole('region').map((r) => r.getAttribute('aria-label'));
    expect(names).toEqual(['Lane A', 'Lane B', 'Lane C', 'Lane D']);
  });

  it('says it is connecting until the first snapshot, and offers New Session when there is none', async () => {
    const { host } = mountRunboard();
    expect(screen.getByText(/Connecting to Ops Control Room/)).toBeTruthy();
    await host.notify('snapshot', snapshot(null));
    expect(screen.getByText(/No session yet/)).toBeTruthy();
    fireEvent.click(screen.getByText('New Session'));
    const form = screen.getByRole('form', { name: 'New session' });
    await type(form.querySelector('.new-session-title')!, 'Release 2.0');
    await type(form.querySelector('.new-session-intent')!, 'ship it');
    fireEvent.click(within(form).getByText('Create'));
    expect(host.request('createSession').params).toEqual({ title: 'Release 2.0', intent: 'ship it' });
    await host.answer(host.request('createSession'), { session_id: crypto.randomUUID() });
    expect(screen.queryByRole('form', { name: 'New session' })).toBeNull();
  });

  it('switches sessions through the picker, archived ones behind a toggle', async () => {
    const { host, s } = await connected();
    const other = session({ title: 'Other work' });
    const archived = session({ title: 'Old release', status: 'archived' });
    await host.notify('sessions', { sessions: [s, other, archived] });
    const options = () => Array.from(document.querySelectorAll('.session-picker vscode-option')).map((o) => o.textContent);
    expect(options()).toEqual([s.title, 'Other work']);
    const toggle = document.querySelector('vscode-checkbox') as HTMLElement & { checked: boolean };
    await act(async () => {
      toggle.checked = true;
      toggle.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(options()).toEqual([s.title, 'Other work', 'Old release (archived)']);
    const picker = document.querySelector('.session-picker') as ValueElement;
    await act(async () => {
      picker.value = other.id;
      // as vscode-single-select fires it: without bubbling
      picker.dispatchEvent(new Event('change'));
    });
    expect(host.request('selectSession').params).toEqual({ session_id: other.id });
  });
});

describe('a lane', () => {
  it('runs the intent on Enter, first on Ctrl+Enter, with the chosen executor', async () => {
    const { host, s } = await connected();
    const input = lane('B').querySelector('.lane-intent')!;
    await type(input, 'npm test');
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(host.request('run').params).toEqual({ session_id: s.id, lane: 'B', intent: 'npm test', run_with: { executor: 'shell' }, priority: defaultPriority });
    await host.answer(host.request('run'), { run_id: crypto.randomUUID() });
    expect((input as ValueElement).value).toBe('');

    const executor = lane('B').querySelector('.lane-executor') as ValueElement;
    await act(async () => {
      executor.value = 'agent:claude';
      executor.dispatchEvent(new Event('change'));
    });
    await type(input, 'fix the flaky test');
    fireEvent.keyDown(input, { key: 'Enter', ctrlKey: true });
    expect(host.request('run').params).toMatchObject({ intent: 'fix the flaky test', run_with: { executor: 'agent', profile: 'claude' }, priority: highPriority });
  });

  it('keeps the intent and says why when the run is refused', async () => {
    const { host } = await connected();
    const input = lane('A').querySelector('.lane-intent')!;
    await type(input, 'make deploy');
    fireEvent.click(within(lane('A')).getByText('Run'));
    await host.fail(host.request('run'), 'invalid_input', 'the session is archived');
    expect(within(lane('A')).getByRole('alert').textContent).toBe('Could not run: the session is archived');
    expect((input as ValueElement).value).toBe('make deploy');
  });

  it('lists queued runs with their position and cancels one', async () => {
    const { host } = await connected((s) => [run(s, { intent: 'second' }), run(s, { intent: 'first', priority: 0 }), run(s, { lane: 'B', intent: 'elsewhere' })]);
    const queue = within(lane('A')).getByRole('list', { name: 'Queued in lane A' });
    const items = within(queue).getAllByRole('listitem');
    expect(items.map((li) => [li.querySelector('.queue-position')?.textContent, li.querySelector('.run-intent')?.textContent])).toEqual([
      ['1', 'first'],
      ['2', 'second'],
    ]);
    fireEvent.click(within(queue).getByRole('button', { name: 'Cancel queued run 2: second' }));
    expect(host.request('cancelRun').params.run_id).toBe(items[1]!.getAttribute('data-run'));
  });

  it('shows the active run: status, elapsed time, worker, a live heartbeat, and Cancel', async () => {
    const { host, rows } = await connected((s) => [
      run(s, {
        status: 'running',
        claimed_by: 'laptop-7',
        started_at: new Date(t0).toISOString(),
        heartbeat_at: new Date(t0 + 55_000).toISOString(),
        lease_expires_at: new Date(t0 + 85_000).toISOString(),
      }),
    ]);
    const card = lane('A').querySelector('.run-card')!;
    expect(card.getAttribute('data-status')).toBe('running');
    expect(card.querySelector('.run-worker')?.textContent).toContain('laptop-7');
    expect(card.querySelector('.run-duration')?.textContent).toMatch(/1 min 0\d s/);
    expect(within(card as HTMLElement).getByRole('img', { name: 'Heartbeats arriving' })).toBeTruthy();
    fireEvent.click(within(card as HTMLElement).getByRole('button', { name: `Cancel run #${rows[0]!.seq}` }));
    expect(host.request('cancelRun').params.run_id).toBe(rows[0]!.id);
    await host.answer(host.request('cancelRun'), { outcome: 'cancel_requested' });
    await host.notify('runs', { session_id: rows[0]!.session_id, runs: [{ ...rows[0]!, cancel_requested_at: new Date(t0 + 60_000).toISOString(), updated_at: new Date(t0 + 60_000).toISOString() }] });
    expect(card.querySelector('.run-status')?.textContent).toBe('canceling');
    await host.notify('runs', {
      session_id: rows[0]!.session_id,
      runs: [{ ...rows[0]!, status: 'canceled', finished_at: new Date(t0 + 61_000).toISOString(), updated_at: new Date(t0 + 61_000).toISOString() }],
    });
    expect(lane('A').querySelector('.run-card')?.getAttribute('data-status')).toBe('canceled');
    expect(within(lane('A')).getByRole('button', { name: `Retry run #${rows[0]!.seq}` })).toBeTruthy();
  });

  it('turns the heartbeat grey when the lease is about to expire', async () => {
    await connected((s) => [
      run(s, { status: 'running', heartbeat_at: new Date(t0).toISOString(), lease_expires_at: new Date(t0 + 30_000).toISOString() }),
    ]);
    // the snapshot's clock says 60 s past t0: the lease has run out
    expect(within(lane('A')).getByRole('img', { name: 'No heartbeat: the lease is about to expire' }).className).toContain('expiring');
  });

  it('shows a finished run’s result and diff, and sends Open Diff and Apply', async () => {
    const mounted = mountRunboard();
    const s = session();
    const failed = run(s, { status: 'failed', exit_code: 2, error: 'tests failed' });
    await mounted.host.notify('snapshot', snapshot(s, [failed], { diffs: [diff(failed)] }));
    const card = lane('A').querySelector('.run-card') as HTMLElement;
    expect(card.querySelector('.exit-code')?.textContent).toBe('exit code 2');
    expect(card.querySelector('.run-error')?.textContent).toBe('tests failed');
    expect(card.querySelector('.diff-totals')?.textContent).toBe('2 files+7−3');
    expect(Array.from(card.querySelectorAll('.diff-path')).map((p) => p.textContent)).toEqual(['src/app.ts', 'src/new.ts']);
    fireEvent.click(within(card).getByText('Open Diff'));
    expect(mounted.host.request('openDiff').params).toEqual({ run_id: failed.id });
    fireEvent.click(within(card).getByText('Apply'));
    await mounted.host.answer(mounted.host.request('applyDiff'), { applied: true });
    expect(within(card).getByText('Applied to the workspace.')).toBeTruthy();
  });

  it('shows an earlier run’s log and diff when picked from the history, and retries it', async () => {
    const { host, rows } = await connected((s) => [run(s, { status: 'failed', intent: 'old try' }), run(s, { status: 'running', intent: 'new try' })]);
    const [old, live] = rows as [Run, Run];
    const history = within(lane('A')).getByRole('list', { name: 'Earlier runs in lane A' });
    fireEvent.click(within(history).getByText('old try'));
    await host.runFrames();
    expect(host.notifications('followLog').at(-1)).toEqual({ run_id: old.id, after_seq: 0 });
    expect(host.notifications('unfollowLog').at(-1)).toEqual({ run_id: live.id });
    await host.notify('log', logOf(old.id, lines(1, 3, (n) => `old output ${n}`)));
    expect(lane('A').querySelector('.log-line[data-seq="3"]')?.textContent).toBe('old output 3');
    expect(within(lane('A')).getByText('Showing earlier run #' + old.seq + '.')).toBeTruthy();
    fireEvent.click(within(history).getByRole('button', { name: `Retry run #${old.seq}` }));
    expect(host.request('retryRun').params).toEqual({ run_id: old.id });
    fireEvent.click(within(lane('A')).getByText('Back to latest'));
    expect(lane('A').querySelector('.run-card')?.getAttribute('data-run')).toBe(live.id);
  });

  it('keeps every action in the tab order, lane after lane', async () => {
    await connected((s) => [run(s, { status: 'running' }), run(s, { lane: 'B', status: 'running' })]);
    const order = Array.from(document.querySelectorAll<HTMLElement>('.lane-intent, .lane-run, .log-scroll, [role="button"]'))
      .map((el) => el.closest('.lane')?.getAttribute('data-lane'))
      .filter(Boolean);
    // DOM order is tab order: every focusable of lane A comes before any of lane B
    expect(order.lastIndexOf('A')).toBeLessThan(order.indexOf('B'));
    expect(lane('A').querySelector('.log-scroll')?.getAttribute('tabindex')).toBe('0');
  });
});
