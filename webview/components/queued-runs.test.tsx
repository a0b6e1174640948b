// @vitest-environment jsdom
import '../test/dom';
import { fireEvent, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import { connected, lane } from '../test/board';
import { run } from '../test/fixtures';

describe('a lane', () => {
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
});
