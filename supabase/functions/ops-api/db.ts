// The function's one way to the database: node-postgres, a small pool, values read the way the Node store reads them
// (timestamps as ISO strings, bigints as numbers), and the queue's SQL errors turned into API errors.
import pg from 'pg';
import { ApiError, type ApiErrorCode } from './http.ts';

export type Query = <R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;

export interface Db {
  /** One statement as the function's own role (worker routes: the worker token was checked first). */
  query: Query;
  /** Statements in one transaction, as the function's own role. */
  transaction<T>(work: (query: Query) => Promise<T>): Promise<T>;
  /**
   * Statements as a signed-in user, the way Supabase's API does it: in one transaction, role `authenticated` and the
   * JWT's claims in `request.jwt.claims`, so row-level security and the functions' checks see that user.
   */
  asUser<T>(claims: Record<string, unknown>, work: (query: Query) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const TIMESTAMPTZ = 1184;
const TIMESTAMP = 1114;
const INT8 = 20;
const UTC_TEXT = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/** `2026-11-30 06:21:00.123456+00` → `2026-11-30T06:21:00.123Z`, as the Node store reads it. */
export function isoTimestamp(text: string): string {
  const m = UTC_TEXT.exec(text);
  if (!m) return new Date(text).toISOString();
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMPTZ || oid === TIMESTAMP) return isoTimestamp;
    if (oid === INT8) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function openDb(url: string, options: { max?: number; log?: (line: string) => void } = {}): Db {
  const log = options.log ?? (() => undefined);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 4,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    application_name: 'ops-api',
    types,
  });
  pool.on('error', (e: Error) => log(`database connection lost: ${e.message}`));

  const run = async <T>(work: (query: Query) => Promise<T>, setup?: (client: pg.PoolClient) => Promise<void>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw databaseError(e, log);
    }
    let broken = false;
    try {
      await client.query('begin');
      await setup?.(client);
      const query: Query = async (sql, params = []) => (await client.query(sql, params)).rows;
      const result = await work(query);
      await client.query('commit');
      return result;
    } catch (e) {
      await client.query('rollback').catch(() => (broken = true));
      throw databaseError(e, log);
    } finally {
      client.release(broken);
    }
  };

  return {
    async query(sql, params = []) {
      try {
        return (await pool.query(sql, params)).rows;
      } catch (e) {
        throw databaseError(e, log);
      }
    },
    transaction: (work) => run(work),
    asUser: (claims, work) =>
      run(work, async (client) => {
        await client.query(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [JSON.stringify(claims)]);
      }),
    close: () => pool.end(),
  };
}

const sqlStates: Record<string, ApiErrorCode> = {
  OC001: 'lease_lost',
  OC002: 'not_found',
  OC003: 'invalid_input',
  OC004: 'invalid_state',
  OC005: 'not_authorized',
  '42501': 'not_authorized',
  '22P02': 'invalid_input',
  '22023': 'invalid_input',
  '23514': 'invalid_input',
  '23502': 'invalid_input',
  '23505': 'invalid_state',
};

const unreachable = /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|EPIPE|57P0[123]|08...|53300)$/;

/** The queue's own errors keep their names and words; anything else is logged here and reported without its details. */
export function databaseError(e: unknown, log: (line: string) => void): ApiError {
  if (e instanceof ApiError) return e;
  const err = e as { code?: unknown; message?: unknown; hint?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const message = typeof err.message === 'string' ? err.message : String(e);
  const named = sqlStates[code];
  if (named) {
    const hint = typeof err.hint === 'string' && err.hint ? ` (${err.hint})` : '';
    return new ApiError(named, `${message}${hint}`);
  }
  if (unreachable.test(code) || /timeout|Connection terminated|connect/i.test(message)) {
    log(`database unreachable: ${code} ${message}`);
    return new ApiError('db_unreachable', 'the database is unreachable right now; try again');
  }
  log(`database error ${code}: ${message}`);
  return new ApiError('internal', `the database refused the request (${code || 'unknown error'}); see the function's logs`);
}
