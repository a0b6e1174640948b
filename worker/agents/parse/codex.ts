// codex exec --json: one JSON event a line.
// Shapes as openai/codex writes them (codex-rs/exec/src/exec_events.rs, emitted by
// codex-rs/exec/src/event_processor_with_jsonl_output.rs): `thread.started` {thread_id}, `turn.started`,
// `item.started` / `item.updated` / `item.completed` {item: {id, type, …}} with item types agent_message {text},
// reasoning {text}, command_execution {command, aggregated_output, exit_code, status}, file_change {changes[{path,
// kind: add|delete|update}], status}, mcp_tool_call {server, tool, arguments, result, error, status}, web_search
// {query}, todo_list, error {message}; `turn.completed` {usage: {input_tokens, cached_input_tokens, output_tokens}},
// `turn.failed` {error: {message}}, `request_user_input` {questions[{question}]}, `error` {message}.
// The usage is the thread's total so far (input counts the cached tokens too), and the stream never names the model:
// the profile's model (options.model) is what prices it.
import { z } from 'zod';
import { type AgentStep, maxToolOutputChars, smallInput, stepText } from '../../../domain';
import { type AgentParser, type AgentParserOptions, jsonLinesParser, oneLine, relativePath } from './lines';

const count = z.number().int().nonnegative().catch(0).optional();

const Item = z.looseObject({ id: z.string(), type: z.string() });
const AgentMessage = z.looseObject({ type: z.literal('agent_message'), text: z.string() });
const Reasoning = z.looseObject({ type: z.literal('reasoning'), text: z.string() });
const Command = z.looseObject({
  id: z.string(),
  type: z.literal('command_execution'),
  command: z.string(),
  aggregated_output: z.string().optional().catch(undefined),
  exit_code: z.number().int().nullable().optional().catch(undefined),
  status: z.string().optional(),
});
const FileChange = z.looseObject({
  type: z.literal('file_change'),
  changes: z.array(z.looseObject({ path: z.string(), kind: z.union([z.string(), z.looseObject({ type: z.string() })]) })),
  status: z.string().optional(),
});
const McpCall = z.looseObject({
  id: z.string(),
  type: z.literal('mcp_tool_call'),
  server: z.string(),
  tool: z.string(),
  arguments: z.unknown().optional(),
  result: z.looseObject({ content: z.array(z.unknown()).optional() }).nullable().optional().catch(undefined),
  error: z.looseObject({ message: z.string() }).nullable().optional().catch(undefined),
  status: z.string().optional(),
});
const WebSearch = z.looseObject({ id: z.string(), type: z.literal('web_search'), query: z.string().optional().catch(undefined) });
const ErrorItem = z.looseObject({ type: z.literal('error'), message: z.string() });

const ThreadStarted = z.looseObject({ thread_id: z.string() });
const ItemEvent = z.looseObject({ item: Item });
const TurnCompleted = z.looseObject({ usage: z.looseObject({ input_tokens: count, cached_input_tokens: count, output_tokens: count }) });
const TurnFailed = z.looseObject({ error: z.looseObject({ message: z.string() }) });
const ErrorEvent = z.looseObject({ message: z.string() });
const UserInput = z.looseObject({ questions: z.array(z.looseObject({ question: z.string().optional(), header: z.string().optional() })) });

/** `bash -lc 'npm test'` reads as `npm test`: the shell wrapper is how codex runs every command. */
export function commandLine(command: string): string {
  const wrapped = /^(?:\S*\/)?(?:ba|z)?sh -l?c (.+)$/s.exec(command.trim());
  if (!wrapped) return command;
  const inner = wrapped[1]!.trim();
  const quoted = /^'(.*)'$/s.exec(inner) ?? /^"(.*)"$/s.exec(inner);
  return quoted ? quoted[1]! : inner;
}

const changeKinds = { add: 'add', delete: 'delete', update: 'update' } as const;

