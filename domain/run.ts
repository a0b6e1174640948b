// A run: one task in one lane of a session, from queued to its end. The statuses, their order and what a new run
// gets by default are the queue's own words; the database's CHECK constraints spell the same lists.
import { z } from 'zod';
import { RunAgent } from './agent';
import { atMostCharacters, laneName, storable, storableJson } from './session';

/** `waiting`: a runbook run parked at an approval gate, without a lease; its lane stays reserved for it. */
export const runStatuses = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled'] as const;
export const RunStatus = z.enum(runStatuses);
export type RunStatus = z.infer<typeof RunStatus>;

export const finalStatuses = ['succeeded', 'failed', 'canceled'] as const;
export const FinalStatus = z.enum(finalStatuses);
export type FinalStatus = z.infer<typeof FinalStatus>;
/** A run in a final status never changes again (a retry is a new run). */
export const isFinal = (status: RunStatus): status is FinalStatus => (finalStatuses as readonly string[]).includes(status);

export const executors = ['shell', 'agent', 'runbook'] as const;
export const Executor = z.enum(executors);
export type Executor = z.infer<typeof Executor>;

/** Lower runs first. A new run gets the default; "run first" (Ctrl/Cmd+Enter, --priority) gets the high one. */
export const defaultPriority = 100;
export const highPriority = 10;
export const defaultMaxAttempts = 3;

export const CancelOutcome = z.enum(['canceled', 'cancel_requested', 'already_finished']);
export type CancelOutcome = z.infer<typeof CancelOutcome>;

const timestamp = z.string();

/** A row of ops.runs; field names are the database's. */
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
  /** not claimable before this (a run backing off before its next attempt) */
  run_after: timestamp.nullable().default(null),
  /** the gate a waiting run stands at, and how it was decided */
  approval: z
    .object({
      step: z.number().int(),
      step_id: z.string(),
      message: z.string().nullable(),
      approvers: z.array(z.string()).default([]),
      requested_at: timestamp,
      decision: z.enum(['approved', 'rejected']).optional(),
      decided_by: z.string().optional(),
      decided_at: timestamp.optional(),
      reason: z.string().nullable().optional(),
    })
    .nullable()
    .default(null),
  /** a coding-agent run's conversation as its worker read it (session id, tokens, cost, needs input); null otherwise */
  agent: RunAgent.nullable().default(null).catch(null),
  /** the comparison group of an attempt (one intent tried in several lanes) or of its verify run; null otherwise */
  group_id: z.string().uuid().nullable().default(null),
});
export type Run = z.infer<typeof Run>;

/** What a new run needs; everything else has a default. */
export const NewRun = z.object({
  session_id: z.string().uuid('session must be a session id'),
  lane: laneName,
  intent: z.string().trim().min(1, 'a run needs an intent').superRefine(storable),
  executor: Executor.default('shell'),
  spec: z.record(z.string(), z.unknown()).superRefine(storableJson).default({}),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(defaultPriority),
  max_attempts: z.number().int().min(1).max(100).default(defaultMaxAttempts),
});
export type NewRun = z.input<typeof NewRun>;

/** "canceling" while a cancel is on its way, "queued (attempt 2 of 3)" for a run that is waiting to be tried again. */
export function statusLabel(run: Pick<Run, 'status' | 'cancel_requested_at' | 'attempt' | 'max_attempts'>): string {
  if (run.status === 'running' && run.cancel_requested_at) return 'canceling';
  if (run.status === 'queued' && run.attempt > 0) return `queued (attempt ${run.attempt + 1} of ${run.max_attempts})`;
  return run.status;
}

/** An agent profile's name: letters, digits, ".", "-" or "_" (never a name an object already has, such as "constructor"). */
export const agentProfileName = z
  .string()
  .regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'a profile name is 1 to 64 letters, digits, ".", "-" or "_"');

