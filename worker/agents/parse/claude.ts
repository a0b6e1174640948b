// claude -p --output-format stream-json --verbose: one JSON event a line.
// Shapes as Claude Code 2.1 writes them (the Agent SDK's SDKMessage types; the CLI's changelog in anthropics/claude-code
// CHANGELOG.md for the headless events): `system` (subtype `init`: session_id, cwd, model, tools, permissionMode;
// subtype `permission_denied` in newer releases), `assistant` (message.content: text, thinking, tool_use{id,name,input}),
// `user` (message.content: tool_result{tool_use_id,content,is_error}; `tool_use_result` beside it: for Write
// {type:'create'|'update', filePath, structuredPatch}, for Edit {filePath, structuredPatch}, for a denial the error
// text), `result` (subtype, is_error, num_turns, duration_ms, result, total_cost_usd, usage, permission_denials[]).
import { z } from 'zod';
import { type AgentStep, maxToolOutputChars, smallInput, stepText } from '../../../domain';
import { type AgentParser, type AgentParserOptions, inputSummary, jsonLinesParser, relativePath } from './lines';

const count = z.number().int().nonnegative().catch(0).optional();

const ContentBlock = z.looseObject({ type: z.string() });
const TextBlock = z.looseObject({ type: z.literal('text'), text: z.string() });
const ThinkingBlock = z.looseObject({ type: z.literal('thinking'), thinking: z.string() });
const ToolUseBlock = z.looseObject({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() });
const ToolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string(), text: z.string().optional() }))]).optional(),
  is_error: z.boolean().optional(),
});

const SystemInit = z.looseObject({
  type: z.literal('system'),
  subtype: z.literal('init'),
  session_id: z.string().optional(),
  cwd: z.string().optional(),
  model: z.string().optional(),
  tools: z.array(z.string()).optional(),
  permissionMode: z.string().optional(),
});
const SystemDenied = z.looseObject({
  type: z.literal('system'),
  subtype: z.literal('permission_denied'),
  tool_name: z.string(),
  message: z.string().optional(),
  tool_use_id: z.string().optional(),
});
const Assistant = z.looseObject({
  type: z.literal('assistant'),
  message: z.looseObject({ content: z.array(ContentBlock) }),
  parent_tool_use_id: z.string().nullable().optional(),
});
const User = z.looseObject({
  type: z.literal('user'),
  message: z.looseObject({ content: z.union([z.string(), z.array(ContentBlock)]) }),
  parent_tool_use_id: z.string().nullable().optional(),
  tool_use_result: z.unknown().optional(),
});
const EditResult = z.looseObject({ filePath: z.string(), type: z.string().optional() });
const Usage = z.looseObject({
  input_tokens: count,
  output_tokens: count,
  cache_creation_input_tokens: count,
  cache_read_input_tokens: count,
});
const Result = z.looseObject({
  type: z.literal('result'),
  subtype: z.string().optional(),
  is_error: z.boolean().optional(),
  num_turns: z.number().int().nonnegative().optional().catch(undefined),
  duration_ms: z.number().nonnegative().optional().catch(undefined),
  result: z.string().optional().catch(undefined),
  session_id: z.string().optional(),
  total_cost_usd: z.number().nonnegative().optional().catch(undefined),
  usage: Usage.optional().catch(undefined),
  permission_denials: z
    .array(z.looseObject({ tool_name: z.string(), tool_use_id: z.string().optional(), tool_input: z.unknown().optional() }))
    .optional()
    .catch(undefined),
});

/** The tools that write files, and where their input names the file. */
const editTools: Record<string, string> = { Write: 'file_path', Edit: 'file_path', MultiEdit: 'file_path', NotebookEdit: 'notebook_path' };

/** The text claude answers a denied tool with, in -p (it never prompts there). */
const deniedText = /requested permissions? to|haven't granted it yet|permission to use .* (?:was|has been) denied/i;

