// The routes of people signed in with Supabase Auth. Every statement runs as that user (role `authenticated` with the
// JWT's claims), so row-level security and the queue's functions decide what they may see and do: the function adds
// no rule of its own.
import type { User } from './auth.ts';
import type { Db, Query } from './db.ts';
import { type StreamOptions, runEventStream } from './event-stream.ts';
import { ApiError, ok, readJson } from './http.ts';
import * as S from './schemas.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EditorContext {
  db: Db;
  user: User;
  request: Request;
  url: URL;
  bodyBytes: number;
  stream: StreamOptions;
  log: (line: string) => void;
}

function id(what: 'session' | 'run', text: string | undefined): string {
  if (!text || !uuid.test(text)) throw new ApiError('invalid_input', `${what}: ${JSON.stringify(text ?? '')} is not a ${what} id`);
  return text;
}

async function body(ctx: EditorContext): Promise<unknown> {
  return readJson(ctx.request, ctx.bodyBytes);
}

const as = <T>(ctx: EditorContext, work: (query: Query) => Promise<T>) => ctx.db.asUser(ctx.user.claims, work);

async function oneRun(query: Query, runId: string): Promise<Record<string, unknown>> {
  const [run] = await query('select * from ops.runs where id = $1', [runId]);
  if (!run) throw new ApiError('not_found', `run ${runId} does not exist`);
  return run;
}

/** Routes by method and path segments (after the function's name); undefined when no route matches the path. */
export async function handleEditorRoute(ctx: EditorContext, segments: string[]): Promise<Response | undefined> {
  const method = ctx.request.method;
  const [head, second, third] = segments;
  const only = (allowed: string) => {
    if (method !== allowed) throw new ApiError('method_not_allowed', `${segments.join('/')} takes ${allowed}, not ${method}`, { allow: allowed });
  };

  if (head === 'sessions' && segments.length === 1) {
    if (method === 'GET') {
      const archived = ctx.url.searchParams.get('archived') === 'true';
      const sessions = await as(ctx, (q) => q(`select * from ops.sessions where $1 or status = 'active' order by created_at desc`, [archived]));
      return ok({ sessions });
    }
    only('POST');
    const s = S.parse(S.NewSession, await body(ctx));
    const session = await as(ctx, async (q) => {
      const rows = await q('select * from ops.create_session($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
        s.title, s.intent, s.lanes ?? ['A', 'B', 'C', 'D'], s.repo_id ?? null, s.repo_url ?? null, s.repo_path ?? null, s.base_ref ?? null,
        typeof ctx.user.claims.email === 'string' ? ctx.user.claims.email : ctx.user.id, s.team_id ?? null,
      ]);
      return rows[0];
    });
    return ok({ session }, 201);
  }

  if (head === 'sessions' && segments.length === 2) {
    only('GET');
    const sessionId = id('session', second);
    const snapshot = await as(ctx, async (q) => {
      const [session] = await q('select * from ops.sessions where id = $1', [sessionId]);
      if (!session) throw new ApiError('not_found', `session ${sessionId} does not exist`);
      const runs = await q('select * from ops.runs where session_id = $1 order by seq desc limit 10000', [sessionId]);
      const ports = await q('select * from ops.lane_ports where session_id = $1 order by lane', [sessionId]);
      return { session, runs, ports };
    });
    return ok(snapshot);
  }

  if (head === 'sessions' && segments.length === 3 && third === 'archive') {
    only('POST');
    const sessionId = id('session', second);
    const [session] = await as(ctx, (q) => q('select * from ops.archive_session($1)', [sessionId]));
    return ok({ session });
  }

  if (head === 'runs' && segments.length === 1) {
    if (method === 'GET') {
      const p = ctx.url.searchParams;
      const query = S.parse(S.RunQuery, {
        session: p.get('session') ?? undefined,
        lane: p.get('lane') ?? undefined,
        status: p.get('status') ? p.get('status')!.split(',') : undefined,
        limit: p.get('limit') ?? undefined,
      }, 'query');
      const runs = await as(ctx, (q) =>
        q(
          `select * from ops.runs where ($1::uuid is null or session_id = $1) and ($2::text is null or lane = $2)
             and ($3::text[] is null or status = any ($3)) order by seq desc limit $4`,
          [query.session ?? null, query.lane ?? null, query.status ?? null, query.limit],
        ),
      );
      return ok({ runs });
    }
    only('POST');
    const r = S.parse(S.NewRun, await body(ctx));
    const [run] = await as(ctx, (q) => q('select * from ops.create_runs($1::jsonb)', [JSON.stringify([r])]));
    return ok({ run }, 201);
  }

  if (head === 'runs' && segments.length === 2) {
    only('GET');
    const runId = id('run', second);
    return ok({ run: await as(ctx, (q) => oneRun(q, runId)) });
  }

  if (head === 'runs' && segments.length === 3) {
    const runId = id('run', second);
    switch (third) {
      case 'cancel': {
        only('POST');
        const answer = await as(ctx, async (q) => {
          const [row] = await q<{ outcome: string }>('select ops.cancel_run($1) as outcome', [runId]);
          return { outcome: row!.outcome, run: await oneRun(q, runId) };
        });
        return ok(answer);
      }
      case 'retry': {
        only('POST');
        const [run] = await as(ctx, (q) => q('select * from ops.retry_run($1)', [runId]));
        return ok({ run }, 201);
      }
      case 'approve': {
        only('POST');
        const b = S.parse(S.Note, await body(ctx));
        const [run] = await as(ctx, (q) => q('select * from ops.approve_run($1, $2)', [runId, b.note ?? null]));
        return ok({ run });
      }
      case 'reject': {
        only('POST');
        const b = S.parse(S.Reason, await body(ctx));
        const [run] = await as(ctx, (q) => q('select * from ops.reject_run($1, $2)', [runId, b.reason ?? null]));
        return ok({ run });
      }
      case 'artifacts': {
        only('GET');
        const artifacts = await as(ctx, async (q) => {
          await oneRun(q, runId);
          return q('select * from ops.artifacts where run_id = $1 order by created_at, kind, name', [runId]);
        });
        return ok({ artifacts });
      }
      case 'events': {
        only('GET');
        const after = afterSeq(ctx);
        // who may read the run is checked as the user; the stream then reads only this run's rows
        await as(ctx, (q) => oneRun(q, runId));
        return runEventStream(ctx.db, runId, after, ctx.stream, ctx.request.signal, ctx.log);
      }
    }
  }
  return undefined;
}

/** Where the stream starts: the `after` parameter, else the Last-Event-ID header a reconnecting EventSource sends. */
function afterSeq(ctx: EditorContext): number {
  const text = ctx.url.searchParams.get('after') ?? ctx.request.headers.get('last-event-id') ?? '0';
  if (!/^\d{1,15}$/.test(text)) throw new ApiError('invalid_input', `after: ${JSON.stringify(text)} is not a seq; give the last seq you have (0 for all)`);
  return Number(text);
}
