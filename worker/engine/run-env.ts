// What a run's processes see of the worker's environment: only the names of an allow-list, never the worker's own
// settings or a database's credentials. The worker's configuration decides what is passed and what a run's spec may
// set; a queued run cannot widen either.

/** Passed from the worker's environment to every run (a trailing `*` matches a prefix). */
export const defaultPassEnv: readonly string[] = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'LC_*', 'TERM', 'COLORTERM', 'TZ',
  'TMPDIR', 'TMP', 'TEMP', 'XDG_RUNTIME_DIR', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME',
  'NO_COLOR', 'FORCE_COLOR', 'CI',
  'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS',
];

/** What a run's `spec.env` may set by default. */
export const defaultRunEnvNames: readonly string[] = [
  'CI', 'DEBUG', 'NODE_ENV', 'FORCE_COLOR', 'NO_COLOR', 'TZ', 'LANG', 'RUST_LOG', 'RUST_BACKTRACE', 'PYTHONUNBUFFERED',
];

/**
 * Never passed to a run, whatever the configuration says: the worker's own settings (its database among them) and the
 * variables PostgreSQL clients take credentials from.
 */
const neverPassed = ['OCR_*', 'PGPASSWORD', 'PGPASSFILE', 'PGSERVICEFILE', 'DATABASE_URL'];

/** Whether `name` matches one of `patterns` (a name, or a prefix ending in `*`). */
export function nameMatches(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/** The variables of `env` whose names the patterns allow, less those never passed. */
export function passedEnv(env: NodeJS.ProcessEnv, patterns: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !nameMatches(name, patterns) || nameMatches(name, neverPassed)) continue;
    out[name] = value;
  }
  return out;
}

/** A name a run may not set: one never passed, or one the worker's allow-list does not name. */
export function refusedRunEnvName(name: string, allowed: readonly string[]): boolean {
  return nameMatches(name, neverPassed) || !nameMatches(name, allowed);
}
