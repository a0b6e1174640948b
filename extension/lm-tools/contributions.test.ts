// package.json declares the editor's language-model tools; the declarations must be the tools' own (names, the
// description a model reads, the input schema), or a model would be told one thing and checked against another.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { agentTools } from '../../worker/tools';
import { languageModelToolActivationEvents, languageModelToolContributions } from './contributions';

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  activationEvents: string[];
  contributes: { languageModelTools?: unknown[] };
};

describe('contributes.languageModelTools', () => {
  it('is what the tools say, one entry per tool, each input schema made from its zod schema', () => {
    // on a mismatch: put the expected value below into package.json (contributes.languageModelTools)
    expect(manifest.contributes.languageModelTools).toEqual(languageModelToolContributions());
    expect(manifest.contributes.languageModelTools).toHaveLength(agentTools.length);
  });

  it('activates the extension for each of them', () => {
    for (const event of languageModelToolActivationEvents()) expect(manifest.activationEvents).toContain(event);
  });

  it('asks for the fields a model must give, and no more', () => {
    const required = Object.fromEntries(languageModelToolContributions().map((t) => [t.name, t.inputSchema.required ?? []]));
    expect(required).toEqual({
      ocr_list_sessions: [],
      ocr_get_run: ['run'],
      ocr_read_log: ['run'],
      ocr_queue_run: ['session', 'lane', 'intent'],
      ocr_cancel_run: ['run'],
    });
  });
});
