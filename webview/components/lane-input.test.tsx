// @vitest-environment jsdom
import '../test/dom';
import { act, fireEvent, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ValueElement } from '../elements';
import '../elements';
import { defaultPriority, highPriority } from '../../domain';
import { connected, lane, type } from '../test/board';

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
});
