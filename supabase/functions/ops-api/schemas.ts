// Every body the function takes, checked before the database sees it. Names are the database's (snake_case); the SQL
// functions check the rest (a lane the session has, a lease the worker holds, a step's transition).
import { z } from 'zod';
import { ApiError } from './http.ts';

const uuid = (what: string) => z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, `${what} must be a uuid`);
const text = (max: number) => z.string().max(max, `at most ${max} characters`);
const json = z.record(z.string(), z.unknown());
const lane = z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'a lane is 1 to 16 letters, digits, "-" or "_"');
const leaseSeconds = z.number().int().min(2).max(3600);

/** The worker a call comes from: its id and the registration secret `register` answered (kept in its memory only). */
export const WorkerRef = z.object({ id: text(200).min(1), registration: z.string().min(16).max(200) });
export type WorkerRef = z.infer<typeof WorkerRef>;

const leased = { worker: WorkerRef, run_id: uuid('run_id'), attempt: z.number().int().min(1) };

export const Register = z.object({
  id: text(200).trim().min(1, 'a worker id is 1 to 200 characters'),
  host: text(255),
  pid: z.number().int().min(0),
  concurrency: z.number().int().min(1).max(256),
  labels: json.default({}),
  version: text(100).nullable().optional(),
});

export const SetState = z.object({ worker: WorkerRef, state: z.enum(['running', 'draining', 'stopped']) });

export const RunEnding = z.object({
  run_id: uuid('run_id'),
  attempt: z.number().int().min(1),
  status: z.enum(['succeeded', 'failed', 'canceled']),
  exit_code: z.number().int().nullable().default(null),
  error: z.string().max(100_000).nullable().default(null),
});

export const ClaimFilter = z.object({
  lanes: z.array(lane).max(64).nullable().optional(),
  sessions: z.array(uuid('a session')).max(10_000).nullable().optional(),
  repo_ids: z.array(text(500)).max(1000).nullable().optional(),
  lease_seconds: leaseSeconds.default(30),
});
export type ClaimFilter = z.infer<typeof ClaimFilter>;

export const Claim = z.object({
  worker: WorkerRef,
  ends: z.array(RunEnding).max(10_000).default([]),
  max: z.number().int().min(0).max(10_000),
  filter: ClaimFilter.default({ lease_seconds: 30 }),
});

export const Heartbeat = z.object({ worker: WorkerRef, run_ids: z.array(uuid('a run id')).max(10_000), lease_seconds: leaseSeconds.default(30) });

export const NewEvent = z.object({
  stream: z.enum(['stdout', 'stderr', 'system']),
  text: z.string(),
  level: z.enum(['debug', 'info', 'warn', 'error', 'success']).optional(),
  data: z.unknown().optional(),
  ts: z.string().max(64).optional(),
  step: text(200).optional(),
});

export const AppendEvents = z.object({
  ...leased,
  events: z.array(NewEvent).max(50_000),
  after_seq: z.number().int().min(0).nullable().default(null),
});

export const PutArtifact = z.object({
  ...leased,
  kind: z.enum(['diff', 'file', 'link', 'log', 'manifest']),
  name: text(500).min(1),
  mime: text(200).default('text/plain'),
  content: z.string(),
  meta: json.default({}),
});

export const LanePortsRequest = z.object({ ...leased, count: z.number().int().min(1).max(1000).default(10) });
export const RecordAgent = z.object({ ...leased, agent: json });
export const PlanSteps = z.object({
  ...leased,
  steps: z.array(z.object({ step_id: text(200).min(1), title: text(1000), kind: text(50) })).max(1000),
});
export const MoveStep = z.object({
  ...leased,
  idx: z.number().int().min(0),
  status: z.enum(['running', 'succeeded', 'failed', 'canceled', 'skipped']),
  exit_code: z.number().int().nullable().default(null),
  error: z.string().max(100_000).nullable().default(null),
});
export const ParkRun = z.object({
  ...leased,
  idx: z.number().int().min(0),
  approval: z.object({ message: text(10_000), approvers: z.array(text(200)).max(100).optional() }),
});
export const RequeueRun = z.object({ ...leased, after_seconds: z.number().min(0).max(86_400 * 30), error: text(100_000) });
export const ReleaseRun = z.object({ ...leased });

export const Wait = z.object({
  worker: WorkerRef,
  /** the database time of the last answer: runs queued since then wake the worker */
  since: z.string().max(20_000).nullable().default(null),
  timeout_ms: z.number().int().min(0).max(60_000).default(25_000),
});

export const WorkerReads = {
  sessions: z.object({ worker: WorkerRef, include_archived: z.boolean().default(false) }),
  session: z.object({ worker: WorkerRef, id: uuid('id') }),
  runs: z.object({
    worker: WorkerRef,
    session_id: uuid('session_id').nullable().optional(),
    lane: lane.nullable().optional(),
    status: z.array(z.enum(['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled'])).max(6).nullable().optional(),
    group_id: uuid('group_id').nullable().optional(),
    limit: z.number().int().min(1).max(10_000).default(1000),
  }),
  steps: z.object({ worker: WorkerRef, run_id: uuid('run_id') }),
  template: z.object({ worker: WorkerRef, id: uuid('id') }),
};

// editors ---------------------------------------------------------------------------------------------------------

export const NewSession = z.object({
  title: text(200).trim().min(1, 'a session needs a title'),
  intent: text(10_000).default(''),
  lanes: z.array(lane).min(1).max(16).optional(),
  repo_id: text(500).nullable().optional(),
  repo_url: text(2000).nullable().optional(),
  repo_path: text(4096).nullable().optional(),
  base_ref: text(500).nullable().optional(),
  /** the team the session belongs to, when the user is in more than one */
  team_id: uuid('team_id').nullable().optional(),
});

export const NewRun = z.object({
  session_id: uuid('session_id'),
  lane,
  intent: text(100_000).trim().min(1, 'a run needs an intent'),
  executor: z.enum(['shell', 'agent', 'runbook']).default('shell'),
  spec: json.default({}),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(100),
  max_attempts: z.number().int().min(1).max(100).default(3),
});

export const Note = z.object({ note: text(10_000).nullable().optional() });
export const Reason = z.object({ reason: text(10_000).nullable().optional() });

export const RunQuery = z.object({
  session: uuid('session').optional(),
  lane: lane.optional(),
  status: z.array(z.enum(['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled'])).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

/** `input` checked against `schema`, or a 400 naming the first wrong field and what it needs. */
export function parse<T extends z.ZodTypeAny>(schema: T, input: unknown, prefix = ''): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || 'body';
  throw new ApiError('invalid_input', `${field}: ${issue.message}`);
}
