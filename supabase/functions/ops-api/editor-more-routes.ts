// The rest of what the editor reads and does when it is signed in to Supabase, beside editor-routes.ts: a log page,
// steps, lane ports, comparison groups, run history, workers, runbook versions, ids from their first characters, the
// caller's teams and worker tokens, one cheap look at what changed (the editor polls it instead of LISTEN), and a
// check of what the project is missing. Every statement about the user's data runs as that user, so row-level
// security and the queue's functions decide; only `health` reads as the function's own role, and only which
// migrations the database has.
import { z } from 'zod';
import type { EditorContext } from './editor-routes.ts';
import type { Query } from './db.ts';
import { ApiError, ok, readJson } from './http.ts';
import { parse } from './schemas.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuid = (what: string) => z.string().regex(uuidPattern, `${what} must be a uuid`);
const lane = z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'a lane is 1 to 16 letters, digits, "-" or "_"');
const runStatus = z.enum(['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled']);
const instant = z.string().datetime({ offset: true, message: 'give a time such as 2026-12-01T00:00:00Z' });

const NewRunInGroup = z.object({
  session_id: uuid('session_id'),
  lane,
  intent: z.string().trim().min(1, 'a run needs an intent').max(100_000),
  executor: z.enum(['shell', 'agent', 'runbook']).default('shell'),
  spec: z.record(z.string(), z.unknown()).default({}),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(100),
  max_attempts: z.number().int().min(1).max(100).default(3),
});
const NewGroup = z.object({ runs: z.array(NewRunInGroup).min(1).max(16) });

const HistoryQuery = z
  .object({
    status: z.array(runStatus).min(1, 'give at least one status').optional(),
    lane: lane.optional(),
    session_id: uuid('session_id').optional(),
    executor: z.enum(['shell', 'agent', 'runbook']).optional(),
    runbook: z.string().trim().min(1, 'give a runbook name').max(200).optional(),
    since: instant.optional(),
    until: instant.optional(),
    search: z.string().trim().min(1, 'give some text to search for').max(500).optional(),
    sort: z.enum(['newest', 'duration', 'status']).default('newest'),
    limit: z.number().int().min(1).max(1000, 'a page holds at most 1000 runs').default(50),
    cursor: z.string().max(500).nullable().optional(),
  })
  .strict();
type HistoryQuery = z.output<typeof HistoryQuery>;

const Changes = z.object({
  sessions: z.array(uuid('a session')).max(500).default([]),
  list: z.boolean().default(false),
  queue: z.boolean().default(false),
});

const PublishTemplate = z.object({
  name: z.string().min(1).max(200),
  text: z.string().max(1_000_000),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 hex digits'),
  runbook: z.record(z.string(), z.unknown()),
  source: z.string().max(4096).nullable().optional(),
  team_id: uuid('team_id').nullable().optional(),
});

const WorktreeSessions = z.object({
  short_ids: z.array(z.string().regex(/^[0-9a-f]{8}$/, 'each is the first 8 hex digits of a session id, in lower case')).max(10_000),
});

const NewTeam = z.object({ name: z.string().trim().min(1, 'a team needs a name').max(100, 'at most 100 characters') });
const NewToken = z.object({
  team_id: uuid('team_id'),
  name: z.string().trim().min(1, 'a worker token needs a name').max(100),
  sessions: z.array(uuid('a session')).min(1).max(1000).nullable().optional(),
});

const as = <T>(ctx: EditorContext, work: (query: Query) => Promise<T>) => ctx.db.asUser(ctx.user.claims, work);

function id(what: string, text: string | undefined): string {
  if (!text || !uuidPattern.test(text)) throw new ApiError('invalid_input', `${what}: ${JSON.stringify(text ?? '')} is not a ${what} id`);
  return text;
}

function count(text: string | null, name: string, fallback: number, max: number): number {
  if (text === null) return fallback;
  if (!/^\d{1,15}$/.test(text)) throw new ApiError('invalid_input', `${name}: ${JSON.stringify(text)} is not a whole number`);
  return Math.min(Number(text), max);
}

async function visibleRun(q: Query, runId: string): Promise<void> {
  const [run] = await q('select id from ops.runs where id = $1', [runId]);
  if (!run) throw new ApiError('not_found', `run ${runId} does not exist`);
}

/** Routes by method and path segments; undefined when none matches. */

/** A log search as the editor's store sends it (worker/store/log-search.ts LogSearchQuery). */
const LogSearch = z.object({
  query: z.string().min(1).max(500),
  session_id: z.string().uuid().optional(),
  lane: z.string().max(16).optional(),
  status: z.array(z.string().max(20)).max(10).optional(),
  since: z.string().max(40).optional(),
  until: z.string().max(40).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  context: z.number().int().min(0).max(20).optional(),
}).strict();