export function claudeParser(options: AgentParserOptions = {}): AgentParser {
  let cwd = options.cwd;
  const calls = new Map<string, { name: string; input: unknown }>();
  /** tool_use ids already reported as denied, so the result's list does not report them twice */
  const denied = new Set<string>();
  /** tools denied by a `system` event without an id: the error tool_result that follows is the same denial */
  const deniedWithoutId: string[] = [];

  const deny = (tool: string, message: string, id: string | undefined): AgentStep[] => {
    if (id !== undefined) {
      if (denied.has(id)) return [];
      denied.add(id);
    }
    return [{ kind: 'permission_denied', tool, message: stepText(message, 2000).text }];
  };

  const assistant = (event: z.infer<typeof Assistant>): AgentStep[] => {
    // A subagent's text is its conversation with the main agent, not the run's: its tool calls and edits still count.
    const ownText = !event.parent_tool_use_id;
    const steps: AgentStep[] = [];
    for (const block of event.message.content) {
      const text = TextBlock.safeParse(block);
      if (text.success) {
        if (ownText && text.data.text.trim()) steps.push({ kind: 'message', role: 'assistant', text: stepText(text.data.text).text });
        continue;
      }
      const thinking = ThinkingBlock.safeParse(block);
      if (thinking.success) {
        if (ownText && thinking.data.thinking.trim()) steps.push({ kind: 'thinking', text: stepText(thinking.data.thinking).text });
        continue;
      }
      const tool = ToolUseBlock.safeParse(block);
      if (tool.success) {
        calls.set(tool.data.id, { name: tool.data.name, input: tool.data.input });
        steps.push({ kind: 'tool_call', id: tool.data.id, name: tool.data.name, summary: inputSummary(tool.data.input, cwd), input: smallInput(tool.data.input) });
      }
    }
    return steps;
  };

  const user = (event: z.infer<typeof User>): AgentStep[] => {
    const content = event.message.content;
    if (typeof content === 'string') return event.parent_tool_use_id || !content.trim() ? [] : [{ kind: 'message', role: 'user', text: stepText(content).text }];
    const steps: AgentStep[] = [];
    for (const block of content) {
      const result = ToolResultBlock.safeParse(block);
      if (!result.success) {
        const text = TextBlock.safeParse(block);
        if (text.success && !event.parent_tool_use_id && text.data.text.trim()) steps.push({ kind: 'message', role: 'user', text: stepText(text.data.text).text });
        continue;
      }
      const { tool_use_id: id, is_error: isError = false } = result.data;
      const raw = typeof result.data.content === 'string' ? result.data.content : (result.data.content ?? []).map((part) => part.text ?? `[${part.type}]`).join('\n');
      const output = stepText(raw, maxToolOutputChars);
      steps.push({ kind: 'tool_result', id, output: output.text, isError, ...(output.truncated ? { truncated: true } : {}) });
      const call = calls.get(id);
      if (isError && deniedText.test(raw)) {
        const tool = call?.name ?? 'tool';
        const announced = deniedWithoutId.indexOf(tool);
        if (announced >= 0) {
          deniedWithoutId.splice(announced, 1);
          denied.add(id);
        } else steps.push(...deny(tool, raw, id));
        continue;
      }
      if (!isError) steps.push(...fileEdit(call, event.tool_use_result));
    }
    return steps;
  };

  const fileEdit = (call: { name: string; input: unknown } | undefined, toolUseResult: unknown): AgentStep[] => {
    const edit = EditResult.safeParse(toolUseResult);
    if (edit.success) return [{ kind: 'file_edit', path: relativePath(edit.data.filePath, cwd), change: edit.data.type === 'create' ? 'add' : 'update' }];
    const key = call ? editTools[call.name] : undefined;
    const path = key && typeof call?.input === 'object' && call.input !== null ? (call.input as Record<string, unknown>)[key] : undefined;
    return typeof path === 'string' ? [{ kind: 'file_edit', path: relativePath(path, cwd), change: 'update' }] : [];
  };

  const result = (event: z.infer<typeof Result>): AgentStep[] => {
    const steps: AgentStep[] = [];
    const usage = event.usage;
    if (usage || event.total_cost_usd !== undefined) {
      const cacheRead = usage?.cache_read_input_tokens ?? 0;
      steps.push({
        kind: 'usage',
        // claude counts cache reads and cache writes apart from input_tokens; ours counts every input token
        inputTokens: (usage?.input_tokens ?? 0) + (usage?.cache_creation_input_tokens ?? 0) + cacheRead,
        outputTokens: usage?.output_tokens ?? 0,
        cachedInputTokens: cacheRead,
        ...(event.total_cost_usd !== undefined ? { costUsd: event.total_cost_usd } : {}),
      });
    }
    for (const denial of event.permission_denials ?? []) {
      const summary = inputSummary(denial.tool_input, cwd);
      steps.push(...deny(denial.tool_name, `Not allowed to use ${denial.tool_name}${summary ? ` on ${summary}` : ''}`, denial.tool_use_id));
    }
    const ok = event.is_error !== true && (event.subtype === undefined || event.subtype === 'success');
    steps.push({
      kind: 'result',
      ok,
      ...(event.subtype !== undefined ? { subtype: event.subtype } : {}),
      ...(event.result?.trim() ? { text: stepText(event.result, maxToolOutputChars).text } : {}),
      ...(event.num_turns !== undefined ? { turns: event.num_turns } : {}),
      ...(event.duration_ms !== undefined ? { durationMs: event.duration_ms } : {}),
    });
    return steps;
  };

  return jsonLinesParser({
    event(value) {
      const type = (value as { type?: unknown }).type;
      if (type === 'assistant') {
        const event = Assistant.safeParse(value);
        return event.success ? assistant(event.data) : [];
      }
      if (type === 'user') {
        const event = User.safeParse(value);
        return event.success ? user(event.data) : [];
      }
      if (type === 'result') {
        const event = Result.safeParse(value);
        return event.success ? result(event.data) : [];
      }
      if (type === 'system') {
        const init = SystemInit.safeParse(value);
        if (init.success) {
          cwd ??= init.data.cwd;
          const { session_id: sessionId, model, tools, permissionMode } = init.data;
          return [{ kind: 'init', ...(sessionId ? { sessionId } : {}), ...(model ? { model } : {}), ...(tools ? { tools } : {}), ...(permissionMode ? { permissionMode } : {}) }];
        }
        const denial = SystemDenied.safeParse(value);
        if (denial.success) {
          if (denial.data.tool_use_id === undefined) deniedWithoutId.push(denial.data.tool_name);
          return deny(denial.data.tool_name, denial.data.message ?? `Not allowed to use ${denial.data.tool_name}`, denial.data.tool_use_id);
        }
      }
      return [];
    },
  });
}
