// How timestamps leave the database: as ISO strings in UTC (they cross JSON boundaries: CLI, webview, Runboard).

/**
 * PostgreSQL's text for a timestamptz in a UTC session: `2026-11-30 06:21:00.123456+00`. The embedded server runs in
 * UTC; another server prints in its own TimeZone setting (most hosted ones: UTC). The store does not set the session's
 * zone itself: connection poolers refuse the startup option that would.
 */
const UTC_TEXT = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

/**
 * `2026-11-30 06:21:00.123456+00` → `2026-11-30T06:21:00.123Z`, the same string `new Date(text).toISOString()` gives
 * (milliseconds truncated), rewritten instead of parsed: six times cheaper, which showed in profiles of workers
 * claiming 64 runs at a time (six timestamps each). Any other form (another zone, a year past 9999, infinity) goes
 * through Date as before.
 */
export function isoTimestamp(text: string): string {
  const m = UTC_TEXT.exec(text);
  if (!m) return new Date(text).toISOString();
  return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}