export async function handleMoreEditorRoutes(ctx: EditorContext, segments: string[]): Promise<Response | undefined> {
  const method = ctx.request.method;
  const [head, second, third] = segments;
  const only = (allowed: string) => {
    if (method !== allowed) throw new ApiError('method_not_allowed', `${segments.join('/')} takes ${allowed}, not ${method}`, { allow: allowed });
  };
  const body = () => readJson(ctx.request, ctx.bodyBytes);
  const params = ctx.url.searchParams;

  if (head === 'health' && segments.length === 1) {
    only('GET');
    return ok(await health(ctx));
  }

  if (head === 'changes' && segments.length === 1) {
    only('POST');
    return ok(await changes(ctx, parse(Changes, await body())));
  }

  if (head === 'changes' && segments.length === 2 && second === 'stream') {
    only('POST');
    const c = parse(Changes, await body());
    // the first look answers here, so a refusal is a status, not a broken stream
    const first = await changes(ctx, c);
    return changeStream(ctx, c, first);
  }

  if (head === 'runs' && segments.length === 3 && (third === 'lines' || third === 'steps')) {
    only('GET');
    const runId = id('run', second);
    if (third === 'steps') {
      const steps = await as(ctx, async (q) => {
        await visibleRun(q, runId);
        return q('select * from ops.run_steps where run_id = $1 order by idx', [runId]);
      });
      return ok({ steps });
    }
    const after = count(params.get('after'), 'after', 0, Number.MAX_SAFE_INTEGER);
    const limit = Math.max(1, count(params.get('limit'), 'limit', 5000, 10_000));
    const events = await as(ctx, async (q) => {
      await visibleRun(q, runId);
      return q('select * from ops.run_events where run_id = $1 and seq > $2 order by seq limit $3', [runId, after, limit]);
    });
    return ok({ events });
  }

  if (head === 'sessions' && segments.length === 3 && third === 'info') {
    only('GET');
    const sessionId = id('session', second);
    const [session] = await as(ctx, (q) => q('select * from ops.sessions where id = $1', [sessionId]));
    if (!session) throw new ApiError('not_found', `session ${sessionId} does not exist`);
    return ok({ session });
  }

  if (head === 'worktree-sessions' && segments.length === 1) {
    only('POST');
    const { short_ids } = parse(WorktreeSessions, await body());
    // the sessions the caller may read only: a lane worktree of any other session is not reported
    const sessions = await as(ctx, (q) =>
      q(
        `select x.short_id, s.id as session_id, s.status,
                (select count(*)::integer from ops.runs r where r.session_id = s.id and r.status = 'running') as running
           from (select distinct u as short_id from unnest($1::text[]) u) x
           join ops.sessions s on s.id between (x.short_id || '-0000-0000-0000-000000000000')::uuid
                                           and (x.short_id || '-ffff-ffff-ffff-ffffffffffff')::uuid
          order by x.short_id, s.id`,
        [short_ids],
      ),
    );
    return ok({ sessions });
  }

  if (head === 'sessions' && segments.length === 3 && third === 'ports') {
    only('GET');
    const sessionId = id('session', second);
    const ports = await as(ctx, async (q) => {
      const [session] = await q('select id from ops.sessions where id = $1', [sessionId]);
      if (!session) throw new ApiError('not_found', `session ${sessionId} does not exist`);
      return q('select * from ops.lane_ports where session_id = $1 order by lane', [sessionId]);
    });
    return ok({ ports });
  }

  if (head === 'groups' && segments.length === 1) {
    only('POST');
    const g = parse(NewGroup, await body());
    const runs = await as(ctx, (q) => q('select * from ops.create_group($1::jsonb) order by seq', [JSON.stringify(g.runs)]));
    return ok({ runs }, 201);
  }

  if (head === 'groups' && segments.length === 2) {
    only('GET');
    const groupId = id('group', second);
    const limit = Math.max(1, count(params.get('limit'), 'limit', 1000, 10_000));
    const runs = await as(ctx, (q) => q('select * from ops.runs where group_id = $1 order by seq desc limit $2', [groupId, limit]));
    return ok({ runs });
  }

  if (head === 'history' && segments.length === 1) {
    only('POST');
    const query = parse(HistoryQuery, await body());
    return ok(await as(ctx, (q) => runHistory(q, query)));
  }

  if (head === 'logs' && second === 'search' && segments.length === 2) {
    only('POST');
    // checked again, with the same words, by ops.search_logs (and first by the editor's own store)
    const s = parse(LogSearch, await body());
    const hits = await as(ctx, (q) =>
      q('select * from ops.search_logs($1, $2::uuid, $3, $4::text[], $5::timestamptz, $6::timestamptz, $7, $8)', [
        s.query, s.session_id ?? null, s.lane ?? null, s.status ?? null, s.since ?? null, s.until ?? null, s.limit ?? 50, s.context ?? 2,
      ]),
    );
    return ok({ hits });
  }

  if (head === 'workers' && segments.length === 1) {
    only('GET');
    const workers = await as(ctx, (q) =>
      q(`select id, host, pid, concurrency, labels, version, state, started_at, last_heartbeat from ops.workers order by last_heartbeat desc`),
    );
    return ok({ workers });
  }

  if (head === 'templates' && segments.length === 1) {
    only('POST');
    const t = parse(PublishTemplate, await body());
    const [template] = await as(ctx, (q) =>
      q('select * from ops.publish_template($1, $2, $3, $4::jsonb, $5, $6)', [t.name, t.text, t.sha256, JSON.stringify(t.runbook), t.source ?? null, t.team_id ?? null]),
    );
    return ok({ template }, 201);
  }

  if (head === 'templates' && segments.length === 2) {
    only('GET');
    const templateId = id('runbook version', second);
    const [template] = await as(ctx, (q) => q('select * from ops.templates where id = $1', [templateId]));
    if (!template) throw new ApiError('not_found', `runbook version ${templateId} does not exist`);
    return ok({ template });
  }

  if (head === 'resolve' && segments.length === 1) {
    only('GET');
    const kind = z.enum(['run', 'session', 'group']).safeParse(params.get('kind'));
    if (!kind.success) throw new ApiError('invalid_input', 'kind: give run, session or group');
    return ok({ id: await as(ctx, (q) => resolveId(q, kind.data, params.get('id') ?? '')) });
  }

  if (head === 'teams' && segments.length === 1) {
    if (method === 'GET') return ok({ teams: await as(ctx, myTeams) });
    only('POST');
    const t = parse(NewTeam, await body());
    const [team] = await as(ctx, (q) => q('select * from ops.create_team($1)', [t.name]));
    return ok({ team }, 201);
  }

  if (head === 'tokens' && segments.length === 1) {
    only('POST');
    const t = parse(NewToken, await body());
    const [token] = await as(ctx, (q) => q('select * from ops.create_worker_token($1, $2, $3)', [t.team_id, t.name, t.sessions ?? null]));
    return ok({ token }, 201);
  }

  return undefined;
}

