// What every command shares: the store it talks to (opened once, on first need), which database that is, and how it
// prints.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { jsonForTerminal } from '../../domain';
import { OcrError } from '../store/errors';
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

/**
 * OCR_DATABASE_URL_FILE: a file that holds the URL (a mounted secret, say), so that no process environment holds the
 * password; read when the URL is needed.
 */
function urlFromFile(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (e) {
    throw new OcrError('invalid_input', `OCR_DATABASE_URL_FILE "${file}": cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'point it at a file that holds the database URL');
  }
}

export function createContext(program: Command): CliContext {
  program.option('--init', 'let --db name a missing or empty folder, and create an embedded database there');
  let store: Promise<Store> | undefined;
  const opts = () => program.opts<{ db?: string; json?: boolean; init?: boolean }>();
  const choice = () => ({
    source: opts().db ? '--db' : process.env.OCR_DATABASE_URL ? 'OCR_DATABASE_URL' : 'OCR_DATABASE_URL_FILE',
    init: Boolean(opts().init),
  });
  const ctx: CliContext = {
    db: () => opts().db || process.env.OCR_DATABASE_URL || urlFromFile(process.env.OCR_DATABASE_URL_FILE),
    database: (options = {}) => chooseDatabase(ctx.db(), { ...choice(), ...(options.anyFolder ? { init: true } : {}) }),
    jsonMode: () => Boolean(opts().json),
    openStore() {
      store ??= openStore(ctx.db(), {
        ...choice(),
        log: (m) => {
          // the store's own lines are for OCR_DEBUG, except the one that says it polls (a transaction-mode pooler):
          // that changes how quickly a worker hears of new runs and cancels, so it is always said
          if (process.env.OCR_DEBUG || m.startsWith('polling for changes')) process.stderr.write(`ocr: ${m}\n`);
        },
      });
      return store;
    },
    print(human, json) {
      process.stdout.write(ctx.jsonMode() ? jsonForTerminal(json, 2) + '\n' : human.endsWith('\n') || !human ? human : human + '\n');
    },
    async close() {
      if (store) await (await store.catch(() => undefined))?.close();
    },
  };
  return ctx;
}
