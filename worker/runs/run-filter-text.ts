// What a person types to narrow the run history (`ocr runs --status failed,canceled --since 7d`, the Runs view's
// Date Range… box) read into the store's filter, and the filter said back in a few words (the Runs view's description).
import { RunStatus, runStatuses, shortId } from '../../domain';
import type { RunHistoryFilter } from '../store/run-history';

export class FilterTextProblem extends Error {}

/** "failed,canceled" → ['failed', 'canceled']. */
export function parseStatusList(text: string): RunStatus[] {
  const words = text.split(',').map((w) => w.trim().toLowerCase()).filter(Boolean);
  const wrong = words.find((w) => !RunStatus.safeParse(w).success);
  if (words.length === 0 || wrong !== undefined) {
    throw new FilterTextProblem(`give one or more of ${runStatuses.join(', ')}, separated by commas`);
  }
  return [...new Set(words as RunStatus[])];
}

const units: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * A point in time: "7d" (7 days ago; also m, h, w), a day "2026-12-01" (local midnight; as an end, the midnight after
 * it, so that the day is included), or a full ISO time "2026-12-01T08:00:00Z". Answers an ISO time.
 */
export function parseWhen(text: string, edge: 'start' | 'end', now: number = Date.now()): string {
  const t = text.trim();
  const ago = /^(\d{1,6})\s*([mhdw])$/i.exec(t);
  if (ago) return new Date(now - Number(ago[1]) * units[ago[2]!.toLowerCase()]!).toISOString();
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const date = new Date(y, m - 1, d + (edge === 'end' ? 1 : 0));
    // Date rolls 2026-02-30 over into March: a day that does not exist is refused instead
    const check = new Date(y, m - 1, d);
    if (check.getFullYear() === y && check.getMonth() === m - 1 && check.getDate() === d) return date.toISOString();
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return new Date(ms).toISOString();
  }
  throw new FilterTextProblem('give a time ago such as 7d, 12h or 30m, a day such as 2026-12-01, or a time such as 2026-12-01T08:00:00Z');
}

/** "failed, canceled · lane B · session Web app · runbook deploy · since 3 Dec · "npm"": the filter in a few words. */
export function describeFilter(filter: RunHistoryFilter, sessionTitle?: (id: string) => string | undefined): string {
  const day = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return [
    filter.status?.join(', ') ?? '',
    filter.lane ? `lane ${filter.lane}` : '',
    filter.session_id ? `session ${sessionTitle?.(filter.session_id) ?? shortId(filter.session_id)}` : '',
    filter.executor && !filter.runbook ? filter.executor : '',
    filter.runbook ? `runbook ${filter.runbook}` : '',
    filter.since ? `since ${day(filter.since)}` : '',
    filter.until ? `until ${day(filter.until)}` : '',
    filter.search ? `"${filter.search}"` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}