const myTeams = (q: Query) =>
  q(`select t.id, t.name, m.role from ops.team_members m join ops.teams t on t.id = m.team_id
      where m.user_id = (select auth.uid()) order by t.name, t.id`);

/**
 * What the project has of what the editor needs: the ops schema, the migrations recorded (by the queue itself, and by
 * `supabase db push` in Supabase's own history), and the caller's teams. The editor compares them with its own list
 * and says which command fixes what is missing.
 */
async function health(ctx: EditorContext): Promise<Record<string, unknown>> {
  const [found] = await ctx.db.query<{ ops: boolean; history: boolean; pushed: boolean; teams: boolean }>(
    `select to_regclass('ops.sessions') is not null as ops, to_regclass('ops.schema_migrations') is not null as history,
            to_regclass('supabase_migrations.schema_migrations') is not null as pushed, to_regclass('ops.team_members') is not null as teams`,
  );
  const migrations = found!.history ? (await ctx.db.query<{ name: string }>('select name from ops.schema_migrations order by name')).map((r) => r.name) : [];
  let pushed: Array<{ version: string; name: string | null }> | null = null;
  if (found!.pushed) {
    try {
      const rows = await ctx.db.query<{ m: { version?: unknown; name?: unknown } }>('select to_jsonb(m) as m from supabase_migrations.schema_migrations m');
      pushed = rows.map(({ m }) => ({ version: String(m.version ?? ''), name: typeof m.name === 'string' ? m.name : null }));
    } catch (e) {
      ctx.log(`health: cannot read supabase_migrations.schema_migrations: ${(e as Error).message}`);
    }
  }
  const teams = found!.ops && found!.teams ? await as(ctx, myTeams) : [];
  return { ops_schema: found!.ops, migrations, pushed, teams, user: { id: ctx.user.id, email: typeof ctx.user.claims.email === 'string' ? ctx.user.claims.email : null } };
}

