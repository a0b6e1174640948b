// @vitest-environment jsdom
import '../test/dom';
import { fireEvent, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import type { RunAgent } from '../../domain';
import { connected, lane } from '../test/board';
import { logOf, run } from '../test/fixtures';
import type { LogEvent } from '../protocol';

/** What a claude run's stream-json becomes in the store: each raw line, with the steps the worker found in it. */
function claudeLog(): LogEvent[] {
  const line = (seq: number, text: string, agent?: unknown[]): LogEvent => ({ seq, stream: 'stdout', level: 'info', text, ...(agent ? { data: { agent } } : {}) });
  return [
    line(1, '{"type":"system","subtype":"init","session_id":"6f1c2a4e","model":"claude-sonnet-4-5"}', [{ kind: 'init', sessionId: '6f1c2a4e', model: 'claude-sonnet-4-5' }]),
    line(2, '{"type":"assistant","message":{"content":[{"type":"text","text":"I will add a line to notes.md."}]}}', [{ kind: 'message', role: 'assistant', text: 'I will add a line to notes.md.' }]),
    line(3, '{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"Edit"}]}}', [{ kind: 'tool_call', id: 't1', name: 'Edit', summary: 'notes.md' }]),
    line(4, '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1"}]}}', [
      { kind: 'tool_result', id: 't1', output: 'The file notes.md has been updated.', isError: false },
      { kind: 'file_edit', path: 'notes.md', change: 'update' },
    ]),
    line(5, '{"type":"result","subtype":"success","total_cost_usd":0.12}', [
      { kind: 'usage', inputTokens: 1200, outputTokens: 80, cachedInputTokens: 1000, costUsd: 0.12 },
      { kind: 'result', ok: true, turns: 2 },
    ]),
  ];
}

const totals = (over: Partial<RunAgent> = {}): RunAgent => ({
  cli: 'claude',
  profile: 'claude',
  inputTokens: 1200,
  outputTokens: 80,
  cachedInputTokens: 1000,
  costUsd: 0.12,
  costSource: 'reported',
  denials: [],
  ...over,
});

describe('a coding agent’s run in its lane', () => {
  it('shows as a conversation, with the raw lines one click away, and a file edit opens that file’s diff', async () => {
    const { host, rows } = await connected((s) => [run(s, { status: 'succeeded', executor: 'agent', intent: 'edit notes.md', agent: totals() })]);
    const agentRun = rows[0]!;
    await host.notify('log', logOf(agentRun.id, claudeLog()));
    await host.notify('logEnd', { run_id: agentRun.id });
    const a = lane('A');

    const conversation = within(a).getByLabelText('Agent conversation');
    expect(within(conversation).getByLabelText('Agent').textContent).toBe('I will add a line to notes.md.');
    expect(within(conversation).getByRole('button', { name: /Edit: notes\.md/ })).toBeTruthy();
    expect(within(conversation).getByLabelText('Tokens and cost').textContent?.trim()).toBe('1,200 tokens in (1,000 cached) · 80 out · $0.12');
    expect(a.querySelector('.log-line')).toBeNull();

    fireEvent.click(within(conversation).getByRole('link', { name: 'notes.md' }));
    expect(host.request('openDiff').params).toEqual({ run_id: agentRun.id, path: 'notes.md' });
    await host.answer(host.request('openDiff'), {});

    fireEvent.click(within(a).getByRole('button', { name: 'Raw' }));
    expect(within(a).getByRole('button', { name: 'Raw' }).getAttribute('aria-pressed')).toBe('true');
    expect(within(a).queryByLabelText('Agent conversation')).toBeNull();
    const raw = Array.from(a.querySelectorAll('.log-line')).map((l) => l.textContent ?? '');
    expect(raw.some((t) => t.includes('"type":"result","subtype":"success"'))).toBe(true);

    fireEvent.click(within(a).getByRole('button', { name: 'Conversation' }));
    expect(within(a).getByLabelText('Agent conversation')).toBeTruthy();
  });

  it('says when the diff cannot be opened', async () => {
    const { host, rows } = await connected((s) => [run(s, { status: 'succeeded', executor: 'agent', agent: totals() })]);
    await host.notify('log', logOf(rows[0]!.id, claudeLog()));
    fireEvent.click(within(lane('A')).getByRole('link', { name: 'notes.md' }));
    await host.fail(host.request('openDiff'), 'diff_unavailable', 'run 1a2b3c4d has no diff');
    expect(within(lane('A')).getByRole('alert').textContent).toBe('Could not open the diff: run 1a2b3c4d has no diff');
  });

  it('shows a shell run’s log as before, and an agent run without steps as its raw log', async () => {
    await connected((s) => [
      run(s, { status: 'succeeded', lane: 'A' }),
      run(s, { status: 'succeeded', lane: 'B', executor: 'agent' }),
    ]);
    expect(within(lane('A')).queryByRole('group', { name: 'Show the run as' })).toBeNull();
    expect(within(lane('B')).getByRole('button', { name: 'Raw' }).getAttribute('aria-pressed')).toBe('true');
  });
});

describe('what agent runs cost, on the card, per lane and per session', () => {
  it('shows tokens and the reported cost, budget spend, and sums the lane and the session', async () => {
    await connected((s) => [
      run(s, { status: 'succeeded', lane: 'A', executor: 'agent', agent: totals({ costUsd: 0.4, budgetUsd: 2 }) }),
      run(s, { status: 'succeeded', lane: 'A', executor: 'agent', agent: totals({ costUsd: 0.1 }) }),
      run(s, { status: 'succeeded', lane: 'B', executor: 'agent', agent: totals({ costUsd: 0.25, costSource: 'priced' }) }),
      run(s, { status: 'succeeded', lane: 'C' }),
    ]);
    const a = lane('A');
    const card = a.querySelector('.run-card') as HTMLElement;
    // the newest run is the one shown
    expect(card.querySelector('.agent-tokens')?.textContent?.trim()).toBe('1,200 in · 80 out · 1,000 cached');
    expect(card.querySelector('.agent-cost')?.textContent).toBe('$0.10 reported');
    expect(a.querySelector('.lane-cost')?.textContent).toBe('$0.50');
    expect(lane('B').querySelector('.agent-cost')?.textContent).toBe('≈$0.25 priced');
    expect(lane('B').querySelector('.lane-cost')?.textContent).toBe('≈$0.25');
    expect(lane('C').querySelector('.lane-cost')).toBeNull();
    expect(document.querySelector('.session-cost')?.textContent?.trim()).toBe('≈$0.75');
    expect(document.querySelector('.session-cost')?.getAttribute('title')).toBe('3 agent runs cost ≈$0.75; part of it priced from the price table');
  });

  it('shows spend against budget, over budget, cost unknown, and what a run needs from the person', async () => {
    await connected((s) => [
      run(s, { status: 'failed', lane: 'A', executor: 'agent', agent: totals({ costUsd: 2.31, budgetUsd: 2, overBudget: true }) }),
      run(s, {
        status: 'succeeded',
        lane: 'B',
        executor: 'agent',
        agent: totals({ costUsd: undefined, costSource: 'none', denials: [{ tool: 'Bash', message: 'not allowed' }], needsInput: { reason: 'permission', detail: 'Bash' } }),
      }),
      run(s, { status: 'succeeded', lane: 'C', executor: 'agent', agent: totals({ needsInput: { reason: 'question', detail: 'Should I also update the tests?' } }) }),
    ]);
    const a = lane('A').querySelector('.run-card') as HTMLElement;
    expect(a.querySelector('.agent-budget')?.textContent).toBe('$2.31 of $2.00');
    expect(within(a).getByRole('status').textContent?.trim()).toBe('over budget');
    const b = lane('B').querySelector('.run-card') as HTMLElement;
    expect(b.querySelector('.agent-cost')?.textContent).toBe('cost unknown');
    expect(within(b).getByLabelText('Needs input').textContent?.trim()).toBe('needs input denied Bash');
    expect(within(lane('C')).getByLabelText('Needs input').textContent?.trim()).toBe('needs input Should I also update the tests?');
    expect(document.querySelector('.session-cost')?.getAttribute('title')).toBe('2 agent runs cost $2.43; 1 more whose cost is unknown');
  });
});
