// `ocr mcp`: the tools for other agents (worker/tools) as a Model Context Protocol server over stdio, for any MCP
// client (Claude Code, Codex, Cursor…), on the database every other command uses (--db, OCR_DATABASE_URL…). stdout
// carries the protocol and nothing else; anything for a person goes to stderr.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Command } from 'commander';
import { version } from '../../package.json';
import type { Store } from '../store/store';
import { agentTools, errorText } from '../tools';
import type { CliContext } from './context';

export function createMcpServer(store: Store): McpServer {
  const server = new McpServer(
    { name: 'ocr', title: 'Ops Control Room', version },
    {
      instructions:
        'Ops Control Room runs work in parallel lanes of sessions, each lane in its own git worktree, on workers that ' +
        'claim runs from a queue. list_sessions to find a session and an idle lane, queue_run to start a shell command ' +
        'or a coding-agent prompt there, get_run and read_log to follow it, cancel_run to stop it.',
    },
  );
  for (const tool of agentTools) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        annotations: { title: tool.title, readOnlyHint: tool.readOnly, destructiveHint: !tool.readOnly, idempotentHint: tool.readOnly, openWorldHint: false },
      },
      // the SDK has checked the input against the same schema; call() checks it again as every caller's way in
      async (input: unknown) => {
        try {
          return { content: [{ type: 'text' as const, text: await tool.call(store, input) }] };
        } catch (e) {
          return { content: [{ type: 'text' as const, text: errorText(e) }], isError: true };
        }
      },
    );
  }
  return server;
}

export function registerMcpCommand(program: Command, ctx: CliContext): void {
  program
    .command('mcp')
    .description('serve the tools for other agents (queue_run, list_sessions, get_run, read_log, cancel_run) over MCP on stdio')
    .action(async () => {
      // whatever a library prints goes to stderr: one stray line on stdout would break the protocol
      console.log = console.error;
      console.info = console.error;
      // the database is opened first, so a wrong --db fails here in one line the MCP client shows
      const store = await ctx.openStore();
      const server = createMcpServer(store);
      const closed = new Promise<void>((resolve) => (server.server.onclose = resolve));
      await server.connect(new StdioServerTransport());
      // the client ends the session by closing our stdin (or by a signal)
      const close = () => void server.close();
      process.stdin.once('end', close);
      process.once('SIGTERM', close);
      process.once('SIGINT', close);
      await closed;
    });
}
