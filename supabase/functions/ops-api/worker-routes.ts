// The routes of workers that hold a worker token instead of database credentials. Each one is the SQL function the
// Postgres store calls, fenced the same way (worker id + the registration secret its `register` answered + attempt);
// the token, checked by the database on every call, limits which sessions the worker may see and claim.
import { workerToken } from './auth.ts';
import type { Db, Query } from './db.ts';
import { ApiError, ok, readJson } from './http.ts';
import * as S from './schemas.ts';

export interface Limits {
  /** events and artifacts */
  bulkBytes: number;
  /** everything else */
  bodyBytes: number;
}

/** What the database says of a worker token, and of the worker a call names. */
export interface TokenScope {
  tokenId: string;
  /** the sessions the token opens (asked for by the routes that read them) */
  sessions: string[];
  /** the token the named worker registered with (null: none, or no such worker) */
  boundTo: string | null;
}

// ops.worker_token_identity refuses a token that is unknown or revoked; a token opens the sessions it names, or else
// every session of its team (of no team, for a token the database's owner made).
const identitySql = (withSessions: boolean) => `
  select i.token_id::text as token_id, w.worker_token_id::text as bound_to,
         ${withSessions
           ? `coalesce((select array_agg(s.id) from ops.sessions s
                         where s.team_id is not distinct from i.team_id and (i.sessions is null or s.id = any (i.sessions))), '{}')`
           : `'{}'::uuid[]`} as sessions
    from ops.worker_token_identity($1) i
    left join ops.workers w on w.id = $2`;

async function scopeOf(query: Query, token: string, workerId: string | null, withSessions = false): Promise<TokenScope> {
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await query(identitySql(withSessions), [token, workerId]);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'not_authorized') throw revoked();
    throw e;
  }
  const row = rows[0];
  if (!row) throw revoked();
  return { tokenId: String(row.token_id), sessions: (row.sessions as string[] | null) ?? [], boundTo: (row.bound_to as string | null) ?? null };
}

const revoked = () =>
  new ApiError('not_authenticated', 'the worker token is unknown or revoked; create a new one with `ocr token create --name NAME` and give it to the worker (OCR_WORKER_TOKEN)', {
    'www-authenticate': 'Bearer error="invalid_token"',
  });

/** The token is valid, and the worker the call names registered with it. */
async function workerScope(query: Query, token: string, worker: S.WorkerRef, withSessions = false): Promise<TokenScope> {
  const scope = await scopeOf(query, token, worker.id, withSessions);
  if (scope.boundTo !== scope.tokenId) {
    throw new ApiError('not_authorized', `worker ${worker.id} was not registered with this worker token; register it first`);
  }
  return scope;
}

const leaseParams = (b: { worker: S.WorkerRef; run_id: string; attempt: number }) => [b.run_id, b.worker.id, b.worker.registration, b.attempt];

type Handler = (db: Db, token: string, body: unknown, request: Request) => Promise<Response>;

