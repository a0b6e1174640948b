// aider --message … --no-pretty: text lines, no structured output.
// Lines as Aider-AI/aider writes them (aider/coders/base_coder.py: get_announcements, apply_updates,
// calculate_and_show_tokens_and_cost; aider/utils.py format_tokens; aider/repo.py): a header (`Aider v…`,
// `Model: <name> with <format> edit format` or `Main model: …`, `Weak model:`, `Git repo:`, `Repo-map:`, `Added <file>
// to the chat.`), then the model's answer as plain text, `Applied edit to <path>` per file, and
// `Tokens: 2.1k sent, 1.0k cache hit, 300 received. Cost: $0.01 message, $0.05 session.` (the cost only when the
// model has prices; on the next line when both cache counts are shown).
// Everything after the header that is none of these is the model's answer: one message step, given when a line
// that is not answer text (an edit, the tokens) or the end of the stream closes it.
import { type AgentStep, maxMessageChars, plainLine, stepText } from '../../../domain';
import { type AgentParser, type AgentParserOptions, relativePath, validSteps } from './lines';

const model = /^(?:Main model|Model): (\S+) with /;
const header = /^(?:Aider v\d|Weak model: |Editor model: |Git repo: |Repo-map: |Added .+ to the chat|Restored previous conversation history\.|Multiline mode: |Warning: For large repos|See: https?:\/\/|Commit [0-9a-f]{7,} |Use \/help |Newer aider version|Run pip install|Update git name|You can skip this check|Retrying in [\d.]+ seconds)/;
const appliedEdit = /^Applied edit to (.+)$/;
const tokensLine = /^Tokens: ([\d.]+k?) sent(?:, ([\d.]+k?) cache write)?(?:, ([\d.]+k?) cache hit)?, ([\d.]+k?) received\.(?:\s+Cost: \$([\d.]+) message, \$([\d.]+) session\.)?$/;
const costLine = /^Cost: \$([\d.]+) message, \$([\d.]+) session\.$/;
/** aider's yes/no prompts, answered by --yes-always (or declined, for shell commands): not the model's words */
const prompt = /\? \(Y\)es\/\(N\)o.*\]: ?[yn]?$/i;
const error = /^(?:litellm\.\w+(?:Error|Exception)\b|Error: |The LLM did not conform to the edit format\.|Failed to apply edit to |Unable to (?:commit|create) |Exception while updating files:|The API provider|\S.* SEARCH\/REPLACE blocks? failed to match)/;

/** aider's token counts as it prints them: `950`, `2.1k`, `12k`. */
export function aiderTokens(text: string): number {
  return text.endsWith('k') ? Math.round(Number.parseFloat(text) * 1000) : Number.parseInt(text, 10);
}

export function aiderParser(options: AgentParserOptions = {}): AgentParser {
  const { cwd } = options;
  let seenModel = false;
  let answer: string[] = [];
  const totals = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 };
  let cost: number | undefined;

  const flush = (): AgentStep[] => {
    const text = answer.join('\n').trim();
    answer = [];
    return text ? [{ kind: 'message', role: 'assistant', text: stepText(text, maxMessageChars).text }] : [];
  };
  const usage = (): AgentStep => ({ kind: 'usage', ...totals, ...(cost === undefined ? {} : { costUsd: cost }) });

  const line = (raw: string): AgentStep[] => {
    const text = plainLine(raw).trimEnd();
    const named = model.exec(text);
    if (named) {
      seenModel = true;
      return [...flush(), { kind: 'init', model: named[1]! }];
    }
    if (header.test(text) || prompt.test(text)) return flush();
    const edit = appliedEdit.exec(text);
    if (edit) return [...flush(), { kind: 'file_edit', path: relativePath(edit[1]!.trim(), cwd), change: 'update' }];
    const tokens = tokensLine.exec(text);
    if (tokens) {
      // each Tokens line counts one exchange with the model; the session cost is the run's total so far
      totals.inputTokens += aiderTokens(tokens[1]!);
      totals.cachedInputTokens += tokens[3] ? aiderTokens(tokens[3]) : 0;
      totals.outputTokens += aiderTokens(tokens[4]!);
      if (tokens[6]) cost = Number.parseFloat(tokens[6]);
      return [...flush(), usage()];
    }
    const costs = costLine.exec(text);
    if (costs) {
      cost = Number.parseFloat(costs[2]!);
      return [...flush(), usage()];
    }
    if (error.test(text)) return [...flush(), { kind: 'error', message: stepText(text, 2000).text }];
    if (seenModel) answer.push(text);
    return [];
  };

  return {
    line(text, continued = false) {
      try {
        // a piece of a line too long for one event belongs to the answer's text already held
        if (continued) {
          if (seenModel && answer.length > 0) answer[answer.length - 1] += plainLine(text);
          return [];
        }
        return validSteps(line(text));
      } catch {
        return [];
      }
    },
    end() {
      try {
        return validSteps(flush());
      } catch {
        return [];
      }
    },
  };
}
