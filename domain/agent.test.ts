import { describe, expect, it } from 'vitest';
import { AgentPrices, modelPrice, priceUsage } from './agent-prices';
import { type AgentStep, agentSteps, describeStep, lastSentence, smallInput, stepText, summarizeAgent } from './agent';

const usage = (inputTokens: number, outputTokens: number, cachedInputTokens = 0, costUsd?: number): AgentStep => ({
  kind: 'usage',
  inputTokens,
  outputTokens,
  cachedInputTokens,
  ...(costUsd === undefined ? {} : { costUsd }),
});

describe('a run’s totals from its steps', () => {
  it('takes the last usage (a usage is the run’s total so far), the session, the model and the last tool call', () => {
    const summary = summarizeAgent('codex', [
      { kind: 'init', sessionId: 's1' },
      { kind: 'tool_call', id: '1', name: 'shell', summary: 'npm ci' },
      usage(100, 10),
      { kind: 'message', role: 'assistant', text: '  Installed.  ' },
      { kind: 'tool_call', id: '2', name: 'shell', summary: 'npm test' },
      usage(300, 30, 200),
      { kind: 'result', ok: true, turns: 2 },
    ], { model: 'gpt-5' });
    expect(summary).toEqual({
      cli: 'codex',
      sessionId: 's1',
      model: 'gpt-5',
      inputTokens: 300,
      outputTokens: 30,
      cachedInputTokens: 200,
      costUsd: (100 * 1.25 + 200 * 0.125 + 30 * 10) / 1e6,
      costSource: 'priced',
      turns: 2,
      denials: [],
      lastMessage: 'Installed.',
      currentAction: 'shell: npm test',
    });
  });

  it('prefers a reported cost to a computed one, and the stream’s model to the profile’s', () => {
    const summary = summarizeAgent('claude', [{ kind: 'init', model: 'gpt-5' }, usage(1000, 10, 0, 0.5)], { model: 'gpt-5.5' });
    expect(summary).toMatchObject({ model: 'gpt-5', costUsd: 0.5, costSource: 'reported' });
  });

  it('has no cost, and says so, without usage or a known model', () => {
    expect(summarizeAgent('gemini', [])).toEqual({ cli: 'gemini', inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costSource: 'none', denials: [] });
    expect(summarizeAgent('gemini', [{ kind: 'init', model: 'gemini-9-ultra' }, usage(1, 1)]).costSource).toBe('none');
  });

  it('needs input for permission when a tool was denied, even if the agent then asked a question; each denial once', () => {
    const denied: AgentStep = { kind: 'permission_denied', tool: 'Bash', message: 'not granted' };
    const summary = summarizeAgent('claude', [
      denied,
      { kind: 'permission_denied', tool: 'WebFetch', message: 'not granted' },
      denied,
      { kind: 'message', role: 'assistant', text: 'May I run it?' },
    ]);
    expect(summary.denials).toEqual([
      { tool: 'Bash', message: 'not granted' },
      { tool: 'WebFetch', message: 'not granted' },
    ]);
    expect(summary.needsInput).toEqual({ reason: 'permission', detail: 'Bash, WebFetch' });
  });

  it('needs an answer only when the last assistant message ends with a question mark', () => {
    const ask = (text: string) => summarizeAgent('claude', [{ kind: 'message', role: 'assistant', text: 'Which one?' }, { kind: 'message', role: 'assistant', text }]).needsInput;
    expect(ask('Done. Want me to also update the docs?\n')).toEqual({ reason: 'question', detail: 'Want me to also update the docs?' });
    expect(ask('Done; tests pass.')).toBeUndefined();
    expect(ask('Is this right? I went ahead anyway.')).toBeUndefined();
    // a user message after it does not hide the agent's question
    expect(summarizeAgent('gemini', [{ kind: 'message', role: 'assistant', text: 'Shall I?' }, { kind: 'message', role: 'user', text: 'go' }]).needsInput).toEqual({ reason: 'question', detail: 'Shall I?' });
  });

  it('uses the result text as the last message when no message came before it', () => {
    expect(summarizeAgent('claude', [{ kind: 'result', ok: true, text: 'Should I commit?' }]).needsInput).toEqual({ reason: 'question', detail: 'Should I commit?' });
  });

  it('finds the last sentence of a question', () => {
    expect(lastSentence('I fixed it. Should I also update v1.2 docs?')).toBe('Should I also update v1.2 docs?');
    expect(lastSentence('Two options:\n1. keep\n2. drop\nWhich one?')).toBe('Which one?');
    expect(lastSentence('Options: keep it or drop it?')).toBe('keep it or drop it?');
    expect(lastSentence('Why?')).toBe('Why?');
  });
});