const handlers: Record<string, { limit: keyof Limits; handle: Handler }> = {
  register: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.Register, body);
      // ops.register_token_worker binds the worker to the token: it claims only the token's sessions, and a worker id
      // of another team or of a login role is refused.
      const rows = await db.query<{ token: string }>('select ops.register_token_worker($1, $2, $3, $4, $5, $6::jsonb, $7) as token', [
        token, b.id, b.host, b.pid, b.concurrency, JSON.stringify(b.labels), b.version ?? null,
      ]).catch((e: unknown) => {
        if (e instanceof ApiError && e.code === 'not_authorized' && /worker token: unknown or revoked/.test(e.message)) throw revoked();
        throw e;
      });
      const registration = rows[0]!.token;
      return ok({ worker: { id: b.id, registration } });
    },
  },

  state: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.SetState, body);
      await workerScope(db.query, token, b.worker);
      await db.query('select ops.set_worker_state($1, $2, $3)', [b.worker.id, b.worker.registration, b.state]);
      return ok();
    },
  },

  claim: {
    limit: 'bulkBytes',
    async handle(db, token, body) {
      const b = S.parse(S.Claim, body);
      await workerScope(db.query, token, b.worker);
      // the database narrows the sessions asked for to those of the worker's token
      const f = b.filter;
      const filter = [f.lanes ?? null, f.sessions ?? null, f.repo_ids ?? null, f.lease_seconds];
      if (b.ends.length === 0) {
        if (b.max === 0) return ok({ runs: [] });
        const runs = await db.query('select * from ops.claim_runs($1, $2, $3, $4, $5, $6, $7)', [b.worker.id, b.worker.registration, b.max, ...filter]);
        return ok({ runs });
      }
      const runs = await db.query('select * from ops.finish_and_claim($1, $2, $3::jsonb, $4, $5, $6, $7, $8)', [
        b.worker.id, b.worker.registration, JSON.stringify(b.ends), b.max, ...filter,
      ]);
      return ok({ runs });
    },
  },

  heartbeat: {
    limit: 'bulkBytes',
    async handle(db, token, body) {
      const b = S.parse(S.Heartbeat, body);
      await workerScope(db.query, token, b.worker);
      const rows = await db.query<{ run_id: string; outcome: string }>('select * from ops.heartbeat($1, $2, $3::uuid[], $4)', [
        b.worker.id, b.worker.registration, b.run_ids, b.lease_seconds,
      ]);
      return ok({ outcomes: Object.fromEntries(rows.map((r) => [r.run_id, r.outcome])) });
    },
  },

  events: {
    limit: 'bulkBytes',
    async handle(db, token, body) {
      const b = S.parse(S.AppendEvents, body);
      await workerScope(db.query, token, b.worker);
      const rows = await db.query<{ last: number }>('select ops.append_events($1, $2, $3, $4, $5::jsonb, $6) as last', [
        ...leaseParams(b), JSON.stringify(b.events), b.after_seq,
      ]);
      return ok({ last_seq: Number(rows[0]!.last) });
    },
  },

  artifacts: {
    limit: 'bulkBytes',
    async handle(db, token, body) {
      const b = S.parse(S.PutArtifact, body);
      await workerScope(db.query, token, b.worker);
      const rows = await db.query('select * from ops.put_artifact($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)', [
        ...leaseParams(b), b.kind, b.name, b.mime, b.content, JSON.stringify(b.meta),
      ]);
      return ok({ artifact: rows[0] });
    },
  },

  ports: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.LanePortsRequest, body);
      await workerScope(db.query, token, b.worker);
      const rows = await db.query('select * from ops.lease_lane_ports($1, $2, $3, $4, $5)', [...leaseParams(b), b.count]);
      return ok({ ports: rows[0] });
    },
  },

  agent: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.RecordAgent, body);
      await workerScope(db.query, token, b.worker);
      await db.query('select ops.record_agent($1, $2, $3, $4, $5::jsonb)', [...leaseParams(b), JSON.stringify(b.agent)]);
      return ok();
    },
  },

  'steps/plan': {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.PlanSteps, body);
      await workerScope(db.query, token, b.worker);
      const steps = await db.query('select * from ops.plan_steps($1, $2, $3, $4, $5::jsonb)', [...leaseParams(b), JSON.stringify(b.steps)]);
      return ok({ steps });
    },
  },

  'steps/move': {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.MoveStep, body);
      await workerScope(db.query, token, b.worker);
      const rows = await db.query('select * from ops.move_step($1, $2, $3, $4, $5, $6, $7, $8)', [...leaseParams(b), b.idx, b.status, b.exit_code, b.error]);
      return ok({ step: rows[0] });
    },
  },

  park: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.ParkRun, body);
      await workerScope(db.query, token, b.worker);
      const rows = await db.query('select * from ops.park_run($1, $2, $3, $4, $5, $6::jsonb)', [...leaseParams(b), b.idx, JSON.stringify(b.approval)]);
      return ok({ run: rows[0] });
    },
  },

  requeue: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.RequeueRun, body);
      await workerScope(db.query, token, b.worker);
      const rows = await db.query('select * from ops.requeue_run($1, $2, $3, $4, $5, $6)', [...leaseParams(b), b.after_seconds, b.error]);
      return ok({ run: rows[0] });
    },
  },

  release: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.ReleaseRun, body);
      await workerScope(db.query, token, b.worker);
      const rows = await db.query('select * from ops.release_run($1, $2, $3, $4)', leaseParams(b));
      return ok({ run: rows[0] });
    },
  },

  recover: {
    limit: 'bodyBytes',
    async handle(db, token) {
      await scopeOf(db.query, token, null);
      const rows = await db.query<{ run_id: string; outcome: string }>('select * from ops.recover_expired()');
      await db.query('select ops.release_due_runs()');
      return ok({ recovered: rows });
    },
  },

  wake: {
    limit: 'bodyBytes',
    async handle(db, token) {
      await scopeOf(db.query, token, null);
      await db.query(`select pg_notify('ops_queue', '')`);
      return ok();
    },
  },

  wait: {
    limit: 'bodyBytes',
    async handle(db, token, body, request) {
      const b = S.parse(S.Wait, body);
      const scope = await workerScope(db.query, token, b.worker, true);
      const answer = await waitForChange(db, b, scope.sessions, request.signal);
      return ok(answer);
    },
  },

  // reads a worker's runs need, within the token's sessions

  sessions: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.WorkerReads.sessions, body);
      const scope = await workerScope(db.query, token, b.worker, true);
      const sessions = await db.query(`select * from ops.sessions where id = any ($1::uuid[]) and ($2 or status = 'active') order by created_at desc`, [scope.sessions, b.include_archived]);
      return ok({ sessions });
    },
  },

  session: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.WorkerReads.session, body);
      const scope = await workerScope(db.query, token, b.worker, true);
      const rows = await db.query('select * from ops.sessions where id = $1 and id = any ($2::uuid[])', [b.id, scope.sessions]);
      if (!rows[0]) throw new ApiError('not_found', `session ${b.id} does not exist`);
      return ok({ session: rows[0] });
    },
  },

  runs: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.WorkerReads.runs, body);
      const scope = await workerScope(db.query, token, b.worker, true);
      const runs = await db.query(
        `select * from ops.runs
          where session_id = any ($1::uuid[]) and ($2::uuid is null or session_id = $2) and ($3::text is null or lane = $3)
            and ($4::text[] is null or status = any ($4)) and ($5::uuid is null or group_id = $5)
          order by seq desc limit $6`,
        [scope.sessions, b.session_id ?? null, b.lane ?? null, b.status ?? null, b.group_id ?? null, b.limit],
      );
      return ok({ runs });
    },
  },

  steps: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.WorkerReads.steps, body);
      const scope = await workerScope(db.query, token, b.worker, true);
      const steps = await db.query(
        `select st.* from ops.run_steps st join ops.runs r on r.id = st.run_id
          where st.run_id = $1 and r.session_id = any ($2::uuid[]) order by st.idx`,
        [b.run_id, scope.sessions],
      );
      return ok({ steps });
    },
  },

  template: {
    limit: 'bodyBytes',
    async handle(db, token, body) {
      const b = S.parse(S.WorkerReads.template, body);
      const scope = await workerScope(db.query, token, b.worker, true);
      // a runbook version is the worker's to read when a run it may claim was queued with it
      const rows = await db.query(
        `select t.* from ops.templates t
          where t.id = $1 and exists (select 1 from ops.runs r
                                       where r.session_id = any ($2::uuid[]) and r.spec ->> 'template_id' = t.id::text)`,
        [b.id, scope.sessions],
      );
      if (!rows[0]) throw new ApiError('not_found', `runbook version ${b.id} does not exist`);
      return ok({ template: rows[0] });
    },
  },
};

