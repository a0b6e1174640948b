// @vitest-environment jsdom
import '../test/dom';
import { act, fireEvent, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ValueElement } from '../elements';
import '../elements';
import { defaultPriority, highPriority } from '../../domain';
import { connected, lane, type } from '../test/board';
import { run } from '../test/fixtures';

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

  it('offers Follow up, on by default, when the lane\'s last agent conversation can go on with the chosen agent', async () => {
    const agent = { cli: 'claude' as const, profile: 'claude', sessionId: 'aaaaaaaa-0000-4000-8000-000000000001', inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, costSource: 'none' as const, denials: [] };
    const { host, rows } = await connected((s) => [run(s, { lane: 'A', status: 'succeeded', executor: 'agent', spec: { profile: 'claude' }, agent }), run(s, { lane: 'B', status: 'succeeded' })]);
    const executor = lane('A').querySelector('.lane-executor') as ValueElement;
    // with the shell chosen there is nothing to follow up
    expect(lane('A').querySelector('.lane-follow-up')).toBeNull();
    await act(async () => {
      executor.value = 'agent:claude';
      executor.dispatchEvent(new Event('change'));
    });
    const followUp = lane('A').querySelector('.lane-follow-up') as HTMLElement & { checked: boolean };
    expect(followUp.checked).toBe(true);
    expect(followUp.title).toBe(`Continue the claude conversation of run ${rows[0]!.id.replace(/-/g, '').slice(0, 8)} (off: a new conversation)`);
    const input = lane('A').querySelector('.lane-intent')!;
    await type(input, 'yes, use postgres');
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(host.request('run').params).toMatchObject({ lane: 'A', intent: 'yes, use postgres', run_with: { executor: 'agent', profile: 'claude' }, follow_up: true });
    await host.answer(host.request('run'), { run_id: crypto.randomUUID() });

    // unticked (Space on the focused box toggles it as a click does): a new conversation
    await act(async () => {
      followUp.checked = false;
      followUp.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await type(input, 'start over');
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(host.request('run').params).not.toHaveProperty('follow_up');
    await host.answer(host.request('run'), { run_id: crypto.randomUUID() });

    // lane B has no conversation: no Follow up there
    const executorB = lane('B').querySelector('.lane-executor') as ValueElement;
    await act(async () => {
      executorB.value = 'agent:claude';
      executorB.dispatchEvent(new Event('change'));
    });
    expect(lane('B').querySelector('.lane-follow-up')).toBeNull();
  });
});
