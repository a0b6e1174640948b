// Chooses the store from one string: a postgres:// URL selects that PostgreSQL, anything else names an embedded data
// folder; with nothing, the embedded database in the user's data folder.
import { defaultDataFolder, EmbeddedDatabase } from './embedded';
import { isUnreachable } from './errors';
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
    await embedded.ensureRunning();
    store = new PostgresStore({
      connection: await embedded.connection(),
      kind: 'embedded',
      description: `embedded database in ${embedded.dataFolder}`,
      poolSize: options.poolSize,
      log: options.log,
      onConnectError: restartWhenGone(embedded, options.log ?? (() => undefined)),
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

/** How long a store waits between two starts of its embedded server. */
const RESTART_PAUSE_MS = 2000;

/**
 * The embedded store's answer to a connection that could not be opened: when the server is gone (no socket, nobody
 * on it, no password recorded, a password that changed), start it again, as any client does, under the lock. One
 * attempt at a time, then a pause.
 */
function restartWhenGone(embedded: EmbeddedDatabase, log: (message: string) => void): (e: Error) => void {
  let attempt: Promise<void> | undefined;
  let last = 0;
  return (e) => {
    if (!serverGone(e) || attempt || Date.now() - last < RESTART_PAUSE_MS) return;
    log(`the embedded database is not answering (${e.message}); starting it again`);
    attempt = embedded
      .ensureRunning()
      .then(
        ({ started }) => log(started ? 'the embedded database started again' : 'the embedded database answers again'),
        (err: Error) => log(`could not start the embedded database again: ${err.message}`),
      )
      .finally(() => {
        attempt = undefined;
        last = Date.now();
      });
  };
}

function serverGone(e: Error): boolean {
  const code = (e as { code?: string }).code;
  return code === 'ENOENT' || code === 'db_unreachable' || isUnreachable(e);
}

export type { Store };
