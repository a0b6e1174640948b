import { describe, expect, it } from 'vitest';
import { createAgentParser } from './index';
import { kinds, replay, replaySummary } from './replay.test-support';

const session = '6f1c2a4e-8b3d-4f7a-9c21-5e0d7b3a9f10';

describe('claude stream-json → steps', () => {
  it('turns an edit session into messages, tool calls with their results, file edits relative to the worktree, and usage', () => {
    const { steps, summary } = replaySummary('claude', 'claude-edit.jsonl');
    expect(kinds(steps)).toEqual([
      'init',
      'thinking',
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
    expect(steps[0]).toEqual({
      kind: 'init',
      sessionId: session,
      model: 'claude-sonnet-4-5-20250929',
      tools: expect.arrayContaining(['Bash', 'Edit', 'Write']),
      permissionMode: 'acceptEdits',
    });
    expect(steps[3]).toMatchObject({ kind: 'tool_call', id: 'toolu_01Read', name: 'Read', summary: 'src/cart.ts' });
    expect(steps[4]).toMatchObject({ kind: 'tool_result', id: 'toolu_01Read', isError: false, output: expect.stringContaining('export function total') });
    expect(steps.filter((s) => s.kind === 'file_edit')).toEqual([
      { kind: 'file_edit', path: 'src/cart.ts', change: 'update' },
      { kind: 'file_edit', path: 'src/cart.test.ts', change: 'add' },
    ]);
    expect(steps[11]).toMatchObject({ kind: 'tool_call', name: 'Bash', summary: 'npm test -- cart', input: { command: 'npm test -- cart' } });
    expect(steps.at(-2)).toEqual({ kind: 'usage', inputTokens: 32 + 6425 + 79940, cachedInputTokens: 79940, outputTokens: 450, costUsd: 0.0712435 });
    expect(steps.at(-1)).toEqual({ kind: 'result', ok: true, subtype: 'success', text: 'The cart total now applies the discount, and a test covers it.', turns: 6, durationMs: 18319 });

    expect(summary).toEqual({
      cli: 'claude',
      sessionId: session,
      model: 'claude-sonnet-4-5-20250929',
      inputTokens: 86397,
      outputTokens: 450,
      cachedInputTokens: 79940,
      costUsd: 0.0712435,
      costSource: 'reported',
      turns: 6,
      denials: [],
      lastMessage: 'The cart total now applies the discount, and a test covers it.',
      currentAction: 'Bash: npm test -- cart',
    });
  });

  it('gives the steps with the line that holds them; a line of another event type gives none', () => {
    const { perLine, lines } = replay('claude', 'claude-edit.jsonl');
    const rateLimit = lines.findIndex((l) => l.includes('rate_limit_event'));
    expect(perLine[rateLimit]).toEqual([]);
    expect(perLine[0]!.map((s) => s.kind)).toEqual(['init']);
  });

  it('reports a denied tool once (from the tool result and the result list) and says the run needs permission', () => {
    const { steps, summary } = replaySummary('claude', 'claude-denied.jsonl');
    expect(steps.filter((s) => s.kind === 'permission_denied')).toEqual([
      { kind: 'permission_denied', tool: 'Bash', message: "Claude requested permissions to use Bash, but you haven't granted it yet." },
    ]);
    expect(steps.find((s) => s.kind === 'tool_result')).toMatchObject({ id: 'toolu_02Bash', isError: true });
    expect(steps.some((s) => s.kind === 'file_edit')).toBe(false);
    expect(summary.denials).toEqual([{ tool: 'Bash', message: "Claude requested permissions to use Bash, but you haven't granted it yet." }]);
    expect(summary.needsInput).toEqual({ reason: 'permission', detail: 'Bash' });
    expect(summary.costUsd).toBe(0.0123);
  });

  it('takes a denial the result alone lists', () => {
    const parser = createAgentParser('claude');
    const steps = parser.line(replay('claude', 'claude-denied.jsonl').lines.at(-1)!);
    expect(kinds(steps)).toEqual(['usage', 'permission_denied', 'result']);
    expect(steps[1]).toEqual({ kind: 'permission_denied', tool: 'Bash', message: 'Not allowed to use Bash on git push origin HEAD' });
  });

  it('says the run needs an answer when the last message asks a question, with that question', () => {
    const { summary } = replaySummary('claude', 'claude-question.jsonl');
    expect(summary.needsInput).toEqual({ reason: 'question', detail: 'Should I update both callers, or add a new totalWithDiscount() and leave total() as it is?' });
    expect(summary.currentAction).toBe('Grep: src');
  });

  it('keeps what came before a crash and drops the cut-off last line', () => {
    const { steps, perLine, summary } = replaySummary('claude', 'claude-crash.jsonl');
    expect(perLine.at(-1)).toEqual([]);
    expect(kinds(steps)).toEqual(['init', 'message', 'tool_call']);
    expect(summary).toMatchObject({ sessionId: session, inputTokens: 0, costSource: 'none', currentAction: 'Bash: npm test', lastMessage: 'Running the full test suite first.' });
    expect(summary.needsInput).toBeUndefined();
  });

  it('reads a newer release’s permission_denied system event without counting the denial twice', () => {

    const parser = createAgentParser('claude', { cwd: '/w' });
    parser.line('{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"Write","input":{"file_path":"/w/a.txt","content":"x"}}]}}');
    const announced = parser.line('{"type":"system","subtype":"permission_denied","tool_name":"Write","message":"Claude requested permissions to write to /w/a.txt, but you haven\'t granted it yet."}');
    const result = parser.line('{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","is_error":true,"content":"Claude requested permissions to write to /w/a.txt, but you haven\'t granted it yet."}]}}');
    const end = parser.line('{"type":"result","subtype":"success","is_error":false,"permission_denials":[{"tool_name":"Write","tool_use_id":"t1","tool_input":{"file_path":"/w/a.txt"}}]}');
    expect(announced).toEqual([{ kind: 'permission_denied', tool: 'Write', message: expect.stringContaining('write to /w/a.txt') }]);
    expect(kinds(result)).toEqual(['tool_result']);
    expect(kinds(end)).toEqual(['result']);
  });

  it('keeps a subagent’s edits and tool calls but not its words', () => {

    const parser = createAgentParser('claude', { cwd: '/w' });
    const words = parser.line('{"type":"assistant","message":{"content":[{"type":"text","text":"Subagent: looking"},{"type":"tool_use","id":"t2","name":"Edit","input":{"file_path":"/w/b.ts"}}]},"parent_tool_use_id":"task1"}');
    const edit = parser.line('{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t2","content":"ok"}]},"parent_tool_use_id":"task1","tool_use_result":{"filePath":"/w/b.ts","structuredPatch":[]}}');
    expect(kinds(words)).toEqual(['tool_call']);
    expect(edit).toEqual([
      { kind: 'tool_result', id: 't2', output: 'ok', isError: false },
      { kind: 'file_edit', path: 'b.ts', change: 'update' },
    ]);
  });
});
