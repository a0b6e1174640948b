// What a run cost when its CLI reports tokens only (codex, gemini): tokens times the model's list price. Claude and
// aider report their cost themselves, and a reported cost always wins over a computed one.
import { z } from 'zod';

const usdPerMillion = z.number().nonnegative('a price is US dollars per million tokens: 0 or more');

/** One model's prices, in US dollars per million tokens. */
export const ModelPrice = z.object({
  input: usdPerMillion,
  /** input tokens read from the provider's prompt cache; the input price when left out */
  cachedInput: usdPerMillion.optional(),
  output: usdPerMillion,
});
export type ModelPrice = z.infer<typeof ModelPrice>;

/** The user's prices (setting `ocr.agents.prices`): model name → prices, over the defaults below. */
export const AgentPrices = z.record(z.string().min(1, 'a model name cannot be empty'), ModelPrice);
export type AgentPrices = z.infer<typeof AgentPrices>;

const price = (input: number, cachedInput: number, output: number): ModelPrice => ({ input, cachedInput, output });

/**
 * Standard-tier list prices of the models codex and gemini commonly report, as the providers' pricing pages gave them
 * when checked on 2026-12-06 (OpenAI: developers.openai.com/api/docs/pricing; Google: ai.google.dev/gemini-api/docs/pricing,
 * the rate for prompts up to 200k tokens). Prices change: users override them with `ocr.agents.prices`.
 */
export const defaultAgentPrices: Readonly<AgentPrices> = {
  // OpenAI (codex)
  'gpt-5': price(1.25, 0.125, 10),
  'gpt-5-codex': price(1.25, 0.125, 10),
  'gpt-5-mini': price(0.25, 0.025, 2),
  'gpt-5-nano': price(0.05, 0.005, 0.4),
  'gpt-5.1': price(1.25, 0.125, 10),
  'gpt-5.1-codex': price(1.25, 0.125, 10),
  'gpt-5.1-codex-max': price(1.25, 0.125, 10),
  'gpt-5.1-codex-mini': price(0.25, 0.025, 2),
  'gpt-5.2': price(1.75, 0.175, 14),
  'gpt-5.2-codex': price(1.75, 0.175, 14),
  'gpt-5.3-codex': price(1.75, 0.175, 14),
  'gpt-5.4': price(2.5, 0.25, 15),
  'gpt-5.4-mini': price(0.75, 0.075, 4.5),
  'gpt-5.4-nano': price(0.2, 0.02, 1.25),
  'gpt-5.5': price(5, 0.5, 30),
  'codex-mini-latest': price(1.5, 0.375, 6),
  'o4-mini': price(1.1, 0.275, 4.4),
  'o3': price(2, 0.5, 8),
  // Google (gemini)
  'gemini-2.5-pro': price(1.25, 0.125, 10),
  'gemini-2.5-flash': price(0.3, 0.03, 2.5),
  'gemini-2.5-flash-lite': price(0.1, 0.01, 0.4),
  'gemini-3-pro': price(2, 0.2, 12),
  'gemini-3-flash': price(0.5, 0.05, 3),
  'gemini-3.1-pro': price(2, 0.2, 12),
  'gemini-3.1-flash-lite': price(0.25, 0.025, 1.5),
  'gemini-3.5-flash': price(1.5, 0.15, 9),
};

/**
 * The prices of `model`: the user's first, then the defaults; the exact name, else the longest known name it starts
 * with followed by `-` (a dated snapshot `gpt-5-2025-08-07`, a preview `gemini-3-pro-preview`). A provider prefix such
 * as `openai/` or `models/` is ignored.
 */
export function modelPrice(model: string, prices: AgentPrices = {}): ModelPrice | undefined {
  const name = model.trim().toLowerCase().replace(/^(?:[a-z0-9_-]+\/)+/, '');
  if (!name) return undefined;
  for (const table of [lowerKeys(prices), defaultAgentPrices]) {
    const exact = table[name];
    if (exact) return exact;
    let best: string | undefined;
    for (const known of Object.keys(table)) {
      if (name.startsWith(`${known}-`) && (best === undefined || known.length > best.length)) best = known;
    }
    if (best !== undefined) return table[best];
  }
  return undefined;
}

function lowerKeys(prices: AgentPrices): AgentPrices {
  return Object.fromEntries(Object.entries(prices).map(([k, v]) => [k.trim().toLowerCase(), v]));
}

/**
 * What `usage` cost on `model` in US dollars, or undefined when the model has no known price. `inputTokens` counts
 * the cached ones too: they are billed at the cached price, the rest at the input price.
 */
export function priceUsage(
  usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number },
  model: string,
  prices?: AgentPrices,
): number | undefined {
  const p = modelPrice(model, prices);
  if (!p) return undefined;
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const cost = ((usage.inputTokens - cached) * p.input + cached * (p.cachedInput ?? p.input) + usage.outputTokens * p.output) / 1_000_000;
  return Math.round(cost * 1e6) / 1e6;
}
