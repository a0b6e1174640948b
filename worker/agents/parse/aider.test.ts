import { describe, expect, it } from 'vitest';
import { aiderTokens } from './aider';
import { createAgentParser } from './index';
import { kinds, replay, replaySummary } from './replay.test-support';

describe('aider text → steps', () => {
  it('reads the model, the answer as one message, each applied edit, and the tokens with the reported cost', () => {
    const { steps, summary } = replaySummary('aider', 'aider-edit.txt');
    expect(kinds(steps)).toEqual(['init', 'message', 'usage', 'file_edit', 'file_edit']);
    expect(steps[0]).toEqual({ kind: 'init', model: 'anthropic/claude-sonnet-4-5-20250929' });
    expect(steps[1]).toMatchObject({ kind: 'message', role: 'assistant', text: expect.stringMatching(/^I'll apply the discount in `total\(\)` and add a test\.\n\nsrc\/cart\.ts\n```/) });
    expect(steps[2]).toEqual({ kind: 'usage', inputTokens: 2100, outputTokens: 300, cachedInputTokens: 0, costUsd: 0.01 });
    expect(steps.slice(3)).toEqual([
      { kind: 'file_edit', path: 'src/cart.test.ts', change: 'update' },
      { kind: 'file_edit', path: 'src/cart.ts', change: 'update' },
    ]);
    expect(summary).toMatchObject({ cli: 'aider', model: 'anthropic/claude-sonnet-4-5-20250929', inputTokens: 2100, outputTokens: 300, costUsd: 0.01, costSource: 'reported', denials: [] });
    expect(summary.needsInput).toBeUndefined();
  });

  it('takes the cost from the next line when aider prints it there, and a question as needing input', () => {
    const { steps, summary } = replaySummary('aider', 'aider-question.txt');
    expect(steps.filter((s) => s.kind === 'usage')).toEqual([
      { kind: 'usage', inputTokens: 12000, outputTokens: 1500, cachedInputTokens: 10000 },
      { kind: 'usage', inputTokens: 12000, outputTokens: 1500, cachedInputTokens: 10000, costUsd: 0.0048 },
    ]);
    expect(summary).toMatchObject({ model: 'gpt-5', costUsd: 0.0048, costSource: 'reported' });
    expect(summary.needsInput).toEqual({ reason: 'question', detail: 'Which one should total() accept?' });
  });

  it('turns provider errors into error steps and gives the answer cut off by a crash at the end', () => {
    const parser = createAgentParser('aider');
    const { lines } = replay('aider', 'aider-crash.txt');
    const perLine = lines.map((l) => parser.line(l));
    expect(perLine.flat().filter((s) => s.kind === 'error').map((s) => (s as { message: string }).message)).toEqual([
      'litellm.InternalServerError: AnthropicException - Overloaded. Handle with `litellm.InternalServerError`.',
      "The API provider's servers are down or overloaded.",
    ]);
    expect(parser.end()).toEqual([{ kind: 'message', role: 'assistant', text: "I'll start by reading the cart mod\nule and" }]);
  });

  it('reads aider’s token counts', () => {
    expect(aiderTokens('950')).toBe(950);
    expect(aiderTokens('2.1k')).toBe(2100);
    expect(aiderTokens('12k')).toBe(12000);
  });

  it('does not take the header or the answered prompts for the model’s words', () => {
    const parser = createAgentParser('aider');
    const steps = [
      'Aider v0.86.1',
      'Model: gpt-5 with diff edit format',
      'src/extra.py',
      'Add file to the chat? (Y)es/(N)o/(D)on\'t ask again [Yes]: y',
      'Run shell command? (Y)es/(N)o/(D)on\'t ask again [Yes]: n',
      'Done.',
    ].flatMap((l) => parser.line(l));
    expect([...steps, ...parser.end()]).toEqual([
      { kind: 'init', model: 'gpt-5' },
      { kind: 'message', role: 'assistant', text: 'src/extra.py' },
      { kind: 'message', role: 'assistant', text: 'Done.' },
    ]);
  });
});
