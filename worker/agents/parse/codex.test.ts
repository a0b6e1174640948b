import { describe, expect, it } from 'vitest';
import { commandLine } from './codex';
import { createAgentParser } from './index';
import { kinds, replay, replaySummary } from './replay.test-support';

const thread = '0199a213-81c0-7800-8aa1-bbab2a035a53';
const cwd = '/home/dev/.ocr/worktrees/shop/B';

describe('codex exec --json → steps', () => {
  it('turns an edit session into a call per command (at its start), its result, file edits, the message and usage', () => {
    const { steps, perLine, lines, summary } = replaySummary('codex', 'codex-edit.jsonl', { cwd, model: 'gpt-5-codex' });
    expect(kinds(steps)).toEqual(['init', 'thinking', 'tool_call', 'tool_result', 'file_edit', 'file_edit', 'tool_call', 'tool_result', 'message', 'usage', 'result']);
    expect(steps[0]).toEqual({ kind: 'init', sessionId: thread, model: 'gpt-5-codex' });
    // the call shows while the command runs; its completion adds only the result
    const started = lines.findIndex((l) => l.includes('"item.started"') && l.includes('npm test'));
    expect(perLine[started]).toEqual([{ kind: 'tool_call', id: 'item_4', name: 'shell', summary: 'npm test', input: { command: "/bin/bash -lc 'npm test'" } }]);
    expect(perLine[started + 1]).toEqual([{ kind: 'tool_result', id: 'item_4', output: expect.stringContaining('12 passed'), isError: false }]);
    expect(steps.filter((s) => s.kind === 'file_edit')).toEqual([
      { kind: 'file_edit', path: 'src/cart.ts', change: 'update' },
      { kind: 'file_edit', path: 'src/cart.test.ts', change: 'add' },
    ]);
    expect(steps.at(-2)).toEqual({ kind: 'usage', inputTokens: 48213, cachedInputTokens: 40192, outputTokens: 1337 });
    expect(summary).toEqual({
      cli: 'codex',
      sessionId: thread,
      model: 'gpt-5-codex',
      inputTokens: 48213,
      outputTokens: 1337,
      cachedInputTokens: 40192,
      // (8021 × 1.25 + 40192 × 0.125 + 1337 × 10) / 1e6
      costUsd: 0.028420,
      costSource: 'priced',
      turns: 1,
      denials: [],
      lastMessage: 'Fixed the discount in `total()` and added `src/cart.test.ts`; all 12 tests pass.',
      currentAction: 'shell: npm test',
    });
  });

  it('prices with the profile’s model and the user’s prices, and says so when neither knows the model', () => {
    const own = replaySummary('codex', 'codex-edit.jsonl', { model: 'my-proxy-model', prices: { 'my-proxy-model': { input: 1, output: 2 } } }).summary;
    expect(own).toMatchObject({ costSource: 'priced', costUsd: (48213 * 1 + 1337 * 2) / 1e6 });
    const unknown = replaySummary('codex', 'codex-edit.jsonl', { model: 'unheard-of' }).summary;
    expect(unknown).toMatchObject({ costSource: 'none', inputTokens: 48213 });
    expect(unknown.costUsd).toBeUndefined();
    expect(replaySummary('codex', 'codex-edit.jsonl').summary.costSource).toBe('none');
  });

  it('reports reconnects as errors and a failed turn as a failed result', () => {
    const { steps, summary } = replaySummary('codex', 'codex-failed.jsonl');
    expect(kinds(steps)).toEqual(['init', 'error', 'error', 'error', 'result']);
    expect(steps[1]).toMatchObject({ kind: 'error', message: expect.stringMatching(/^Reconnecting\.\.\. 1\/5/) });
    expect(steps.at(-1)).toEqual({ kind: 'result', ok: false, subtype: 'turn_failed', text: expect.stringContaining('stream disconnected'), turns: 1 });
    expect(summary).toMatchObject({ sessionId: thread, inputTokens: 0, costSource: 'none' });
    expect(summary.needsInput).toBeUndefined();
  });

  it('marks a failed command as an error result and a question as needing input', () => {
    const { steps, summary } = replaySummary('codex', 'codex-question.jsonl');
    expect(steps.find((s) => s.kind === 'tool_result')).toMatchObject({ isError: true, output: expect.stringContaining('No such file') });
    expect(summary.needsInput).toEqual({ reason: 'question', detail: 'Is the app in a subfolder, or should I create a new package?' });
  });

  it('keeps what came before a crash and drops the cut-off line', () => {
    const { steps, perLine } = replay('codex', 'codex-crash.jsonl');
    expect(perLine.at(-1)).toEqual([]);
    expect(kinds(steps)).toEqual(['init', 'tool_call']);
  });

  it('reads a question asked through request_user_input and a declined command', () => {
    const parser = createAgentParser('codex');
    expect(parser.line('{"type":"request_user_input","id":"t1","call_id":"c1","questions":[{"id":"q1","header":"Scope","question":"Should I also migrate the tests?"}]}')).toEqual([
      { kind: 'message', role: 'assistant', text: 'Should I also migrate the tests?' },
    ]);
    expect(parser.line('{"type":"item.completed","item":{"id":"item_9","type":"command_execution","command":"rm -rf build","aggregated_output":"","exit_code":null,"status":"declined"}}')).toEqual([
      { kind: 'tool_call', id: 'item_9', name: 'shell', summary: 'rm -rf build', input: { command: 'rm -rf build' } },
      { kind: 'tool_result', id: 'item_9', output: 'The command was declined.', isError: true },
    ]);
  });

  it('shows a command without the shell wrapper codex runs it in', () => {
    expect(commandLine("/bin/bash -lc 'npm test'")).toBe('npm test');
    expect(commandLine('bash -lc "rg -n foo src"')).toBe('rg -n foo src');
    expect(commandLine('zsh -c ls')).toBe('ls');
    expect(commandLine('npm run build')).toBe('npm run build');
  });
});
