// A coding agent's run as steps: what the agent said, which tools it called and what they answered, which files it
// changed, what it was denied, what it cost. Each CLI's parser (worker/agents/parse) turns its stream into these
// steps; the run's events keep the raw line as their text and the steps as `data.agent`, so nothing of the stream is
// lost and the Runboard can show the run as a conversation.
import { z } from 'zod';
import { type AgentPrices, priceUsage } from './agent-prices';

export const AgentCli = z.enum(['claude', 'codex', 'gemini', 'aider']);
export type AgentCli = z.infer<typeof AgentCli>;

/** The most of a tool's input a step keeps per string, and of a tool's output: steps are stored with every event. */
export const maxToolInputChars = 2 * 1024;
export const maxToolOutputChars = 8 * 1024;
/** The most of one message a step keeps (an answer streamed over many lines becomes one step). */
export const maxMessageChars = 64 * 1024;

const tokens = z.number().int().nonnegative();

export const AgentStep = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('init'),
    sessionId: z.string().optional(),
    model: z.string().optional(),
    tools: z.array(z.string()).optional(),
    permissionMode: z.string().optional(),
  }),
  z.object({ kind: z.literal('message'), role: z.enum(['assistant', 'user']), text: z.string() }),
  z.object({ kind: z.literal('thinking'), text: z.string() }),
  z.object({
    kind: z.literal('tool_call'),
    /** the CLI's id of the call; its tool_result carries the same id */
    id: z.string(),
    name: z.string(),
    /** one line: the command, the file, the pattern */
    summary: z.string(),
    input: z.unknown().optional(),
  }),
  z.object({
    kind: z.literal('tool_result'),
    id: z.string(),
    output: z.string(),
    isError: z.boolean(),
    /** the output was longer than maxToolOutputChars and was cut (the text says so too) */
    truncated: z.boolean().optional(),
  }),
  z.object({ kind: z.literal('file_edit'), path: z.string(), change: z.enum(['add', 'update', 'delete', 'rename']) }),
  z.object({ kind: z.literal('permission_denied'), tool: z.string(), message: z.string() }),
  z.object({
    kind: z.literal('usage'),
    // The run's totals so far, not an increment: a later usage step replaces an earlier one. Input counts every
    // input token, cached ones included; cachedInputTokens says how many of them were read from the cache.
    inputTokens: tokens,
    outputTokens: tokens,
    cachedInputTokens: tokens,
    costUsd: z.number().nonnegative().optional(),
  }),
  z.object({
    kind: z.literal('result'),
    ok: z.boolean(),
    subtype: z.string().optional(),
    text: z.string().optional(),
    turns: z.number().int().nonnegative().optional(),
    durationMs: z.number().nonnegative().optional(),
  }),
  z.object({ kind: z.literal('error'), message: z.string() }),
]);
export type AgentStep = z.infer<typeof AgentStep>;
export type AgentStepOf<K extends AgentStep['kind']> = Extract<AgentStep, { kind: K }>;

/** What a run's event holds in `data` when its line was a step (or several) of an agent's stream. */
export const AgentEventData = z.object({ agent: z.array(AgentStep) });
export type AgentEventData = z.infer<typeof AgentEventData>;

/** The steps of an event's `data`, or none when the line was not recognised (or the data is not ours). */
export function agentSteps(data: unknown): AgentStep[] {
  const parsed = AgentEventData.safeParse(data);
  return parsed.success ? parsed.data.agent : [];
}

export const NeedsInput = z.object({ reason: z.enum(['permission', 'question']), detail: z.string() });
export type NeedsInput = z.infer<typeof NeedsInput>;

