// How notifications reach a store on a PostgreSQL URL. A direct connection and a session-mode pooler deliver LISTEN's
// notifications; a transaction-mode pooler (PgBouncer pool_mode=transaction, Supabase's port 6543) lends each
// statement whichever server connection is free, so a LISTEN is forgotten as soon as it returns, and the store polls.
// The user may say which it is (`?pooler=` in the URL, else OCR_POOLER); a URL known to be a transaction pooler says
// so itself; anything else is found out at connect by the Listener's probe.
import { z } from 'zod';
import { OcrError } from './errors';

/** What `?pooler=` and OCR_POOLER accept. `none`: a direct connection. */
export const PoolerSetting = z.enum(['auto', 'transaction', 'session', 'none']);
export type PoolerSetting = z.infer<typeof PoolerSetting>;

/** How the Listener gets its news: LISTEN, polling, or a probe at connect that decides between the two. */
export type NotificationMode = 'auto' | 'listen' | 'poll';

export interface Notifications {
  mode: NotificationMode;
  /** why the mode is what it is, said in the one log line about polling */
  because?: string;
  /** how often a polling store looks for changes (default 1000 ms) */
  pollMs?: number;
  /** how long the probe waits for its notification (default 1000 ms) */
  probeMs?: number;
}

const accepted = PoolerSetting.options.join(', ');
const fix =
  'pooler=transaction behind a transaction-mode pooler (Supabase port 6543, PgBouncer pool_mode=transaction), ' +
  'session behind a session-mode pooler, none for a direct connection, or auto (the default) to find out at connect';

/** The `pooler` parameter of a postgres:// URL, checked; undefined when there is none. */
export function poolerParam(url: URL, given: string): PoolerSetting | undefined {
  const value = url.searchParams.get('pooler');
  if (value === null) return undefined;
  const parsed = PoolerSetting.safeParse(value.trim().toLowerCase());
  if (!parsed.success) throw new OcrError('invalid_input', `${given}: pooler=${value} is not one of ${accepted}`, `use ${fix}`);
  return parsed.data;
}

/**
 * The URL to give node-postgres (without `pooler`, which is ours) and how its store gets notifications: `?pooler=`
 * first, then OCR_POOLER, then what the URL itself says (Supabase's transaction pooler, Prisma's `pgbouncer=true`),
 * else `auto`.
 */
export function poolerOf(value: string, options: { given: string; env?: NodeJS.ProcessEnv }): { url: string; notifications: Notifications } {
  const url = new URL(value);
  const fromUrl = poolerParam(url, options.given);
  url.searchParams.delete('pooler');
  const stripped = fromUrl === undefined ? value : url.toString();
  const envValue = options.env?.OCR_POOLER?.trim();
  let setting: { value: PoolerSetting; because: string } | undefined;
  if (fromUrl) setting = { value: fromUrl, because: `the URL says pooler=${fromUrl}` };
  else if (envValue) {
    const parsed = PoolerSetting.safeParse(envValue.toLowerCase());
    if (!parsed.success) throw new OcrError('invalid_input', `OCR_POOLER "${envValue}" is not one of ${accepted}`, `set OCR_POOLER=${fix}; or unset it`);
    setting = { value: parsed.data, because: `OCR_POOLER=${parsed.data}` };
  }
  if (setting && setting.value !== 'auto') {
    return { url: stripped, notifications: { mode: setting.value === 'transaction' ? 'poll' : 'listen', because: setting.because } };
  }
  const known = knownTransactionPooler(url);
  return { url: stripped, notifications: known ? { mode: 'poll', because: known } : { mode: 'auto' } };
}

/** Why a URL is a transaction-mode pooler by its own say, or undefined. */
export function knownTransactionPooler(url: URL): string | undefined {
  if (/\.pooler\.supabase\.com$/i.test(url.hostname) && url.port === '6543') {
    return `${url.hostname}:6543 is Supabase's transaction pooler`;
  }
  if (url.searchParams.get('pgbouncer') === 'true') return 'the URL says pgbouncer=true (PgBouncer in transaction mode)';
  return undefined;
}
