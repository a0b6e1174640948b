// `ocr db migrate|start|stop|status`
import type { Command } from 'commander';
import { EmbeddedDatabase, type EmbeddedStatus } from '../store/embedded';
import { OcrError } from '../store/errors';
import type { CliContext } from './context';

export function registerDbCommands(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('the database: migrations, and the embedded server');

  /** The embedded database --db names; `create`: a new folder needs --init (status and stop create nothing). */
  const embedded = (create: boolean): EmbeddedDatabase => {
    const choice = ctx.database({ anyFolder: !create });
    if (choice.kind === 'postgres') {
      throw new OcrError('invalid_input', 'this command manages the embedded database, but --db / OCR_DATABASE_URL names a PostgreSQL URL',
        'leave out --db, or give a data folder');
    }
    return new EmbeddedDatabase(choice.dataFolder);
  };

  db.command('migrate')
    .description('apply the schema migrations (they also apply on first use)')
    .action(async () => {
      const store = await ctx.openStore();
      await store.migrate();
      ctx.print(`migrations applied to ${store.description}`, { ok: true, database: store.description });
    });

  db.command('start')
    .description('start the embedded database (it also starts on first use); with --init, in a new folder')
    .action(async () => {
      const e = embedded(true);
      const { started } = await e.ensureRunning();
      const status = await e.status();
      ctx.print(`${started ? 'started' : 'already running'}: embedded database on ${where(status)} (${e.dataFolder})`, { ...status, started });
    });

  db.command('stop')
    .description('stop the embedded database')
    .action(async () => {
      const e = embedded(false);
      const stopped = await e.stop();
      ctx.print(stopped ? `stopped the embedded database (${e.dataFolder})` : `the embedded database was not running (${e.dataFolder})`, { stopped, dataFolder: e.dataFolder });
    });

  db.command('status')
    .description('is the embedded database running, and where')
    .action(async () => {
      const s = await embedded(false).status();
      ctx.print(
        s.running
          ? `running on ${where(s)} (pid ${s.pid}), data in ${s.dataFolder}`
          : `not running${s.initialised ? '' : ' (not created yet)'}; data folder ${s.dataFolder}`,
        s,
      );
    });
}

function where(s: EmbeddedStatus): string {
  return s.socket ? `unix socket ${s.socket}` : `127.0.0.1:${s.port}`;
}
