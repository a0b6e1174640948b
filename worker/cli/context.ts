// What every command shares: the store it talks to (opened once, on first need) and how it prints.
import type { Command } from 'commander';
import { openStore } from '../store/open';
import type { Store } from '../store/store';

export interface CliContext {
  openStore(): Promise<Store>;
  /** Prints `human` for a person, or `json` as one JSON document with --json. */
  print(human: string, json: unknown): void;
  jsonMode(): boolean;
  /** The --db value or OCR_DATABASE_URL, if any: a postgres:// URL or an embedded data folder. */
  db(): string | undefined;
  close(): Promise<void>;
}

export function createContext(program: Command): CliContext {
  let store: Promise<Store> | undefined;
  const opts = () => program.opts<{ db?: string; json?: boolean }>();
  const ctx: CliContext = {
    db: () => opts().db || process.env.OCR_DATABASE_URL || undefined,
    jsonMode: () => Boolean(opts().json),
    openStore() {
      store ??= openStore(ctx.db(), {
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
