// @vitest-environment jsdom
import '../test/dom';
import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import { type Comparison, comparisonOf, type Run } from '../../domain';
import { connected } from '../test/board';
import { run } from '../test/fixtures';

const groupId = '0b9f5c1e-1111-4a2b-8c3d-222233334444';

function table(rows: Run[]): Comparison {
  const attempts = rows.filter((r) => r.spec.role !== 'verify');
  return {
    ...comparisonOf(groupId, rows, new Map(), new Map()),
    attempts: attempts.map((r, i) => ({
      lane: r.lane,
      runId: r.id,
      intent: r.intent,
      executor: i === 0 ? 'claude' : 'shell',
      status: r.status,
      durationMs: 61_000,
      exitCode: r.exit_code,
      diff: { files: i + 1, insertions: 10 * (i + 1), deletions: i, binaryFiles: 0 },
      checks: i === 0 ? { state: 'passed', exitCode: 0, counts: { passed: 12, failed: 0, skipped: 0, line: 'Tests  12 passed (12)' } } : { state: 'failed', exitCode: 1 },
      ...(i === 0 ? { tokens: { input: 1200, output: 340 }, costUsd: 0.42 } : {}),
    })),
  };
}

describe('the Compare view', () => {
  it('shows a comparison group side by side, opens an attempt\'s diff, and picks one', async () => {
    const { host, rows } = await connected((s) => [
      run(s, { lane: 'A', status: 'succeeded', exit_code: 0, intent: 'fix the parser', group_id: groupId, executor: 'agent', spec: { profile: 'claude' } }),
      run(s, { lane: 'B', status: 'succeeded', exit_code: 0, intent: 'fix the parser', group_id: groupId }),
      run(s, { lane: 'B', status: 'failed', exit_code: 1, intent: 'npm test', group_id: groupId, spec: { role: 'verify' } }),
    ]);
    fireEvent.click(screen.getByText('Compare view'));
    expect(host.request('compare').params).toEqual({ group_id: groupId });
    await host.answer(host.request('compare'), table(rows));

    const view = screen.getByRole('main', { name: 'Compare attempts' });
    expect(within(view).getByRole('heading', { name: 'fix the parser' })).toBeTruthy();
    const lines = within(view).getAllByRole('row').slice(1).map((tr) => Array.from(tr.querySelectorAll('th, td')).slice(0, 9).map((c) => c.textContent));
    expect(lines).toEqual([
      ['A', 'claude', 'succeeded', '1 min 01 s', '0', '1 file changed, +10 -0', '12 passed', '1,200 in / 340 out', '$0.42'],
      ['B', 'shell', 'succeeded', '1 min 01 s', '0', '2 files changed, +20 -1', 'failed (exit 1)', '—', '—'],
    ]);

    fireEvent.click(within(view).getByRole('button', { name: 'Diff of lane B' }));
    expect(host.request('openDiff').params).toEqual({ run_id: rows[1]!.id });

    fireEvent.click(within(view).getByRole('button', { name: 'Pick lane A' }));
    const pick = host.request('pickAttempt');
    expect(pick.params).toEqual({ run_id: rows[0]!.id });
    await host.answer(pick, { picked: true, message: 'Lane A landed on main (squash); lane B archived as ocr/archive/x/B.' });
    expect(within(view).getByText('Lane A landed on main (squash); lane B archived as ocr/archive/x/B.')).toBeTruthy();
    expect(view.querySelector('.attempt[data-lane="A"]')?.hasAttribute('data-picked')).toBe(true);

    // back to the lanes; the session's comparison stays one click away
    fireEvent.click(within(view).getByText('Lanes'));
    expect(screen.queryByRole('main', { name: 'Compare attempts' })).toBeNull();
    expect(screen.getByText('Compare view')).toBeTruthy();
  });

  it('asks the editor for a new comparison and shows the group it queued', async () => {
    const { host, s } = await connected();
    fireEvent.click(screen.getByText('Compare in Lanes…'));
    const ask = host.request('compareInLanes');
    expect(ask.params).toEqual({ session_id: s.id });
    await host.answer(ask, { group_id: groupId });
    expect(host.request('compare').params).toEqual({ group_id: groupId });
    await host.fail(host.request('compare'), 'not_found', `group: ${groupId} is not a comparison group`);
    expect(screen.getByRole('alert').textContent).toContain('Could not read the comparison: group:');
  });
});
