// The tools for other agents as VS Code language-model tools, so an agent in the editor's chat (or another extension)
// can fan work out to lanes. Each calls the same worker/tools definition `ocr mcp` serves, on the editor's database;
// the ones that run or stop code ask the person first (prepareInvocation's confirmation).
import * as vscode from 'vscode';
import type { Store } from '../../worker/store/store';
import { type AgentTool, agentTools, errorText } from '../../worker/tools';
import type { CommandContext } from '../commands/context';
import { editorToolName } from './contributions';

/** What the editor shows before and while a tool runs: for queue_run and cancel_run, a question to say yes to. */
export async function prepareToolInvocation(store: Store, tool: AgentTool, input: unknown): Promise<vscode.PreparedToolInvocation> {
  const confirmation = await tool.confirmation(store, input);
  return {
    invocationMessage: `${tool.title}…`,
    ...(confirmation ? { confirmationMessages: { title: confirmation.title, message: new vscode.MarkdownString(confirmation.message) } } : {}),
  };
}

function languageModelTool(ctx: CommandContext, tool: AgentTool): vscode.LanguageModelTool<unknown> {
  // A model reads the error: the message and what to do, never a stack.
  const asModelError = (e: unknown) => new Error(errorText(e));
  return {
    async prepareInvocation(options) {
      try {
        return await prepareToolInvocation(await ctx.store(), tool, options.input);
      } catch (e) {
        throw asModelError(e);
      }
    },
    async invoke(options) {
      try {
        const text = await tool.call(await ctx.store(), options.input);
        ctx.log.info(`language-model tool ${editorToolName(tool)} answered`);
        return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(text)]);
      } catch (e) {
        ctx.log.warn(`language-model tool ${editorToolName(tool)}: ${errorText(e)}`);
        throw asModelError(e);
      }
    },
  };
}

export function registerLanguageModelTools(ctx: CommandContext): vscode.Disposable[] {
  // an editor without the language-model API (or a host that leaves it out) still gets everything else
  if (typeof vscode.lm?.registerTool !== 'function') return [];
  return agentTools.map((tool) => vscode.lm.registerTool(editorToolName(tool), languageModelTool(ctx, tool)));
}
