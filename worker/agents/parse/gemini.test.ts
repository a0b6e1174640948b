import { describe, expect, it } from 'vitest';
import { kinds, replay, replaySummary } from './replay.test-support';

const session = '3b8e5d0a-4c2f-4e1b-9a7d-0f6e2c1b5a93';
const cwd = '/home/dev/.ocr/worktrees/shop/C';

describe('gemini stream-json → steps', () => {
  it('joins the assistant’s deltas into one message and turns tool calls, edits and stats into steps', () => {
    const { steps, perLine, lines, summary } = replaySummary('gemini', 'gemini-edit.jsonl', { cwd });
    expect(kinds(steps)).toEqual([
      'init',
      'message',
      'message',
      'tool_call',
      'tool_result',
      'tool_call',
      'tool_result',
      'file_edit',
      'tool_call',
      'tool_result',
      'file_edit',
      'tool_call',
      'tool_result',
      'message',
      'usage',
      'result',
    ]);
    expect(steps[1]).toEqual({ kind: 'message', role: 'user', text: 'Apply the discount in the cart total and add a test' });
    expect(steps[2]).toEqual({ kind: 'message', role: 'assistant', text: "I'll read the cart module first." });
    // the joined message comes with the line of the event after the last delta
    const firstTool = lines.findIndex((l) => l.includes('"tool_use"'));
    expect(kinds(perLine[firstTool]!)).toEqual(['message', 'tool_call']);
    expect(steps[3]).toMatchObject({ kind: 'tool_call', id: 'read_file-1764583203000-a1', name: 'read_file', summary: 'src/cart.ts' });
    expect(steps.filter((s) => s.kind === 'file_edit')).toEqual([
      { kind: 'file_edit', path: 'src/cart.ts', change: 'update' },
      { kind: 'file_edit', path: 'src/cart.test.ts', change: 'update' },
    ]);
    expect(steps.at(-2)).toEqual({ kind: 'usage', inputTokens: 24100, outputTokens: 790, cachedInputTokens: 18000 });
    expect(steps.at(-1)).toEqual({ kind: 'result', ok: true, durationMs: 10234 });
    expect(summary).toEqual({
      cli: 'gemini',
      sessionId: session,
      model: 'gemini-2.5-pro',
      inputTokens: 24100,
      outputTokens: 790,
      cachedInputTokens: 18000,
      // (6100 × 1.25 + 18000 × 0.125 + 790 × 10) / 1e6
      costUsd: 0.017775,
      costSource: 'priced',
      denials: [],
      lastMessage: 'The total now applies the discount and src/cart.test.ts covers it.',
      currentAction: 'run_shell_command: npm test',
    });
  });

  it('turns a policy denial into a denied tool and says the run needs permission', () => {
    const { steps, summary } = replaySummary('gemini', 'gemini-denied.jsonl');
    expect(steps.find((s) => s.kind === 'tool_result')).toMatchObject({ isError: true, output: 'Tool execution denied by policy.' });
    expect(summary.denials).toEqual([{ tool: 'run_shell_command', message: 'Tool execution denied by policy.' }]);
    expect(summary.needsInput).toEqual({ reason: 'permission', detail: 'run_shell_command' });
  });

  it('says the run needs an answer when the joined last message asks a question', () => {
    const { summary } = replaySummary('gemini', 'gemini-question.jsonl');
    expect(summary.lastMessage).toBe('Version 5 drops the callback API that checkout.ts uses. Do you want me to migrate checkout.ts to promises as part of the upgrade?');
    expect(summary.needsInput).toEqual({ reason: 'question', detail: 'Do you want me to migrate checkout.ts to promises as part of the upgrade?' });
    expect(summary).toMatchObject({ model: 'gemini-2.5-flash', costSource: 'priced' });
  });

  it('keeps what came before a crash, a warning as an error step, and drops the cut-off line', () => {
    const { steps, perLine } = replay('gemini', 'gemini-crash.jsonl');
    expect(perLine.at(-1)).toEqual([]);
    expect(kinds(steps)).toEqual(['init', 'message', 'message', 'tool_call', 'error']);
    expect(steps.at(-1)).toEqual({ kind: 'error', message: 'Warning: Loop detected, stopping execution' });
  });

  it('gives a message still held at the end of the stream', () => {
    const { steps } = replay('gemini', 'gemini-question.jsonl');
    // the result line flushes it here; a stream cut after the deltas flushes it at end()
    expect(steps.filter((s) => s.kind === 'message')).toHaveLength(2);
  });
});
