// The `ocr` command line.
import { Command, CommanderError } from 'commander';
import { createContext } from './context';
import { failure } from './error-line';
import { registerDbCommands } from './db-commands';
import { registerRunCommands } from './run-commands';
import { registerRunsCommand } from './runs-command';
import { registerSearchCommand } from './search-command';
import { registerRunbookCommands } from './runbook-commands';
import { registerApprovalCommands } from './approval-commands';
import { registerSessionCommands } from './session-commands';
import { registerDiffCommand } from './diff-command';
import { registerConflictsCommand } from './conflicts-command';
import { registerWorktreesCommand } from './worktrees-command';
import { registerLandCommand } from './land-command';
import { registerCompareCommand } from './compare-command';
import { registerMcpCommand } from './mcp-command';
import { registerWorkerCommand } from './worker-command';
import { registerWorkersCommand } from './workers-command';
import { registerTeamCommand } from './team-command';
import { registerTokenCommand } from './token-command';

const program = new Command('ocr')
  .description('Ops Control Room: parallel lanes of runs on a Postgres queue')
  .option('--db <url-or-folder>', 'a postgres:// URL, or the folder of an embedded database (default: OCR_DATABASE_URL, else the embedded database in your data folder)')
  .option('--json', 'print one JSON document instead of text')
  // usage errors are printed by main(), as one `ocr: …` line like every other error
  .configureOutput({ outputError: () => undefined })
  .exitOverride();

const ctx = createContext(program);
registerDbCommands(program, ctx);
registerSessionCommands(program, ctx);
registerRunCommands(program, ctx);
registerRunsCommand(program, ctx);
registerSearchCommand(program, ctx);
registerRunbookCommands(program, ctx);
registerApprovalCommands(program, ctx);
registerWorkerCommand(program, ctx);
registerWorkersCommand(program, ctx);
registerTeamCommand(program, ctx);
registerTokenCommand(program, ctx);
registerDiffCommand(program, ctx);
registerConflictsCommand(program, ctx);
registerWorktreesCommand(program, ctx);
registerLandCommand(program, ctx);
registerCompareCommand(program, ctx);
registerMcpCommand(program, ctx);

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (e) {
    // --help and --version end the same way, with nothing wrong
    if (e instanceof CommanderError && e.exitCode === 0) return 0;
    if (e instanceof CommanderError && e.code === 'commander.help') return 2;
    const { line, exitCode, stack } = failure(e, program, process.argv.slice(2));
    process.stderr.write(`ocr: ${line}\n`);
    if (stack && process.env.OCR_DEBUG) process.stderr.write(`${stack}\n`);
    return exitCode;
  } finally {
    await ctx.close();
  }
}

void main().then((code) => {
  process.exitCode = code;
});
