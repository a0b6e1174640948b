// Chooses the store from one string: a postgres:// URL selects that PostgreSQL, anything else names an embedded data
// folder; with nothing, the embedded database in the user's data folder.
import { defaultDataFolder, EmbeddedDatabase } from './embedded';
import { PostgresStore } from './postgres';
import type { Store } from './store';

export interface OpenOptions {
  log?: (message: string) => void;
  poolSize?: number;
  /** apply migrations before returning (default true) */
  migrate?: boolean;
}

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

export async function openStore(db?: string, options: OpenOptions = {}): Promise<PostgresStore> {
  const target = db?.trim() || undefined;
  let store: PostgresStore;
  if (target && isPostgresUrl(target)) {
    store = new PostgresStore({ url: target, poolSize: options.poolSize, log: options.log });
  } else {
    const embedded = new EmbeddedDatabase(target ?? defaultDataFolder(), options.log);
    const { url } = await embedded.ensureRunning();
    store = new PostgresStore({
      url,
      kind: 'embedded',
      description: `embedded database in ${embedded.dataFolder}`,
      poolSize: options.poolSize,
      log: options.log,
    });
  }
  if (options.migrate ?? true) {
    try {
      await store.migrate();
    } catch (e) {
      await store.close().catch(() => undefined);
      throw e;
    }
  }
  return store;
}

export type { Store };