/**
 * One look at what may have changed: a version of each named session (its status, its runs' statuses and leases, its
 * lane ports), of the list of sessions, and of the unfinished runs (the Workers view's cue). A session the caller may
 * not read has none.
 */
async function changes(ctx: EditorContext, c: z.output<typeof Changes>): Promise<Record<string, unknown>> {
  return as(ctx, async (q) => {
    const sessions: Record<string, string> = {};
    if (c.sessions.length > 0) {
      const rows = await q<{ id: string; version: string }>(
        `select s.id, concat_ws(':', s.status, s.archived_at::text,
                  (select md5(string_agg(r.id::text || r.status || r.updated_at::text || coalesce(r.claimed_by, ''), ',' order by r.seq))
                     from ops.runs r where r.session_id = s.id),
                  (select string_agg(p.lane || '=' || p.port_base || '+' || p.port_count, ',' order by p.lane)
                     from ops.lane_ports p where p.session_id = s.id)) as version
           from ops.sessions s where s.id = any ($1::uuid[])`,
        [c.sessions],
      );
      for (const r of rows) sessions[r.id] = r.version;
    }
    const answer: Record<string, unknown> = { sessions };
    if (c.list) {
      const [row] = await q<{ v: string }>(`select count(*)::text || ':' || coalesce(md5(string_agg(id::text || status, ',' order by id)), '') as v from ops.sessions`);
      answer.list = row!.v;
    }
    if (c.queue) {
      const [row] = await q<{ v: string }>(
        `select count(*)::text || ':' || coalesce(max(updated_at)::text, '') as v from ops.runs where status in ('queued', 'running', 'waiting')`,
      );
      answer.queue = row!.v;
    }
    return answer;
  });
}

/**
 * The same look as `changes`, as Server-Sent Events: a `changes` message at once and whenever the answer differs, the
 * database asked every `pollMs`; `reconnect` before the platform's time limit. One request every two minutes instead
 * of one a second, for an editor that keeps watching.
 */
function changeStream(ctx: EditorContext, c: z.output<typeof Changes>, first: Record<string, unknown>): Response {
  const encoder = new TextEncoder();
  const options = ctx.stream;
  let closed = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    closed = true;
    wake?.();
  };
  ctx.request.signal.addEventListener('abort', stop);
  const message = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const deadline = Date.now() + options.maxMs;
      let last = JSON.stringify(first);
      let lastSent = Date.now();
      send(message('changes', first));
      try {
        while (!closed) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, Math.min(Math.max(options.pollMs, 250), Math.max(0, deadline - Date.now())));
            function done(): void {
              clearTimeout(timer);
              wake = undefined;
              resolve();
            }
            wake = done;
          });
          if (closed) break;
          if (Date.now() >= deadline) {
            send(message('reconnect', { reason: 'time limit' }));
            break;
          }
          const now = await changes(ctx, c);
          const text = JSON.stringify(now);
          if (text !== last) {
            last = text;
            send(message('changes', now));
            lastSent = Date.now();
          } else if (Date.now() - lastSent >= options.keepAliveMs) {
            send(': keep-alive\n\n');
            lastSent = Date.now();
          }
        }
      } catch (e) {
        const text = e instanceof Error ? e.message : String(e);
        ctx.log(`change stream failed: ${text}`);
        send(message('reconnect', { reason: 'error', message: text }));
      } finally {
        ctx.request.signal.removeEventListener('abort', stop);
        if (!closed) {
          closed = true;
          controller.close();
        }
      }
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
  });
}

async function resolveId(q: Query, kind: 'run' | 'session' | 'group', text: string): Promise<string> {
  const hex = text.trim().toLowerCase().replace(/-/g, '');
  if (!/^[0-9a-f]{4,32}$/.test(hex)) throw new ApiError('invalid_input', `${kind}: ${JSON.stringify(text)} is not a ${kind} id; give the id or its first characters`);
  const asUuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  const [table, column] = kind === 'run' ? ['ops.runs', 'id'] : kind === 'group' ? ['ops.runs', 'group_id'] : ['ops.sessions', 'id'];
  const rows = await q<{ id: string }>(`select distinct ${column} as id from ${table} where ${column} between $1 and $2 limit 2`, [
    asUuid(hex.padEnd(32, '0')),
    asUuid(hex.padEnd(32, 'f')),
  ]);
  if (rows.length === 0) throw new ApiError('not_found', `${kind} ${text} does not exist`);
  if (rows.length > 1) throw new ApiError('invalid_input', `${kind}: ${text} matches more than one ${kind}; give more characters of the id`);
  return rows[0]!.id;
}

