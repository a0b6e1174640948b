// Plain-text layout for people: aligned columns. Durations, ids and control-sequence stripping are the domain's.
import { oneLine, plainLine, plainOneLine, type Run, stripControlSequences } from '../../domain';

/**
 * Text from the database or from a run (a title, an intent, an error, a worker's id or host, a file name) for one cell
 * or one line a person reads: without escapes or control characters, on one line, cut at `max` characters.
 */
export function plain(text: string, max = Infinity): string {
  return oneLine(plainOneLine(text), max);
}

/** Log text as a terminal shows it without colors: each line with its carriage returns resolved, controls removed. */
export function plainLog(text: string): string {
  return text.includes('\n') ? text.split('\n').map(plainLine).join('\n') : plainLine(text);
}

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

const visibleLength = (s: string): number => stripControlSequences(s).length;

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
