// @vitest-environment jsdom
import '../test/dom';
import { fireEvent, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import type { Run } from '../../domain';
import { connected, lane } from '../test/board';
import { lines, run, logOf } from '../test/fixtures';

describe('a lane', () => {
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
});
