// gemini -p --output-format stream-json: one JSON event a line.
// Shapes as google-gemini/gemini-cli writes them (packages/core/src/output/types.ts, emitted by
// packages/cli/src/nonInteractiveCli.ts): `init` {session_id, model}, `message` {role, content, delta?} (the
// assistant's text comes in deltas), `tool_use` {tool_name, tool_id, parameters}, `tool_result` {tool_id, status,
// output?, error?: {type, message}} (a tool the policy denies: error.type `policy_violation`), `error` {severity,
// message}, `result` {status, error?, stats: {input_tokens, output_tokens, cached, input, duration_ms, …}}.
import { z } from 'zod';
import { type AgentStep, maxMessageChars, maxToolOutputChars, smallInput, stepText } from '../../../domain';
import { type AgentParser, type AgentParserOptions, inputSummary, jsonLinesParser, relativePath } from './lines';

const count = z.number().int().nonnegative().catch(0).optional();

const Init = z.looseObject({ session_id: z.string().optional(), model: z.string().optional() });
const Message = z.looseObject({ role: z.enum(['user', 'assistant']), content: z.string(), delta: z.boolean().optional() });
const ToolUse = z.looseObject({ tool_name: z.string(), tool_id: z.string(), parameters: z.unknown().optional() });
const ToolError = z.looseObject({ type: z.string().optional(), message: z.string() });
const ToolResult = z.looseObject({
  tool_id: z.string(),
  status: z.string(),
  output: z.string().optional().catch(undefined),
  error: ToolError.optional().catch(undefined),
});
const ErrorEvent = z.looseObject({ severity: z.string().optional(), message: z.string() });
const Result = z.looseObject({
  status: z.string(),
  error: ToolError.optional().catch(undefined),
  stats: z
    .looseObject({ input_tokens: count, output_tokens: count, cached: count, duration_ms: z.number().nonnegative().optional().catch(undefined) })
    .optional()
    .catch(undefined),
});

/** gemini's tools that write a file, and whether they create it: write_file may create or overwrite (the stream does not say). */
const editTools: Record<string, 'update'> = { write_file: 'update', replace: 'update', edit: 'update' };

export function geminiParser(options: AgentParserOptions = {}): AgentParser {
  const { cwd } = options;
  const calls = new Map<string, { name: string; input: unknown }>();
  // The assistant's text arrives in pieces; one message step holds the whole of it, given when the next event starts.
  let pending = '';

  const flush = (): AgentStep[] => {
    const text = pending;
    pending = '';
    return text.trim() ? [{ kind: 'message', role: 'assistant', text: stepText(text, maxMessageChars).text }] : [];
  };

  const event = (value: unknown): AgentStep[] => {
    const type = (value as { type?: unknown }).type;
    switch (type) {
      case 'init': {
        const init = Init.safeParse(value);
        if (!init.success) return [];
        const { session_id: sessionId, model } = init.data;
        return [{ kind: 'init', ...(sessionId ? { sessionId } : {}), ...(model ? { model } : {}) }];
      }
      case 'message': {
        const message = Message.safeParse(value);
        if (!message.success) return [];
        if (message.data.role === 'assistant') {
          if (message.data.delta) {
            pending += message.data.content;
            return [];
          }
          return [...flush(), ...(message.data.content.trim() ? [{ kind: 'message', role: 'assistant', text: stepText(message.data.content).text } as const] : [])];
        }
        return [...flush(), { kind: 'message', role: 'user', text: stepText(message.data.content).text }];
      }
      case 'tool_use': {
        const tool = ToolUse.safeParse(value);
        if (!tool.success) return flush();
        calls.set(tool.data.tool_id, { name: tool.data.tool_name, input: tool.data.parameters });
        return [
          ...flush(),
          { kind: 'tool_call', id: tool.data.tool_id, name: tool.data.tool_name, summary: inputSummary(tool.data.parameters, cwd), ...(tool.data.parameters === undefined ? {} : { input: smallInput(tool.data.parameters) }) },
        ];
      }
      case 'tool_result': {
        const result = ToolResult.safeParse(value);
        if (!result.success) return flush();
        const { tool_id: id, status, error } = result.data;
        const isError = status !== 'success';
        const kept = stepText(result.data.output ?? error?.message ?? '', maxToolOutputChars);
        const steps: AgentStep[] = [...flush(), { kind: 'tool_result', id, output: kept.text, isError, ...(kept.truncated ? { truncated: true } : {}) }];
        const call = calls.get(id);
        if (error?.type === 'policy_violation') steps.push({ kind: 'permission_denied', tool: call?.name ?? 'tool', message: stepText(error.message, 2000).text });
        const change = call ? editTools[call.name] : undefined;
        const path = typeof call?.input === 'object' && call.input !== null ? (call.input as Record<string, unknown>).file_path : undefined;
        if (!isError && change && typeof path === 'string') steps.push({ kind: 'file_edit', path: relativePath(path, cwd), change });
        return steps;
      }
      case 'error': {
        const error = ErrorEvent.safeParse(value);
        if (!error.success) return flush();
        const message = error.data.severity === 'warning' ? `Warning: ${error.data.message}` : error.data.message;
        return [...flush(), { kind: 'error', message: stepText(message, maxToolOutputChars).text }];
      }
      case 'result': {
        const result = Result.safeParse(value);
        if (!result.success) return flush();
        const { status, error, stats } = result.data;
        const steps: AgentStep[] = flush();
        if (stats) steps.push({ kind: 'usage', inputTokens: stats.input_tokens ?? 0, outputTokens: stats.output_tokens ?? 0, cachedInputTokens: stats.cached ?? 0 });
        steps.push({
          kind: 'result',
          ok: status === 'success',
          ...(error?.type ? { subtype: error.type } : status !== 'success' ? { subtype: status } : {}),
          ...(error?.message ? { text: stepText(error.message, maxToolOutputChars).text } : {}),
          ...(stats?.duration_ms !== undefined ? { durationMs: stats.duration_ms } : {}),
        });
        return steps;
      }
      default:
        return [];
    }
  };

  return jsonLinesParser({ event, end: flush });
}
