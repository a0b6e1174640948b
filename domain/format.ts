// How times and ids read to a person, the same in the tree, the Runboard, the CLI and the log.

/** "850 ms", "12.3 s", "3 min 05 s", "2 h 01 min"; "—" for a time that cannot be. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${(Math.floor(s * 10) / 10).toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/**
 * How long a run has taken: until now while it runs, until it finished once it has. Null before it started. A run
 * that ended without a finish time (recovered, say) counts until its last update.
 */
export function runDurationMs(
  run: { status: string; started_at: string | null; finished_at: string | null; updated_at: string },
  now: number = Date.now(),
): number | null {
  if (!run.started_at) return null;
  // a run at an approval gate is not over: it counts on, as a running one does
  const running = run.status === 'running' || run.status === 'queued' || run.status === 'waiting';
  const end = run.finished_at ? Date.parse(run.finished_at) : running ? now : Date.parse(run.updated_at);
  return Math.max(0, end - Date.parse(run.started_at));
}

/** The duration of a run as text, or '' before it started. */
export function runDuration(run: Parameters<typeof runDurationMs>[0], now: number = Date.now()): string {
  const ms = runDurationMs(run, now);
  return ms === null ? '' : formatDuration(ms);
}

/** "12.3 s ago", "4 min 02 s ago"; '' for no time. */
export function timeAgo(iso: string | null, now: number = Date.now()): string {
  if (!iso) return '';
  return `${formatDuration(Math.max(0, now - Date.parse(iso)))} ago`;
}

/** The first characters of an id: what people read and type (`ocr` takes any unique prefix). */
export const shortId = (id: string): string => id.replace(/-/g, '').slice(0, 8);

/** Text on one line, cut with an ellipsis beyond `max` characters. */
export function oneLine(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

/** "512 B", "3.4 KB", "412 MB", "1.2 GB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
