// Plain-text layout for people: aligned columns, short ids, durations.
import type { Run } from '../store/types';

export const shortId = (id: string): string => id.slice(0, 8);

export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visibleLength(c))))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

// eslint-disable-next-line no-control-regex
const visibleLength = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length;

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function runDuration(run: Run, now = Date.now()): string {
  if (!run.started_at) return '';
  const end = run.finished_at ? Date.parse(run.finished_at) : now;
  return duration(Math.max(0, end - Date.parse(run.started_at)));
}

export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return '';
  return `${duration(Math.max(0, now - Date.parse(iso)))} ago`;
}

export function oneLine(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

/** The fields of a run as `ocr status --json` gives them: the database's names. */
export function runJson(run: Run) {
  return {
    id: run.id,
    session_id: run.session_id,
    lane: run.lane,
    intent: run.intent,
    executor: run.executor,
    status: run.status,
    priority: run.priority,
    attempt: run.attempt,
    claimed_by: run.claimed_by,
    created_at: run.created_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    exit_code: run.exit_code,
    error: run.error,
    retry_of: run.retry_of,
  };
}
