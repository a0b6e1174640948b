// Run history: every run across sessions, filtered, sorted and read a page at a time. The filter is checked here (one
// clear line per wrong field), the page's SQL is built here from fixed text and numbered parameters only, and the
// cursor that starts the next page is the last row's sort key (keyset paging: no OFFSET, so every page costs the same).
import { z } from 'zod';
import { Executor, laneName, Run, RunStatus } from '../../domain';
import { OcrError, parseInput } from './errors';

export const runHistorySorts = ['newest', 'duration', 'status'] as const;
export const RunHistorySort = z.enum(runHistorySorts);
export type RunHistorySort = z.infer<typeof RunHistorySort>;

export const maxRunHistoryPage = 1000;

const instant = z.string().datetime({ offset: true, message: 'give a time such as 2026-12-01T00:00:00Z' });

/** Which runs: every field narrows the list; none given, every run the caller may read. */
export const RunHistoryFilter = z
  .object({
    /** any of these statuses */
    status: z.array(RunStatus).min(1, 'give at least one status').optional(),
    lane: laneName.optional(),
    session_id: z.string().uuid('give a session id').optional(),
    executor: Executor.optional(),
    /** runbook runs of this runbook (its name, as in .ocr/runbooks/<name>.yaml) */
    runbook: z.string().trim().min(1, 'give a runbook name').max(200, 'a runbook name is at most 200 characters').optional(),
    /** created at or after this time */
    since: instant.optional(),
    /** created before this time */
    until: instant.optional(),
    /** a piece of the intent (any case), or the first characters of the run's id */
    search: z.string().trim().min(1, 'give some text to search for').max(500, 'search for at most 500 characters').optional(),
  })
  .strict();
export type RunHistoryFilter = z.input<typeof RunHistoryFilter>;

export const RunHistoryQuery = RunHistoryFilter.extend({
  sort: RunHistorySort.default('newest'),
  limit: z.number().int().min(1).max(maxRunHistoryPage, `a page holds at most ${maxRunHistoryPage} runs`).default(50),
  /** the `next` of the page before */
  cursor: z.string().max(500).nullable().optional(),
}).strict();
export type RunHistoryQuery = z.input<typeof RunHistoryQuery>;

/** A run as the history lists it: the run's row, with its session's title. */
export const RunHistoryRow = Run.extend({ session_title: z.string() });
export type RunHistoryRow = z.infer<typeof RunHistoryRow>;

export interface RunHistoryPage {
  runs: RunHistoryRow[];
  /** the cursor of the next page; null when this page is the last */
  next: string | null;
}

/** Where a page ends: the last row's sort key. `d` is a duration as the database writes an interval, `r` a status rank. */
const Cursor = z.discriminatedUnion('sort', [
  z.object({ sort: z.literal('newest'), seq: z.number().int() }),
  z.object({ sort: z.literal('duration'), d: z.string().max(100).nullable(), seq: z.number().int() }),
  z.object({ sort: z.literal('status'), r: z.number().int().min(1).max(6), seq: z.number().int() }),
]);
type Cursor = z.infer<typeof Cursor>;

const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');

function decodeCursor(text: string, sort: RunHistorySort): Cursor {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = Cursor.safeParse(decoded);
  if (!parsed.success || parsed.data.sort !== sort) {
    throw new OcrError('invalid_input', 'cursor: not the cursor of a page of this list', 'give the `next` of the page before, with the same sort');
  }
  return parsed.data;
}

// The status order of sort 'status' (higher first).
const statusRank = `(case r.status when 'running' then 6 when 'waiting' then 5 when 'queued' then 4 when 'failed' then 3 when 'canceled' then 2 else 1 end)`;
const duration = '(r.finished_at - r.started_at)';
const hasDuration = 'r.finished_at is not null and r.started_at is not null';

/** What a piece of text matches in an id: the range of uuids that start with those hex digits, if it can be one. */
function idRange(text: string): [string, string] | undefined {
  const hex = text.toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{4,32}$/.test(hex) || !/^[0-9a-f-]+$/i.test(text)) return undefined;
  const asUuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  return [asUuid(hex.padEnd(32, '0')), asUuid(hex.padEnd(32, 'f'))];
}

