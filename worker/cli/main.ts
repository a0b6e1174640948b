// The `ocr` command line.
import { Command, CommanderError } from 'commander';
import { OcrError } from '../store/errors';
import { createContext } from './context';
import { registerDbCommands } from './db-commands';
import { registerRunCommands } from './run-commands';
import { registerSessionCommands } from './session-commands';
import { registerDiffCommand } from './diff-command';
import { registerWorkerCommand } from './worker-command';
import { registerWorkersCommand } from './workers-command';

const program = new Command('ocr')
  .description('Ops Control Room: parallel lanes of runs on a Postgres queue')
  .option('--db <url-or-folder>', 'a postgres:// URL, or the folder of an embedded database (default: OCR_DATABASE_URL, else the embedded database in your data folder)')
  .option('--json', 'print one JSON document instead of text')
  .showHelpAfterError('(run `ocr --help` for usage)')
  .exitOverride();

const ctx = createContext(program);
registerDbCommands(program, ctx);
registerSessionCommands(program, ctx);
registerRunCommands(program, ctx);
registerWorkerCommand(program, ctx);
registerWorkersCommand(program, ctx);
registerDiffCommand(program, ctx);

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof OcrError) {
      process.stderr.write(`ocr: ${e.line}\n`);
      return 1;
    }
    process.stderr.write(`ocr: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  } finally {
    await ctx.close();
  }
}

void main().then((code) => {
  process.exitCode = code;
});
