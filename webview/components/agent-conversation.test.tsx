// @vitest-environment jsdom
import '../test/dom';
import { fireEvent, render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { AgentStep, AgentSummary } from '../../domain';
import { RunLines } from '../run-lines';
import { AgentConversation, conversationOf } from './agent-conversation';

const runId = '00000000-0000-4000-8000-000000000001';

/** A run's log as the page holds it: one raw line per entry, with the steps the worker found in it. */
function log(entries: Array<AgentStep[] | string>): RunLines {
  const lines = new RunLines(runId);
  const text = entries.map((e, i) => (typeof e === 'string' ? e : `{"raw":${i}}`));
  const data = entries.flatMap((e, i) => (typeof e === 'string' ? [] : [[i, { agent: e }] as [number, unknown]]));
  lines.append({ first_seq: 1, text, stream: 'o'.repeat(text.length), level: 'i'.repeat(text.length), ...(data.length ? { data } : {}) });
  return lines;
}

const session: Array<AgentStep[] | string> = [
  [{ kind: 'init', sessionId: '6f1c2a4e-8b3d-4f7a-9c21-5e0d7b3a9f10', model: 'claude-sonnet-4-5' }],
  [{ kind: 'message', role: 'assistant', text: "I'll fix the discount." }],
  [{ kind: 'tool_call', id: 't1', name: 'Bash', summary: 'npm test', input: { command: 'npm test' } }],
  'plain output the parser did not recognise',
  [
    { kind: 'tool_result', id: 't1', output: '1 failed', isError: true },
    { kind: 'file_edit', path: 'src/cart.ts', change: 'update' },
  ],
  [{ kind: 'permission_denied', tool: 'WebFetch', message: 'not granted' }],
  [{ kind: 'tool_call', id: 't2', name: 'Read', summary: 'src/cart.ts' }],
  [
    { kind: 'usage', inputTokens: 86397, outputTokens: 450, cachedInputTokens: 79940, costUsd: 0.0712 },
    { kind: 'result', ok: false, subtype: 'error_max_turns', turns: 6 },
  ],
];

describe('an agent run as a conversation', () => {
  it('joins each tool result to its call and keeps the order the agent went in', () => {
    const { items, usage } = conversationOf(log(session));
    expect(items.map((i) => i.kind)).toEqual(['init', 'message', 'tool', 'file_edit', 'permission_denied', 'tool', 'result']);
    expect(items[2]).toMatchObject({ call: { id: 't1' }, result: { output: '1 failed' } });
    expect(items[5]).toMatchObject({ call: { id: 't2' } });
    expect((items[5] as { result?: unknown }).result).toBeUndefined();
    expect(usage).toMatchObject({ inputTokens: 86397, costUsd: 0.0712 });
  });

  it('shows messages, tool calls that open to their output, file edits that open the diff, denials, errors and the cost', () => {
    const opened: string[] = [];
    render(<AgentConversation lines={log(session)} version={1} onOpenFile={(p) => opened.push(p)} />);
    const view = screen.getByLabelText('Agent conversation');
    expect(within(view).getByLabelText('Agent').textContent).toBe("I'll fix the discount.");
    expect(view.textContent).toContain('claude-sonnet-4-5');

    const failed = within(view).getByRole('button', { name: /Bash: npm test/ });
    expect(failed.getAttribute('aria-expanded')).toBe('false');
    expect(view.textContent).not.toContain('1 failed');
    fireEvent.click(failed);
    expect(failed.getAttribute('aria-expanded')).toBe('true');
    expect(within(view).getByText('1 failed').tagName).toBe('PRE');
    expect(failed.closest('.agent-tool')?.classList.contains('failed')).toBe(true);
    // a call without its result yet is running
    expect(within(view).getByRole('button', { name: /Read: src\/cart\.ts/ }).textContent).toContain('running');

    fireEvent.click(within(view).getByRole('link', { name: 'src/cart.ts' }));
    expect(opened).toEqual(['src/cart.ts']);

    const alerts = within(view).getAllByRole('alert').map((a) => a.textContent?.trim());
    expect(alerts).toEqual(['Denied WebFetch: not granted']);
    expect(view.textContent).toContain('Ended with an error (error_max_turns) · 6 turns');
    expect(within(view).getByLabelText('Tokens and cost').textContent?.trim()).toBe('86,397 tokens in (79,940 cached) · 450 out · $0.07');
    // the raw line stays in the log, not in the conversation
    expect(view.textContent).not.toContain('plain output');
  });

  it('shows the run’s stored totals when it has them, and says a computed cost is an estimate', () => {
    const summary: AgentSummary = { cli: 'codex', inputTokens: 48213, outputTokens: 1337, cachedInputTokens: 40192, costUsd: 0.02842, costSource: 'priced', denials: [] };
    render(<AgentConversation lines={log([[{ kind: 'message', role: 'assistant', text: 'Done.' }]])} version={1} summary={summary} />);
    expect(screen.getByLabelText('Tokens and cost').textContent?.trim()).toBe('48,213 tokens in (40,192 cached) · 1,337 out · $0.03 (estimated)');
  });

  it('shows file edits as text when there is no diff to open, and errors as alerts', () => {
    render(
      <AgentConversation
        lines={log([[{ kind: 'file_edit', path: 'README.md', change: 'add' }], [{ kind: 'error', message: 'Reconnecting... 1/5' }]])}
        version={1}
      />,
    );
    expect(screen.queryByRole('link')).toBeNull();
    expect(screen.getByText('README.md').tagName).toBe('SPAN');
    expect(screen.getByRole('alert').textContent?.trim()).toBe('Reconnecting... 1/5');
  });

  it('follows the log as steps arrive', () => {
    const lines = log([[{ kind: 'message', role: 'assistant', text: 'Starting.' }]]);
    const { rerender } = render(<AgentConversation lines={lines} version={1} />);
    lines.append({ first_seq: 2, text: ['{}'], stream: 'o', level: 'i', data: [[0, { agent: [{ kind: 'message', role: 'assistant', text: 'Half way.' }] }]] });
    rerender(<AgentConversation lines={lines} version={2} />);
    expect(screen.getAllByLabelText('Agent').map((m) => m.textContent)).toEqual(['Starting.', 'Half way.']);
  });

  it('says so when the run has no steps, and ignores data that is not steps', () => {
    const lines = new RunLines(runId);
    lines.append({ first_seq: 1, text: ['a', 'b'], stream: 'oo', level: 'ii', data: [[1, { continued: true }]] });
    render(<AgentConversation lines={lines} version={1} />);
    expect(screen.getByText('No agent steps yet.')).toBeTruthy();
  });
});
