// Chooses the store from one string (--db, OCR_DATABASE_URL, the editor's settings): a postgres:// or postgresql:// URL
// selects that PostgreSQL; a folder names an embedded database; nothing means the embedded database in the user's data
// folder. `chooseDatabase` is the one place that decides, and refuses anything else in one line before anything is
// created.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { defaultDataFolder, EmbeddedDatabase } from './embedded';
import { isUnreachable, OcrError } from './errors';
import { poolerOf, poolerParam } from './pooler';
import { PostgresStore, redactUrl } from './postgres';
import type { Store } from './store';

export interface OpenOptions {
  log?: (message: string) => void;
  poolSize?: number;
  /** apply migrations before returning (default true) */
  migrate?: boolean;
  /** the value's name in a refusal: '--db', 'OCR_DATABASE_URL', 'ocr.embedded.dataDir' (default '--db') */
  source?: string;
  /** a missing or empty folder may become a new embedded database (`--init`) */
  init?: boolean;
  /** the caller has an --init flag to suggest (the CLI); otherwise the refusal suggests `ocr … --init db start` */
  initFlag?: boolean;
}

export type DatabaseChoice =
  | { kind: 'postgres'; url: string }
  /** `isNew`: there is no embedded database in the folder yet; opening it creates one */
  | { kind: 'embedded'; dataFolder: string; isNew: boolean };

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

/** A scheme of two letters or more: `C:\…` is a Windows folder, `http:` or `postgress:` is a URL of the wrong kind. */
const looksLikeUrl = (db: string): boolean => /^[a-z][a-z0-9+.-]+:/i.test(db);

const example = 'postgres://user:password@host:5432/dbname';

/**
 * What a --db value (or OCR_DATABASE_URL, or the editor's setting) names. Accepted: a postgres:// or postgresql://
 * URL with a host, a port from 1 to 65535 when one is given, and a database name (`pooler` is ours, see pooler.ts;
 * other query parameters such as sslmode are left to node-postgres); a folder holding an embedded database; with
 * `init`, a missing or empty folder, where one is created; nothing, or the default data folder, which is created when
 * missing as it always was. Anything else is an invalid_input error of one line naming the value and what is accepted;
 * nothing is created.
 */
export function chooseDatabase(db: string | undefined, options: Pick<OpenOptions, 'source' | 'init' | 'initFlag'> = {}): DatabaseChoice {
  const value = db?.trim() || undefined;
  const source = options.source ?? '--db';
  if (!value) return embeddedChoice(defaultDataFolder());
  const given = `${source} "${redactUrl(value)}"`;
  const accepted = `give a postgres:// or postgresql:// URL (${example}) or the folder of an embedded database`;
  if (isPostgresUrl(value)) return { kind: 'postgres', url: checkUrl(value, given) };
  if (looksLikeUrl(value)) {
    throw new OcrError('invalid_input', `${given} is neither a PostgreSQL URL nor a folder`, accepted);
  }
  const folder = path.resolve(value);
  const choice = embeddedChoice(folder);
  if (!choice.isNew || samePath(folder, defaultDataFolder())) return choice;
  const entries = existsSync(folder) ? readdirSync(folder).filter((e) => e !== 'start.lock') : [];
  if (entries.length > 0) {
    throw new OcrError('invalid_input', `${given} is a folder without an embedded database, and not empty`,
      `${accepted}; a new embedded database needs a missing or empty folder`);
  }
  if (!options.init) {
    const how = (options.initFlag ?? true) ? 'add --init to create one there' : `create one with \`ocr --db "${folder}" --init db start\``;
    throw new OcrError('invalid_input', `${given}: there is no embedded database in that folder`, `${how}, or ${accepted}`);
  }
  return choice;

  function embeddedChoice(dataFolder: string): DatabaseChoice & { kind: 'embedded' } {
    if (existsSync(dataFolder) && !statSync(dataFolder).isDirectory()) {
      throw new OcrError('invalid_input', `${source} "${dataFolder}" is a file, not a folder`, `give a postgres:// or postgresql:// URL (${example}) or the folder of an embedded database`);
    }
    return { kind: 'embedded', dataFolder, isNew: !EmbeddedDatabase.holdsDatabase(dataFolder) };
  }
}