/** A run's totals, stored on the run when it ends and shown on it (summed per lane and session). */
export const AgentSummary = z.object({
  cli: AgentCli,
  sessionId: z.string().optional(),
  model: z.string().optional(),
  inputTokens: tokens,
  outputTokens: tokens,
  cachedInputTokens: tokens,
  costUsd: z.number().nonnegative().optional(),
  /** reported: the CLI said what it cost; priced: computed from the price table; none: neither could say */
  costSource: z.enum(['reported', 'priced', 'none']),
  turns: z.number().int().nonnegative().optional(),
  denials: z.array(z.object({ tool: z.string(), message: z.string() })),
  lastMessage: z.string().optional(),
  /** one line: the last tool call's summary, for the Sessions tree */
  currentAction: z.string().optional(),
  needsInput: NeedsInput.optional(),
});
export type AgentSummary = z.infer<typeof AgentSummary>;

/** What a run of a coding agent keeps on itself (ops.runs.agent): its totals, its profile, and a budget it ran past. */
export const RunAgent = AgentSummary.extend({
  /** the profile the run used; a follow-up continues the conversation only with the same one */
  profile: z.string(),
  /** the run's own limit on cost, in USD, when it had one */
  budgetUsd: z.number().positive().optional(),
  /** the run was stopped because its cost passed its budget */
  overBudget: z.boolean().optional(),
});
export type RunAgent = z.infer<typeof RunAgent>;

export interface SummarizeOptions {
  /** the user's prices (setting `ocr.agents.prices`), over the defaults, for CLIs that report tokens only */
  prices?: AgentPrices;
  /** the model the profile asked for, when the stream does not name one (codex does not) */
  model?: string;
}

/**
 * A run's totals from its steps, in order.
 *
 * Needs input: the run ended waiting for the user when
 * 1. the agent was denied a tool (claude lists them in `result.permission_denials`, gemini answers a tool call with a
 *    `policy_violation`): reason `permission`, detail = the denied tools, or else
 * 2. the agent's last message, trimmed, ends with a question mark: reason `question`, detail = that message's last
 *    sentence.
 * Denials come first because they are what the user can act on at once (allow the tool), and an agent that was
 * denied often ends by asking for the very permission.
 */
export function summarizeAgent(cli: AgentCli, steps: readonly AgentStep[], options: SummarizeOptions = {}): AgentSummary {
  let sessionId: string | undefined;
  let model: string | undefined;
  let usage: AgentStepOf<'usage'> | undefined;
  let turns: number | undefined;
  let lastMessage: string | undefined;
  let currentAction: string | undefined;
  const denials: { tool: string; message: string }[] = [];
  for (const step of steps) {
    switch (step.kind) {
      case 'init':
        sessionId = step.sessionId ?? sessionId;
        model = step.model ?? model;
        break;
      case 'message':
        if (step.role === 'assistant' && step.text.trim()) lastMessage = step.text.trim();
        break;
      case 'tool_call':
        currentAction = step.summary ? `${step.name}: ${step.summary}` : step.name;
        break;
      case 'permission_denied':
        if (!denials.some((d) => d.tool === step.tool && d.message === step.message)) denials.push({ tool: step.tool, message: step.message });
        break;
      case 'usage':
        usage = step;
        break;
      case 'result':
        turns = step.turns ?? turns;
        // claude repeats its last message as the result's text; a result without messages before it still says something
        if (step.text?.trim() && lastMessage === undefined) lastMessage = step.text.trim();
        break;
      default:
        break;
    }
  }
  model ??= options.model;
  const summary: AgentSummary = {
    cli,
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cachedInputTokens: usage?.cachedInputTokens ?? 0,
    costSource: 'none',
    denials,
  };
  if (sessionId !== undefined) summary.sessionId = sessionId;
  if (model !== undefined) summary.model = model;
  if (turns !== undefined) summary.turns = turns;
  if (lastMessage !== undefined) summary.lastMessage = lastMessage;
  if (currentAction !== undefined) summary.currentAction = currentAction;
  if (usage?.costUsd !== undefined) {
    summary.costUsd = usage.costUsd;
    summary.costSource = 'reported';
  } else if (usage && model) {
    const priced = priceUsage(usage, model, options.prices);
    if (priced !== undefined) {
      summary.costUsd = priced;
      summary.costSource = 'priced';
    }
  }
  const needsInput = needsInputOf(denials, lastMessage);
  if (needsInput) summary.needsInput = needsInput;
  return summary;
}

