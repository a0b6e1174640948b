// One parser per coding-agent CLI: each line of a run's stdout in, the steps it holds out (none for a line that is not
// one of the CLI's events; the caller keeps every line's text as it came). Stateful: make one per run.
import type { AgentCli } from '../../../domain';
import { aiderParser } from './aider';
import { claudeParser } from './claude';
import { codexParser } from './codex';
import { geminiParser } from './gemini';
import type { AgentParser, AgentParserOptions } from './lines';

export type { AgentParser, AgentParserOptions } from './lines';

const parsers: Record<AgentCli, (options: AgentParserOptions) => AgentParser> = {
  claude: claudeParser,
  codex: codexParser,
  gemini: geminiParser,
  aider: aiderParser,
};

export function createAgentParser(cli: AgentCli, options: AgentParserOptions = {}): AgentParser {
  return parsers[cli](options);
}