export function codexParser(options: AgentParserOptions = {}): AgentParser {
  const { cwd, model } = options;
  /** items whose tool_call was already reported at item.started */
  const started = new Set<string>();
  let turns = 0;

  const call = (id: string, name: string, summary: string, input: unknown): AgentStep[] => {
    if (started.has(id)) return [];
    started.add(id);
    return [{ kind: 'tool_call', id, name, summary, ...(input === undefined ? {} : { input: smallInput(input) }) }];
  };

  const toolCall = (item: unknown): AgentStep[] => {
    const command = Command.safeParse(item);
    if (command.success) return call(command.data.id, 'shell', oneLine(commandLine(command.data.command)), { command: command.data.command });
    const mcp = McpCall.safeParse(item);
    if (mcp.success) return call(mcp.data.id, `${mcp.data.server}.${mcp.data.tool}`, oneLine(JSON.stringify(mcp.data.arguments ?? {})), mcp.data.arguments);
    const search = WebSearch.safeParse(item);
    if (search.success) return call(search.data.id, 'web_search', oneLine(search.data.query ?? ''), undefined);
    return [];
  };

  const output = (id: string, text: string, isError: boolean): AgentStep => {
    const kept = stepText(text, maxToolOutputChars);
    return { kind: 'tool_result', id, output: kept.text, isError, ...(kept.truncated ? { truncated: true } : {}) };
  };

  const completed = (item: z.infer<typeof Item>): AgentStep[] => {
    const message = AgentMessage.safeParse(item);
    if (message.success) return message.data.text.trim() ? [{ kind: 'message', role: 'assistant', text: stepText(message.data.text).text }] : [];
    const reasoning = Reasoning.safeParse(item);
    if (reasoning.success) return reasoning.data.text.trim() ? [{ kind: 'thinking', text: stepText(reasoning.data.text).text }] : [];
    const command = Command.safeParse(item);
    if (command.success) {
      const { id, aggregated_output: text = '', exit_code: exitCode, status } = command.data;
      const failed = status === 'failed' || status === 'declined' || (exitCode !== undefined && exitCode !== null && exitCode !== 0);
      const shown = status === 'declined' && !text ? 'The command was declined.' : text;
      return [...toolCall(item), output(id, shown, failed)];
    }
    const change = FileChange.safeParse(item);
    if (change.success) {
      const paths = change.data.changes.map((c) => relativePath(c.path, cwd));
      if (change.data.status === 'failed') return [{ kind: 'error', message: `A patch failed to apply: ${paths.join(', ')}` }];
      return change.data.changes.map((c, i) => {
        const kind = typeof c.kind === 'string' ? c.kind : c.kind.type;
        const moved = typeof c.kind === 'object' && typeof c.kind.move_path === 'string';
        return { kind: 'file_edit', path: paths[i]!, change: moved ? 'rename' : (changeKinds[kind as keyof typeof changeKinds] ?? 'update') };
      });
    }
    const mcp = McpCall.safeParse(item);
    if (mcp.success) {
      const failed = mcp.data.status === 'failed' || Boolean(mcp.data.error);
      const text = mcp.data.error?.message ?? (mcp.data.result?.content ?? []).map(contentText).join('\n');
      return [...toolCall(item), output(mcp.data.id, text, failed)];
    }
    const search = WebSearch.safeParse(item);
    if (search.success) return [...toolCall(item), output(search.data.id, '', false)];
    const error = ErrorItem.safeParse(item);
    if (error.success) return [{ kind: 'error', message: stepText(error.data.message, maxToolOutputChars).text }];
    return [];
  };

  return jsonLinesParser({
    event(value) {
      const type = (value as { type?: unknown }).type;
      switch (type) {
        case 'thread.started': {
          const event = ThreadStarted.safeParse(value);
          return event.success ? [{ kind: 'init', sessionId: event.data.thread_id, ...(model ? { model } : {}) }] : [];
        }
        case 'item.started': {
          const event = ItemEvent.safeParse(value);
          return event.success ? toolCall(event.data.item) : [];
        }
        case 'item.completed': {
          const event = ItemEvent.safeParse(value);
          return event.success ? completed(event.data.item) : [];
        }
        case 'turn.completed': {
          const event = TurnCompleted.safeParse(value);
          if (!event.success) return [];
          turns += 1;
          const usage = event.data.usage;
          return [
            { kind: 'usage', inputTokens: usage.input_tokens ?? 0, cachedInputTokens: usage.cached_input_tokens ?? 0, outputTokens: usage.output_tokens ?? 0 },
            { kind: 'result', ok: true, turns },
          ];
        }
        case 'turn.failed': {
          const event = TurnFailed.safeParse(value);
          const message = event.success ? stepText(event.data.error.message, maxToolOutputChars).text : 'The turn failed.';
          turns += 1;
          return [
            { kind: 'error', message },
            { kind: 'result', ok: false, subtype: 'turn_failed', text: message, turns },
          ];
        }
        case 'request_user_input': {
          const event = UserInput.safeParse(value);
          if (!event.success) return [];
          const text = event.data.questions.map((q) => q.question ?? q.header ?? '').filter((q) => q.trim()).join('\n');
          return text ? [{ kind: 'message', role: 'assistant', text: stepText(text).text }] : [];
        }
        case 'error': {
          // Not always the end: codex also says here that it is reconnecting.
          const event = ErrorEvent.safeParse(value);
          return event.success ? [{ kind: 'error', message: stepText(event.data.message, maxToolOutputChars).text }] : [];
        }
        default:
          return [];
      }
    },
  });
}

function contentText(part: unknown): string {
  if (typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string') return (part as { text: string }).text;
  return JSON.stringify(part);
}
