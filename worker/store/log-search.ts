// Searching every run's log lines (ops.search_logs): what a search asks, what each hit holds, and the one statement
// that asks it. The query is checked here first, so that a wrong field gets one clear line before any round trip; the
// database checks the same again for any other caller.
import { z } from 'zod';
import { EventStream, laneName, RunStatus } from '../../domain';
import { OcrError, parseInput } from './errors';

export const maxLogSearchHits = 1000;
export const maxLogSearchContext = 20;
export const minLogQueryLength = 3;

const instant = z.string().datetime({ offset: true, message: 'give a time such as 2026-12-01T00:00:00Z' });

/** What to look for and where. Every field but the text narrows the search; none given, every log the caller may read. */
export const LogSearchQuery = z
  .object({
    /** a piece of a line, in any case (colors and terminal escapes do not count) */
    query: z
      .string()
      .refine((t) => !/[\r\n]/.test(t), 'give one line of text: each line of a log is searched on its own')
      .refine((t) => t.trim().length >= minLogQueryLength, `give at least ${minLogQueryLength} characters, such as ERR or 404`)
      .refine((t) => t.length <= 500, 'search for at most 500 characters'),
    session_id: z.string().uuid('give a session id').optional(),
    lane: laneName.optional(),
    /** runs in any of these statuses */
    status: z.array(RunStatus).min(1, 'give at least one status').optional(),
    /** lines written at or after this time */
    since: instant.optional(),
    /** lines written before this time */
    until: instant.optional(),
    limit: z.number().int().min(1).max(maxLogSearchHits, `at most ${maxLogSearchHits} hits`).default(50),
    /** lines shown before and after each hit */
    context: z.number().int().min(0).max(maxLogSearchContext, `at most ${maxLogSearchContext} lines around a hit`).default(2),
  })
  .strict();
export type LogSearchQuery = z.input<typeof LogSearchQuery>;

/** One line that holds the text: where it is (run, session, lane), the line itself and the lines around it. */
export const LogHit = z.object({
  run_id: z.string().uuid(),
  session_id: z.string().uuid(),
  session_title: z.string(),
  lane: z.string(),
  run_status: RunStatus,
  run_intent: z.string(),
  seq: z.number().int(),
  ts: z.string(),
  stream: EventStream,
  /** the line as stored (colors and all) */
  text: z.string(),
  /** up to `context` lines before it, oldest first */
  before: z.array(z.string()),
  /** up to `context` lines after it */
  after: z.array(z.string()),
});
export type LogHit = z.infer<typeof LogHit>;

/** The query checked (one line naming the first wrong field), with its defaults. */
export function checkLogSearchQuery(input: LogSearchQuery): z.output<typeof LogSearchQuery> {
  const query = parseInput(LogSearchQuery, input);
  if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
    throw new OcrError('invalid_input', `since: ${query.since} is not before until ${query.until}`, 'give a range whose start comes before its end');
  }
  return query;
}

/** ops.search_logs with the query's fields, in its order. */
export function logSearchStatement(input: LogSearchQuery): { sql: string; params: unknown[] } {
  const q = checkLogSearchQuery(input);
  return {
    sql: 'select * from ops.search_logs($1, $2::uuid, $3, $4::text[], $5::timestamptz, $6::timestamptz, $7, $8)',
    params: [q.query, q.session_id ?? null, q.lane ?? null, q.status ?? null, q.since ?? null, q.until ?? null, q.limit, q.context],
  };
}

export const parseLogHits = (rows: unknown[]): LogHit[] => z.array(LogHit).parse(rows);