export const workerRouteNames = Object.keys(handlers);

export async function handleWorkerRoute(db: Db, limits: Limits, name: string, request: Request): Promise<Response> {
  const route = handlers[name];
  if (!route) throw new ApiError('not_found', `no worker route ${name}; the routes are ${workerRouteNames.join(', ')}`);
  if (request.method !== 'POST') throw new ApiError('method_not_allowed', `worker routes take POST, not ${request.method}`, { allow: 'POST' });
  const token = workerToken(request);
  const body = await readJson(request, limits[route.limit]);
  return route.handle(db, token, body, request);
}

/** How often a waiting worker's question is asked of the database. */
export const WAIT_POLL_MS = 300;

/**
 * Answers once the queue of the worker's sessions, or the sessions themselves, look different from what the worker
 * saw last (`since`), or a run it holds was asked to stop, or the time is up. The database is asked every
 * WAIT_POLL_MS; a notification would need a connection of its own per waiting worker.
 */
async function waitForChange(db: Db, b: { worker: S.WorkerRef; since: string | null; timeout_ms: number }, sessions: string[], signal: AbortSignal) {
  const deadline = Date.now() + b.timeout_ms;
  for (;;) {
    const rows = await db.query<{ mark: string; cancels: string[] }>(
      `select (select count(*) || ':' || coalesce(max(r.seq), 0) || ':' || coalesce(max(r.updated_at)::text, '')
                 from ops.runs r where r.status = 'queued' and r.session_id = any ($1::uuid[]))
              || '/' || (select count(*) || ':' || coalesce(max(s.created_at)::text, '') || ':' || count(*) filter (where s.status = 'active')
                 from ops.sessions s where s.id = any ($1::uuid[])) as mark,
              coalesce((select array_agg(r.id::text) from ops.runs r
                         where r.claimed_by = $2 and r.status = 'running' and r.cancel_requested_at is not null), '{}') as cancels`,
      [sessions, b.worker.id],
    );
    const { mark, cancels } = rows[0]!;
    const [queue, sessionsMark] = mark.split('/');
    const [sinceQueue, sinceSessions, sinceCancels] = (b.since ?? '').split('|');
    const cancelKey = [...cancels].sort().join(',');
    const changed = b.since === null || queue !== sinceQueue || sessionsMark !== sinceSessions || cancelKey !== (sinceCancels ?? '');
    if (changed || Date.now() + WAIT_POLL_MS > deadline || signal.aborted) {
      return {
        since: `${queue}|${sessionsMark}|${cancelKey}`,
        queue_changed: b.since !== null && queue !== sinceQueue,
        sessions_changed: b.since !== null && sessionsMark !== sinceSessions,
        cancels,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}
