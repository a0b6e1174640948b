// The shapes of what the store returns, parsed with zod at the database boundary. Field names are the database's.
import { z } from 'zod';

export const runStatuses = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export const RunStatus = z.enum(runStatuses);
export type RunStatus = z.infer<typeof RunStatus>;
export const finalStatuses: readonly RunStatus[] = ['succeeded', 'failed', 'canceled'];
export const isFinal = (s: RunStatus): boolean => finalStatuses.includes(s);

export const Executor = z.enum(['shell', 'agent', 'runbook']);
export type Executor = z.infer<typeof Executor>;

const timestamp = z.string();

export const Session = z.object({
  id: z.string().uuid(),
  title: z.string(),
  intent: z.string(),
  status: z.enum(['active', 'archived']),
  lanes: z.array(z.string()),
  repo_id: z.string().nullable(),
  repo_url: z.string().nullable(),
  repo_path: z.string().nullable(),
  base_ref: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: timestamp,
  archived_at: timestamp.nullable(),
});
export type Session = z.infer<typeof Session>;

export const Run = z.object({
  id: z.string().uuid(),
  seq: z.number().int(),
  session_id: z.string().uuid(),
  lane: z.string(),
  intent: z.string(),
  executor: Executor,
  spec: z.record(z.string(), z.unknown()),
  priority: z.number().int(),
  status: RunStatus,
  attempt: z.number().int(),
  max_attempts: z.number().int(),
  claimed_by: z.string().nullable(),
  claimed_at: timestamp.nullable(),
  heartbeat_at: timestamp.nullable(),
  lease_expires_at: timestamp.nullable(),
  cancel_requested_at: timestamp.nullable(),
  created_at: timestamp,
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
  exit_code: z.number().int().nullable(),
  error: z.string().nullable(),
  retry_of: z.string().uuid().nullable(),
  updated_at: timestamp,
});
export type Run = z.infer<typeof Run>;

export const EventStream = z.enum(['stdout', 'stderr', 'system']);
export type EventStream = z.infer<typeof EventStream>;
export const EventLevel = z.enum(['debug', 'info', 'warn', 'error']);
export type EventLevel = z.infer<typeof EventLevel>;

export const RunEvent = z.object({
  run_id: z.string().uuid(),
  seq: z.number().int(),
  ts: timestamp,
  stream: EventStream,
  level: EventLevel,
  text: z.string(),
  data: z.unknown().nullable(),
});
export type RunEvent = z.infer<typeof RunEvent>;

/** What a worker appends; seq and run come from the database. */
export const NewEvent = z.object({
  stream: EventStream,
  text: z.string(),
  level: EventLevel.optional(),
  data: z.unknown().optional(),
  ts: z.string().optional(),
});
export type NewEvent = z.infer<typeof NewEvent>;

export const ArtifactKind = z.enum(['diff', 'file', 'link', 'log', 'manifest']);
export type ArtifactKind = z.infer<typeof ArtifactKind>;

export const Artifact = z.object({
  id: z.string().uuid(),
  run_id: z.string().uuid(),
  kind: ArtifactKind,
  name: z.string(),
  mime: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  content: z.string().nullable(),
  meta: z.record(z.string(), z.unknown()),
  created_at: timestamp,
});
export type Artifact = z.infer<typeof Artifact>;

export const WorkerRow = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int().nullable(),
  concurrency: z.number().int(),
  labels: z.record(z.string(), z.unknown()),
  version: z.string().nullable(),
  state: z.enum(['running', 'draining', 'stopped']),
  started_at: timestamp,
  last_heartbeat: timestamp,
});
export type WorkerRow = z.infer<typeof WorkerRow>;

export const laneName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,16}$/, 'a lane name is 1 to 16 letters, digits, "-" or "_"');

export const NewSession = z.object({
  title: z.string().trim().min(1, 'a session needs a title').max(200),
  intent: z.string().default(''),
  lanes: z.array(laneName).min(1).max(26).optional(),
  repo_id: z.string().nullable().optional(),
  repo_url: z.string().nullable().optional(),
  repo_path: z.string().nullable().optional(),
  base_ref: z.string().nullable().optional(),
  created_by: z.string().nullable().optional(),
});
export type NewSession = z.input<typeof NewSession>;

export const NewRun = z.object({
  session_id: z.string().uuid('session must be a session id'),
  lane: z.string().min(1, 'a run needs a lane'),
  intent: z.string().trim().min(1, 'a run needs an intent'),
  executor: Executor.default('shell'),
  spec: z.record(z.string(), z.unknown()).default({}),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(100),
  max_attempts: z.number().int().min(1).max(100).default(3),
});
export type NewRun = z.input<typeof NewRun>;

/** The worker's claim on a run: every write of the worker names it, and is refused once it is gone. */
export interface Lease {
  runId: string;
  workerId: string;
  attempt: number;
}

export interface ClaimFilter {
  lanes?: string[];
  sessions?: string[];
  repoIds?: string[];
  leaseSeconds?: number;
}

export type HeartbeatOutcome = 'held' | 'cancel' | 'lost';
export type CancelOutcome = 'canceled' | 'cancel_requested' | 'already_finished';
export type RecoverOutcome = 'requeued' | 'failed' | 'canceled';

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  labels: Record<string, unknown>;
  version?: string;
}