describe('one line per step', () => {
  it('says what each step is, on one line', () => {
    expect(describeStep({ kind: 'init', sessionId: 's', model: 'm' })).toBe('Session started, model m, session s');
    expect(describeStep({ kind: 'message', role: 'assistant', text: 'Hello\nworld' })).toBe('Agent: Hello world');
    expect(describeStep({ kind: 'tool_call', id: '1', name: 'Bash', summary: 'npm test' })).toBe('Bash: npm test');
    expect(describeStep({ kind: 'tool_result', id: '1', output: '', isError: true })).toBe('Tool failed: (no output)');
    expect(describeStep({ kind: 'file_edit', path: 'src/a.ts', change: 'add' })).toBe('Added src/a.ts');
    expect(describeStep({ kind: 'permission_denied', tool: 'Bash', message: 'not granted' })).toBe('Denied Bash: not granted');
    expect(describeStep(usage(1200, 30, 1000, 0.0042))).toBe('Tokens: 1200 in (1000 cached), 30 out, $0.0042');
    expect(describeStep({ kind: 'result', ok: false, subtype: 'error_max_turns', turns: 9 })).toBe('Ended with an error (error_max_turns), 9 turns');
    expect(describeStep({ kind: 'error', message: 'boom' })).toBe('Error: boom');
    expect(describeStep({ kind: 'thinking', text: 'x'.repeat(500) })).toHaveLength('Thinking: '.length + 200);
  });
});

describe('text kept in steps', () => {
  it('cuts long text, says so, and never leaves half a character', () => {
    expect(stepText('abc', 10)).toEqual({ text: 'abc', truncated: false });
    expect(stepText('abcdef', 3)).toEqual({ text: 'abc\n… (3 more characters not kept)', truncated: true });
    expect(stepText('a😀', 2).text.startsWith('a\n')).toBe(true);
    expect(stepText('\u0000\ud800').text).toBe('\ufffd\ufffd');
  });

  it('keeps tool input small', () => {
    expect(smallInput({ a: 'x'.repeat(3000), list: Array.from({ length: 80 }, (_, i) => i), deep: { b: { c: { d: { e: { f: { g: 1 } } } } } } })).toEqual({
      a: expect.stringMatching(/^x{2048}\n… \(952 more/),
      list: Array.from({ length: 50 }, (_, i) => i),
      deep: { b: { c: { d: { e: { f: '…' } } } } },
    });
  });

  it('reads steps back from an event’s data, and nothing from data that is not steps', () => {
    expect(agentSteps({ agent: [{ kind: 'error', message: 'x' }] })).toEqual([{ kind: 'error', message: 'x' }]);
    expect(agentSteps({ continued: true })).toEqual([]);
    expect(agentSteps({ agent: [{ kind: 'nope' }] })).toEqual([]);
    expect(agentSteps(null)).toEqual([]);
  });
});

describe('prices', () => {
  it('finds a model by its exact name, a dated or preview name, or with a provider prefix', () => {
    expect(modelPrice('gpt-5-codex')).toEqual({ input: 1.25, cachedInput: 0.125, output: 10 });
    expect(modelPrice('gpt-5-2025-08-07')).toEqual(modelPrice('gpt-5'));
    expect(modelPrice('gpt-5.4-mini-2026-03-01')).toEqual(modelPrice('gpt-5.4-mini'));
    expect(modelPrice('gemini-3-pro-preview')).toEqual(modelPrice('gemini-3-pro'));
    expect(modelPrice('models/gemini-2.5-flash')).toEqual(modelPrice('gemini-2.5-flash'));
    expect(modelPrice('GPT-5')).toEqual(modelPrice('gpt-5'));
    expect(modelPrice('gpt-50')).toBeUndefined();
    expect(modelPrice('')).toBeUndefined();
  });

  it('lets the user’s prices win and add models', () => {
    const prices = AgentPrices.parse({ 'gpt-5': { input: 1, output: 2 }, 'Local-Llama': { input: 0, output: 0 } });
    expect(priceUsage({ inputTokens: 1_000_000, outputTokens: 1_000_000, cachedInputTokens: 500_000 }, 'gpt-5', prices)).toBe(3);
    expect(priceUsage({ inputTokens: 5, outputTokens: 5, cachedInputTokens: 0 }, 'local-llama', prices)).toBe(0);
    expect(priceUsage({ inputTokens: 5, outputTokens: 5, cachedInputTokens: 0 }, 'mystery')).toBeUndefined();
  });

  it('bills cached tokens at the cached price, never more cached than input', () => {
    expect(priceUsage({ inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 1_000_000 }, 'gpt-5')).toBe(0.125);
    expect(priceUsage({ inputTokens: 10, outputTokens: 0, cachedInputTokens: 1_000_000 }, 'gpt-5')).toBe(0.000001);
  });

  it('names the field and the fix for a bad price setting', () => {
    const bad = AgentPrices.safeParse({ 'gpt-5': { input: -1, output: 2 }, '': { input: 1, output: 1 } });
    expect(bad.success).toBe(false);
    const [price, key] = bad.error!.issues;
    expect(price).toMatchObject({ path: ['gpt-5', 'input'], message: 'a price is US dollars per million tokens: 0 or more' });
    expect(JSON.stringify(key)).toContain('a model name cannot be empty');
  });
});