const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, '\\$&')}%`;

/** A statement of the page: its SQL and its parameters. */
export interface HistoryStatement {
  sql: string;
  params: unknown[];
}

/**
 * The statements that read one page, in order: each reads up to what is still missing. Only sort 'duration' needs a
 * second one, for the runs without a duration, which come after all the others.
 */
export function runHistoryStatements(input: RunHistoryQuery): { query: z.output<typeof RunHistoryQuery>; statements: (cursor: Cursor | undefined, missing: number) => HistoryStatement[] } {
  const query = parseInput(RunHistoryQuery, input);
  if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
    throw new OcrError('invalid_input', `since: ${query.since} is not before until ${query.until}`, 'give a range whose start comes before its end');
  }
  const params: unknown[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (query.status) where.push(`r.status = any (${p(query.status)}::text[])`);
  if (query.lane) where.push(`r.lane = ${p(query.lane)}`);
  if (query.session_id) where.push(`r.session_id = ${p(query.session_id)}::uuid`);
  if (query.executor) where.push(`r.executor = ${p(query.executor)}`);
  if (query.runbook) where.push(`r.executor = 'runbook' and r.spec ->> 'name' = ${p(query.runbook)}`);
  if (query.since) where.push(`r.created_at >= ${p(query.since)}::timestamptz`);
  if (query.until) where.push(`r.created_at < ${p(query.until)}::timestamptz`);
  if (query.search) {
    const range = idRange(query.search);
    const text = `r.intent ilike ${p(likePattern(query.search))}`;
    where.push(range ? `(${text} or r.id between ${p(range[0])}::uuid and ${p(range[1])}::uuid)` : text);
  }
  const base = [...where];
  const fixed = params.length;
  // The page is chosen from the runs alone, then joined to its sessions' titles: joined first, the planner may walk
  // every run of every session the caller owns before it sorts, instead of walking an index in the page's order.
  const select = (conditions: string[], order: string, extra: string, limit: number): HistoryStatement => ({
    sql: `select r.*, s.title as session_title${extra}
            from (select r.* from ops.runs r
                   ${conditions.length ? `where ${conditions.join(' and ')}` : ''}
                   order by ${order} limit ${limit}) r
            join ops.sessions s on s.id = r.session_id
           order by ${order}`,
    params: [...params],
  });
  return {
    query,
    statements(cursor, missing) {
      params.length = fixed;
      const limit = missing + 1; // one more than asked: whether there is a next page
      if (query.sort === 'newest') {
        const c = cursor?.sort === 'newest' ? [`r.seq < ${p(cursor.seq)}`] : [];
        return [select([...base, ...c], 'r.seq desc', '', limit)];
      }
      if (query.sort === 'status') {
        const c = cursor?.sort === 'status' ? [`(${statusRank}, r.seq) < (${p(cursor.r)}, ${p(cursor.seq)})`] : [];
        return [select([...base, ...c], `${statusRank} desc, r.seq desc`, `, ${statusRank} as _rank`, limit)];
      }
      const c = cursor?.sort === 'duration' ? cursor : undefined;
      const statements: HistoryStatement[] = [];
      if (!c || c.d !== null) {
        const after = c ? [`(${duration}, r.seq) < (${p(c.d)}::interval, ${p(c.seq)})`] : [];
        statements.push(select([...base, hasDuration, ...after], `${duration} desc, r.seq desc`, `, ${duration}::text as _duration`, limit));
        params.length = fixed;
      }
      const after = c && c.d === null ? [`r.seq < ${p(c.seq)}`] : [];
      statements.push(select([...base, `not (${hasDuration})`, ...after], 'r.seq desc', ', null::text as _duration', limit));
      return statements;
    },
  };
}

/** Reads one page with `run` (a query on the store's pool): the runs, and the cursor of the next page. */
export async function readRunHistory(input: RunHistoryQuery, run: (statement: HistoryStatement) => Promise<Record<string, unknown>[]>): Promise<RunHistoryPage> {
  const { query, statements } = runHistoryStatements(input);
  const cursor = query.cursor ? decodeCursor(query.cursor, query.sort) : undefined;
  const rows: Record<string, unknown>[] = [];
  for (const statement of statements(cursor, query.limit)) {
    rows.push(...(await run(statement)));
    if (rows.length > query.limit) break;
  }
  const more = rows.length > query.limit;
  const page = rows.slice(0, query.limit);
  const runs = page.map((row) => RunHistoryRow.parse(row));
  const last = page[page.length - 1];
  let next: string | null = null;
  if (more && last) {
    const seq = Number(last.seq);
    if (query.sort === 'newest') next = encodeCursor({ sort: 'newest', seq });
    else if (query.sort === 'status') next = encodeCursor({ sort: 'status', r: Number(last._rank), seq });
    else next = encodeCursor({ sort: 'duration', d: typeof last._duration === 'string' ? last._duration : null, seq });
  }
  return { runs, next };
}
