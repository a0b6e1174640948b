// A tool for other agents: one action of Ops Control Room a model may take (queue a run, read a log…), described for
// that model, with its input as a zod schema. The MCP server (`ocr mcp`) and the editor's language-model tools are two
// ways of offering the same tools; both call `call()`, which checks the input and runs the same action functions the
// palette, the Runboard and the CLI call.
import { z } from 'zod';
import { OcrError, parseInput } from '../store/errors';
import type { Store } from '../store/store';

/** What a person is asked before a tool that runs or stops code goes ahead. `message` is Markdown. */
export interface Confirmation {
  title: string;
  message: string;
}

/** An answer for a model: plain text as it is, anything else as JSON. */
export type ToolAnswer = string | Record<string, unknown>;

export interface ToolDefinition<S extends z.ZodObject> {
  /** snake_case; the editor's copy is prefixed with `ocr_` */
  name: string;
  /** for people: the tool's name in a list of tools */
  title: string;
  /** for a model: what the tool does, when to use it, what it answers */
  description: string;
  input: S;
  /** reads only: safe to call without asking anyone */
  readOnly: boolean;
  /** for a tool that runs or stops code: what to ask first (the input is checked, ids resolved) */
  confirm?: (store: Store, input: z.output<S>) => Promise<Confirmation>;
  run(store: Store, input: z.output<S>): Promise<ToolAnswer>;
}

/** A tool with its input type erased, so tools of different inputs sit in one list. */
export interface AgentTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly input: z.ZodObject;
  readonly readOnly: boolean;
  /** What to ask a person before calling, or undefined when nothing needs asking. Bad input throws. */
  confirmation(store: Store, input: unknown): Promise<Confirmation | undefined>;
  /** The tool's answer as text. Bad input and refused actions throw an OcrError naming the field or the reason. */
  call(store: Store, input: unknown): Promise<string>;
}

export function defineTool<S extends z.ZodObject>(definition: ToolDefinition<S>): AgentTool {
  const parse = (input: unknown) => parseInput(definition.input, input ?? {});
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    input: definition.input,
    readOnly: definition.readOnly,
    async confirmation(store, input) {
      return definition.confirm ? definition.confirm(store, parse(input)) : undefined;
    },
    async call(store, input) {
      return answerText(await definition.run(store, parse(input)));
    },
  };
}

export const answerText = (answer: ToolAnswer): string => (typeof answer === 'string' ? answer : JSON.stringify(answer, null, 2));

/** The input's JSON schema, as MCP clients and the editor's `languageModelTools` contribution declare it. */
export function inputJsonSchema(tool: Pick<AgentTool, 'input'>): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(tool.input, { io: 'input' }) as Record<string, unknown>;
  return schema;
}

/** One line for the calling model: what went wrong and what to do, for errors of ours; the message for others. */
export function errorText(e: unknown): string {
  if (e instanceof OcrError) return e.line;
  return e instanceof Error ? e.message : String(e);
}

/**
 * A session or run named by its id or its first characters (as list_sessions and queue_run show them); a name that
 * fits none gets a hint in the tools' own words rather than the CLI's.
 */
export async function resolveId(store: Store, kind: 'run' | 'session', field: string, text: string): Promise<string> {
  try {
    return await store.resolveId(kind, text);
  } catch (e) {
    if (!(e instanceof OcrError)) throw e;
    const hint = kind === 'session' ? 'call list_sessions for the sessions and their ids' : 'queue_run and list_sessions give run ids';
    if (e.code === 'not_found') throw new OcrError('not_found', `${field}: no ${kind} has the id ${JSON.stringify(text)}`, hint);
    if (e.code === 'invalid_input') throw new OcrError('invalid_input', `${field}: ${e.message.replace(/^\w+: /, '')}`, e.hint);
    throw e;
  }
}

/**
 * `text` as Markdown code a person reads before saying yes: inline when it is one short line, else a fenced block; the
 * fence is longer than any run of backticks inside, so nothing in the text can end it early.
 */
export function markdownCode(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((s) => s.length));
  if (!text.includes('\n') && text.length <= 120) {
    const ticks = '`'.repeat(longest + 1);
    const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
    return `${ticks}${pad}${text}${pad}${ticks}`;
  }
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `\n\n${fence}text\n${text}\n${fence}\n\n`;
}