/**
 * How a lane run is carried out: the intent through the shell, or as the prompt of a coding-agent profile (the
 * worker's default agent when it names none).
 */
export const ExecutorChoice = z.discriminatedUnion('executor', [
  z.object({ executor: z.literal('shell') }),
  z.object({ executor: z.literal('agent'), profile: agentProfileName.optional() }),
]);
export type ExecutorChoice = z.infer<typeof ExecutorChoice>;

/** A choice in an executor picker (the palette's, a lane's on the Runboard): the shell, or one agent profile. */
export const ExecutorOption = z.object({
  /** unique among the options, such as 'shell' or 'agent:claude' */
  id: z.string().min(1),
  label: z.string().min(1),
  run_with: ExecutorChoice,
});
export type ExecutorOption = z.infer<typeof ExecutorOption>;

// A model or a tool name becomes one argv element of the agent's: one starting with "-" would read as an option.
const agentOptionText = (what: string) =>
  z.string().trim().min(1, `give ${what}`).max(300, `${what} is at most 300 characters`).refine((v) => !v.startsWith('-'), { message: `${what} cannot start with "-"` });

const agentOnlyFields = ['follow_up', 'model', 'allowed_tools', 'max_cost_usd', 'session_max_cost_usd', 'lane_max_cost_usd'] as const;

/**
 * A person's (or a tool's) request to run something in a lane: the one shape the palette, the tree, the Runboard, the
 * CLI and the tools for other agents send to queueLaneRun.
 */
const usd = z.number().positive('an amount in US dollars above 0, such as 2.50').max(100_000, 'at most 100,000 US dollars');

export const LaneRunRequest = z.object({
  session_id: z.string().uuid('give the id of a session'),
  lane: laneName,
  intent: z
    .string()
    .trim()
    .min(1, 'a run needs an intent')
    .superRefine(atMostCharacters(100_000, 'an intent is at most 100,000 characters'))
    .superRefine(storable),
  run_with: ExecutorChoice.default({ executor: 'shell' }),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(defaultPriority),
  /** stop the run after this long; the worker's default (an hour) when absent */
  timeout_seconds: z.number().int().min(1).max(30 * 24 * 3600).optional(),
  /**
   * an agent run: continue the lane's last conversation with the same profile (resume its agent session), or start a
   * new one when there is none
   */
  follow_up: z.boolean().optional(),
  /** an agent run: the model, in the CLI's own naming */
  model: agentOptionText('a model name').optional(),
  /** an agent run: tools it may use without asking, in the CLI's own naming (such as "Bash(npm test)") */
  allowed_tools: z.array(agentOptionText('a tool name')).max(100, 'at most 100 allowed tools').optional(),
  /** an agent run: stop it once it has cost this much, in US dollars */
  max_cost_usd: usd.optional(),
  /**
   * an agent run: what the agent runs of the session, and of the lane, may cost in all. The run is refused when it is
   * spent already, and may cost at most what is left (its own limit is lowered to that).
   */
  session_max_cost_usd: usd.optional(),
  lane_max_cost_usd: usd.optional(),
}).superRefine((request, ctx) => {
  if (request.run_with.executor === 'agent') return;
  for (const field of agentOnlyFields) {
    if (field === 'follow_up' ? request.follow_up === true : request[field] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [field], message: `${field} applies to a coding-agent run: run it with an agent (run_with.executor "agent"), or leave ${field} out` });
      return;
    }
  }
});
export type LaneRunRequest = z.input<typeof LaneRunRequest>;

/**
 * The run whose agent conversation a follow-up in its lane continues: the newest of `runs` (one lane's, any order)
 * whose agent recorded its session id.
 */
export function lastConversation<R extends Pick<Run, 'seq' | 'agent'>>(runs: Iterable<R>): R | undefined {
  let last: R | undefined;
  for (const run of runs) if (run.agent?.sessionId && (!last || run.seq > last.seq)) last = run;
  return last;
}