// Run history, as the Node store reads it (worker/store/run-history.ts): keyset pages, newest first, by duration or by
// status. The cursor is this function's own (the editor hands back the `next` it got).

const Cursor = z.discriminatedUnion('sort', [
  z.object({ sort: z.literal('newest'), seq: z.number().int() }),
  z.object({ sort: z.literal('duration'), d: z.string().max(100).nullable(), seq: z.number().int() }),
  z.object({ sort: z.literal('status'), r: z.number().int().min(1).max(6), seq: z.number().int() }),
]);
type Cursor = z.infer<typeof Cursor>;

const encodeCursor = (c: Cursor): string => btoa(JSON.stringify(c)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function decodeCursor(text: string, sort: HistoryQuery['sort']): Cursor {
  let decoded: unknown;
  try {
    decoded = JSON.parse(atob(text.replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    decoded = undefined;
  }
  const parsed = Cursor.safeParse(decoded);
  if (!parsed.success || parsed.data.sort !== sort) throw new ApiError('invalid_input', 'cursor: not the cursor of a page of this list; give the `next` of the page before, with the same sort');
  return parsed.data;
}

const statusRank = `(case r.status when 'running' then 6 when 'waiting' then 5 when 'queued' then 4 when 'failed' then 3 when 'canceled' then 2 else 1 end)`;
const duration = '(r.finished_at - r.started_at)';
const hasDuration = 'r.finished_at is not null and r.started_at is not null';

async function runHistory(q: Query, query: HistoryQuery): Promise<{ runs: Record<string, unknown>[]; next: string | null }> {
  if (query.since && query.until && Date.parse(query.since) >= Date.parse(query.until)) {
    throw new ApiError('invalid_input', `since: ${query.since} is not before until ${query.until}`);
  }
  const cursor = query.cursor ? decodeCursor(query.cursor, query.sort) : undefined;
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
    const hex = query.search.toLowerCase().replace(/-/g, '');
    const text = `r.intent ilike ${p(`%${query.search.replace(/[\\%_]/g, '\\$&')}%`)}`;
    if (/^[0-9a-f]{4,32}$/.test(hex) && /^[0-9a-f-]+$/i.test(query.search)) {
      const asUuid = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      where.push(`(${text} or r.id between ${p(asUuid(hex.padEnd(32, '0')))}::uuid and ${p(asUuid(hex.padEnd(32, 'f')))}::uuid)`);
    } else where.push(text);
  }
  const fixed = params.length;
  const limit = query.limit + 1;
  const select = (conditions: string[], order: string, extra: string) =>
    q(
      `select r.*, s.title as session_title${extra}
         from (select r.* from ops.runs r ${conditions.length ? `where ${conditions.join(' and ')}` : ''} order by ${order} limit ${limit}) r
         join ops.sessions s on s.id = r.session_id
        order by ${order}`,
      [...params],
    );
  const rows: Record<string, unknown>[] = [];
  if (query.sort === 'newest') {
    rows.push(...(await select([...where, ...(cursor?.sort === 'newest' ? [`r.seq < ${p(cursor.seq)}`] : [])], 'r.seq desc', '')));
  } else if (query.sort === 'status') {
    const after = cursor?.sort === 'status' ? [`(${statusRank}, r.seq) < (${p(cursor.r)}, ${p(cursor.seq)})`] : [];
    rows.push(...(await select([...where, ...after], `${statusRank} desc, r.seq desc`, `, ${statusRank} as _rank`)));
  } else {
    const c = cursor?.sort === 'duration' ? cursor : undefined;
    if (!c || c.d !== null) {
      const after = c ? [`(${duration}, r.seq) < (${p(c.d)}::interval, ${p(c.seq)})`] : [];
      rows.push(...(await select([...where, hasDuration, ...after], `${duration} desc, r.seq desc`, `, ${duration}::text as _duration`)));
      params.length = fixed;
    }
    if (rows.length <= query.limit) {
      const after = c && c.d === null ? [`r.seq < ${p(c.seq)}`] : [];
      rows.push(...(await select([...where, `not (${hasDuration})`, ...after], 'r.seq desc', ', null::text as _duration')));
    }
  }
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  let next: string | null = null;
  if (rows.length > query.limit && last) {
    const seq = Number(last.seq);
    if (query.sort === 'newest') next = encodeCursor({ sort: 'newest', seq });
    else if (query.sort === 'status') next = encodeCursor({ sort: 'status', r: Number(last._rank), seq });
    else next = encodeCursor({ sort: 'duration', d: typeof last._duration === 'string' ? last._duration : null, seq });
  }
  return { runs: page.map(({ _rank: _r, _duration: _d, ...run }) => run), next };
}
