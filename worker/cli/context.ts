// What every command shares: the store it talks to (opened once, on first need), which database that is, and how it
// prints.
import type { Command } from 'commander';
import { chooseDatabase, type DatabaseChoice, openStore } from '../store/open';
import type { Store } from '../store/store';

export interface CliContext {
  openStore(): Promise<Store>;
  /** Prints `human` for a person, or `json` as one JSON document with --json. */
  print(human: string, json: unknown): void;
  jsonMode(): boolean;
  /** The --db value or OCR_DATABASE_URL, if any: a postgres:// URL or an embedded data folder. */
  db(): string | undefined;
  /**
   * What db() names, checked (worker/store/open.ts decides): refused in one line when it is neither. `anyFolder`: a
   * missing or empty folder is fine without --init, for commands that create nothing there.
   */
  database(options?: { anyFolder?: boolean }): DatabaseChoice;
  close(): Promise<void>;
}

export function createContext(program: Command): CliContext {
  program.option('--init', 'let --db name a missing or empty folder, and create an embedded database there');
  let store: Promise<Store> | undefined;
  const opts = () => program.opts<{ db?: string; json?: boolean; init?: boolean }>();
  const choice = () => ({ source: opts().db ? '--db' : 'OCR_DATABASE_URL', init: Boolean(opts().init) });
  const ctx: CliContext = {
    db: () => opts().db || process.env.OCR_DATABASE_URL || undefined,
    database: (options = {}) => chooseDatabase(ctx.db(), { ...choice(), ...(options.anyFolder ? { init: true } : {}) }),
    jsonMode: () => Boolean(opts().json),
    openStore() {
      store ??= openStore(ctx.db(), {
        ...choice(),
        log: (m) => {
          if (process.env.OCR_DEBUG) process.stderr.write(`ocr: ${m}\n`);
        },
      });
      return store;
    },
    print(human, json) {
      process.stdout.write(ctx.jsonMode() ? JSON.stringify(json, null, 2) + '\n' : human.endsWith('\n') || !human ? human : human + '\n');
    },
    async close() {
      if (store) await (await store.catch(() => undefined))?.close();
    },
  };
  return ctx;
}
