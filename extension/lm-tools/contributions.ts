// The editor's copy of the tools for other agents, as package.json declares them (`contributes.languageModelTools`):
// made from the same definitions as `ocr mcp`, and a test holds package.json to it, so the two never drift.
import { type AgentTool, agentTools, inputJsonSchema } from '../../worker/tools';

/** The editor's name of a tool: tool names share one namespace across extensions. */
export const editorToolName = (tool: Pick<AgentTool, 'name'>): string => `ocr_${tool.name}`;

const referenceName = (tool: Pick<AgentTool, 'name'>): string => `ocr${tool.name.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase())}`;

/** The first sentence of a model's description: enough for a person picking tools. */
const firstSentence = (text: string): string => text.slice(0, text.indexOf('. ') + 1 || undefined);

export function languageModelToolContributions(tools: readonly AgentTool[] = agentTools) {
  return tools.map((tool) => ({
    name: editorToolName(tool),
    displayName: tool.title,
    toolReferenceName: referenceName(tool),
    canBeReferencedInPrompt: true,
    icon: tool.readOnly ? '$(list-unordered)' : '$(play)',
    userDescription: firstSentence(tool.description),
    modelDescription: tool.description,
    inputSchema: inputJsonSchema(tool),
    tags: ['ops-control-room'],
  }));
}

/** What activates the extension when another extension or the chat calls one of its tools before anything else did. */
export const languageModelToolActivationEvents = (tools: readonly AgentTool[] = agentTools): string[] =>
  tools.map((tool) => `onLanguageModelTool:${editorToolName(tool)}`);