/** The URL when node-postgres can use it; otherwise one line naming the part that is wrong. */
function checkUrl(value: string, given: string): string {
  const fix = `for example ${example}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // new URL names nothing: find the part that is wrong
    const authority = /^[a-z]+:\/\/([^/?#]*)/i.exec(value)?.[1] ?? '';
    const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
    const port = /^(\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort)?.[2];
    if (port !== undefined && !/^\d+$/.test(port)) {
      throw new OcrError('invalid_input', `${given}: the port "${port}" is not a number from 1 to 65535`, fix);
    }
    if (port !== undefined && Number(port) > 65535) {
      throw new OcrError('invalid_input', `${given}: the port ${port} is not a number from 1 to 65535`, fix);
    }
    throw new OcrError('invalid_input', `${given} is not a valid URL`, fix);
  }
  if (!url.hostname && !url.searchParams.get('host')) {
    throw new OcrError('invalid_input', `${given} names no host`, fix);
  }
  if (url.port && (Number(url.port) < 1 || Number(url.port) > 65535)) {
    throw new OcrError('invalid_input', `${given}: the port ${url.port} is not a number from 1 to 65535`, fix);
  }
  const portParam = url.searchParams.get('port');
  if (portParam !== null && !/^\d+$/.test(portParam)) {
    throw new OcrError('invalid_input', `${given}: the port "${portParam}" is not a number from 1 to 65535`, fix);
  }
  let database: string;
  try {
    database = decodeURIComponent(url.pathname.slice(1));
  } catch {
    throw new OcrError('invalid_input', `${given}: the database name is not valid URL encoding`, fix);
  }
  if (!database || database.includes('/')) {
    throw new OcrError('invalid_input', `${given} names no database`, `add its name after the host: ${example}`);
  }
  poolerParam(url, given);
  return value;
}

/**
 * node-postgres 8 treats sslmode prefer, require and verify-ca as verify-full, and says so at every start in a warning
 * of eight lines on stderr. It is given verify-full outright: the same connection, without the warning; the URL shown
 * stays the one given. (With uselibpqcompat=true it follows libpq's meanings, and the URL is left alone.)
 */
function sslModeAsTreated(url: string): string {
  const u = new URL(url);
  const mode = u.searchParams.get('sslmode');
  if (!mode || !['prefer', 'require', 'verify-ca'].includes(mode) || u.searchParams.get('uselibpqcompat') === 'true') return url;
  u.searchParams.set('sslmode', 'verify-full');
  return u.toString();
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => (process.platform === 'win32' ? path.resolve(p).toLowerCase() : path.resolve(p));
  return norm(a) === norm(b);
}

export async function openStore(db?: string, options: OpenOptions = {}): Promise<PostgresStore> {
  const choice = chooseDatabase(db, options);
  let store: PostgresStore;
  if (choice.kind === 'postgres') {
    const { url, notifications } = poolerOf(choice.url, { given: `${options.source ?? '--db'} "${redactUrl(choice.url)}"`, env: process.env });
    store = new PostgresStore({
      url: sslModeAsTreated(url),
      description: redactUrl(choice.url),
      poolSize: options.poolSize,
      log: options.log,
      notifications,
    });
  } else {
    const embedded = new EmbeddedDatabase(choice.dataFolder, options.log);
    await embedded.ensureRunning();
    store = new PostgresStore({
      connection: await embedded.connection(),
      kind: 'embedded',
      description: `embedded database in ${embedded.dataFolder}`,
      poolSize: options.poolSize,
      log: options.log,
      onConnectError: restartWhenGone(embedded, options.log ?? (() => undefined)),
      // its own server, reached directly
      notifications: { mode: 'listen' },
    });
  }
  if (options.migrate ?? true) {
    try {
      await store.migrate();
    } catch (e) {
      await store.close().catch(() => undefined);
      throw cannotUse(store.description, e);
    }
  }
  return store;
}

/** An error of the first connection as one line: it says where, and what the server or the network answered. */
function cannotUse(description: string, e: unknown): unknown {
  if (e instanceof OcrError || !(e instanceof Error)) return e;
  return new OcrError('db_unreachable', `cannot use the database at ${description}: ${e.message.split('\n')[0]}`,
    'check that it is running and the URL is right (--db or OCR_DATABASE_URL)', { cause: e });
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
