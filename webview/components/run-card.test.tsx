// @vitest-environment jsdom
import '../test/dom';
import { fireEvent, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import { connected, lane } from '../test/board';
import { diff, run, session, snapshot, t0 } from '../test/fixtures';
import { mountRunboard } from '../test/mount';

describe('a lane', () => {
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
});
