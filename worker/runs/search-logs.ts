// Search every log: the lines of every run the caller may read that hold a piece of text, newest first, each as a
// person reads it (plain, one line, cut around the match) with where the match is and the lines around it. `ocr search`
// and the editor's Search Run Logs… both call searchLogs.
import { z } from 'zod';
import { laneName, plainOneLine, RunStatus } from '../../domain';
import { parseInput } from '../store/errors';
import { type LogHit, maxLogSearchContext, maxLogSearchHits } from '../store/log-search';
import type { Store } from '../store/store';

const instant = z.string().datetime({ offset: true, message: 'give a time such as 2026-12-01T00:00:00Z' });

export const SearchLogsOptions = z
  .object({
    /** the text to find in a line, in any case */
    query: z.string(),
    /** a session's id or its first characters */
    session: z.string().trim().min(1, 'give a session id or its first characters').optional(),
    lane: laneName.optional(),
    status: z.array(RunStatus).min(1, 'give at least one status').optional(),
    since: instant.optional(),
    until: instant.optional(),
    limit: z.number().int().min(1).max(maxLogSearchHits, `at most ${maxLogSearchHits} hits`).default(50),
    context: z.number().int().min(0).max(maxLogSearchContext, `at most ${maxLogSearchContext} lines around a hit`).default(2),
    /** how many characters of a line to keep around its match */
    width: z.number().int().min(20).max(100_000).default(240),
  })
  .strict();
export type SearchLogsOptions = z.input<typeof SearchLogsOptions>;

/** Where the text is in `line`: from `start` up to (not including) `end`. */
export interface MatchRange {
  start: number;
  end: number;
}

export interface LogSearchHit {
  hit: LogHit;
  /** the line as a person reads it, on one line, cut to the width around its first match ("…" where cut) */
  line: string;
  /** every match in `line` (none when the displayed text differs from what matched, such as a line redrawn by \r) */
  matches: MatchRange[];
  /** the lines around it, plain, cut to the width */
  before: string[];
  after: string[];
}

/** The hits, newest first. A wrong option is refused with one line naming it. */
export async function searchLogs(store: Store, input: SearchLogsOptions): Promise<LogSearchHit[]> {
  const o = parseInput(SearchLogsOptions, input);
  const sessionId = o.session ? await store.resolveId('session', o.session) : undefined;
  const hits = await store.searchLogs({
    query: o.query,
    session_id: sessionId,
    lane: o.lane,
    status: o.status,
    since: o.since,
    until: o.until,
    limit: o.limit,
    context: o.context,
  });
  return hits.map((hit) => {
    const { text, matches } = excerpt(plainOneLine(hit.text), o.query, o.width);
    return { hit, line: text, matches, before: hit.before.map((l) => cut(plainOneLine(l), o.width)), after: hit.after.map((l) => cut(plainOneLine(l), o.width)) };
  });
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every place `query` is in `text`, ignoring case. */
export function findMatches(text: string, query: string): MatchRange[] {
  if (!query) return [];
  const ranges: MatchRange[] = [];
  for (const m of text.matchAll(new RegExp(escapeRegExp(query), 'giu'))) ranges.push({ start: m.index, end: m.index + m[0].length });
  return ranges;
}

const cut = (text: string, width: number): string => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

/**
 * `line` cut to `width` characters so that its first match shows, with some of what comes before it; "…" marks a cut
 * end. Answers the text and the matches inside it.
 */
export function excerpt(line: string, query: string, width: number): { text: string; matches: MatchRange[] } {
  const all = findMatches(line, query);
  if (line.length <= width) return { text: line, matches: all };
  const first = all[0];
  let start = 0;
  if (first && first.end > width - 1) {
    // a third of the width before the match, the rest after it
    start = Math.max(0, Math.min(first.start - Math.floor(width / 3), line.length - width + 1));
  }
  const head = start > 0 ? '…' : '';
  const room = width - head.length;
  const end = start + room < line.length ? start + room - 1 : line.length;
  const tail = end < line.length ? '…' : '';
  const text = head + line.slice(start, end) + tail;
  const matches = all
    .filter((m) => m.start >= start && m.end <= end)
    .map((m) => ({ start: m.start - start + head.length, end: m.end - start + head.length }));
  return { text, matches };
}