function needsInputOf(denials: readonly { tool: string }[], lastMessage: string | undefined): NeedsInput | undefined {
  if (denials.length > 0) return { reason: 'permission', detail: [...new Set(denials.map((d) => d.tool))].join(', ') };
  if (lastMessage?.endsWith('?')) return { reason: 'question', detail: lastSentence(lastMessage) };
  return undefined;
}

/** The last sentence of `text` (which ends with its question mark): what follows the previous sentence's end or line. */
export function lastSentence(text: string): string {
  const trimmed = text.trim();
  const body = trimmed.slice(0, -1);
  let cut = body.lastIndexOf('\n') + 1;
  for (const end of body.matchAll(/[.!?:](?=\s)/g)) cut = Math.max(cut, end.index + 1);
  return trimmed.slice(cut).trim();
}

/** One line for the log and the Sessions tree. */
export function describeStep(step: AgentStep): string {
  switch (step.kind) {
    case 'init':
      return ['Session started', step.model && `model ${step.model}`, step.sessionId && `session ${step.sessionId}`].filter(Boolean).join(', ');
    case 'message':
      return `${step.role === 'assistant' ? 'Agent' : 'User'}: ${oneLine(step.text)}`;
    case 'thinking':
      return `Thinking: ${oneLine(step.text)}`;
    case 'tool_call':
      return step.summary ? `${step.name}: ${oneLine(step.summary)}` : step.name;
    case 'tool_result':
      return `${step.isError ? 'Tool failed' : 'Tool result'}: ${oneLine(step.output) || '(no output)'}`;
    case 'file_edit':
      return `${fileChangeVerb[step.change]} ${step.path}`;
    case 'permission_denied':
      return `Denied ${step.tool}: ${oneLine(step.message)}`;
    case 'usage':
      return `Tokens: ${step.inputTokens} in (${step.cachedInputTokens} cached), ${step.outputTokens} out${step.costUsd === undefined ? '' : `, $${formatUsd(step.costUsd)}`}`;
    case 'result':
      return [step.ok ? 'Done' : `Ended with an error${step.subtype ? ` (${step.subtype})` : ''}`, step.turns !== undefined && `${step.turns} turns`, step.text && oneLine(step.text)]
        .filter(Boolean)
        .join(', ');
    case 'error':
      return `Error: ${oneLine(step.message)}`;
  }
}

const fileChangeVerb = { add: 'Added', update: 'Edited', delete: 'Deleted', rename: 'Renamed' } as const;

/** Dollars as people read them: cents, or more digits for amounts under a cent. */
export function formatUsd(usd: number): string {
  return usd >= 0.01 || usd === 0 ? usd.toFixed(2) : usd.toPrecision(2);
}

const maxLineChars = 200;

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > maxLineChars ? `${line.slice(0, maxLineChars - 1)}…` : line;
}

// Text on its way into a step. The database's JSON cannot hold a NUL or half a surrogate pair; a cut must not make one.
const unstorable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` as a step can store it: NULs and halves of surrogate pairs replaced, at most `max` characters (then says so). */
export function stepText(text: string, max = Number.POSITIVE_INFINITY): { text: string; truncated: boolean } {
  let clean = text.replace(unstorable, '\ufffd');
  if (clean.length <= max) return { text: clean, truncated: false };
  let cut = max;
  if (/[\ud800-\udbff]/.test(clean[cut - 1] ?? '')) cut -= 1;
  const rest = clean.length - cut;
  clean = `${clean.slice(0, cut)}\n… (${rest} more characters not kept)`;
  return { text: clean, truncated: true };
}

/** A tool's input kept small: strings cut at maxToolInputChars, at most 50 entries per list or object, 6 levels deep. */
export function smallInput(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return stepText(value, maxToolInputChars).text;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return value;
  if (depth >= 6) return '…';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => smallInput(v, depth + 1));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>).slice(0, 50)) out[stepText(key, 200).text] = smallInput(v, depth + 1);
    return out;
  }
  return undefined;
}
