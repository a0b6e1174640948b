// A step of a runbook run: one row of ops.run_steps.
import { z } from 'zod';

export const stepStatuses = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled', 'skipped'] as const;
export const StepStatus = z.enum(stepStatuses);
export type StepStatus = z.infer<typeof StepStatus>;

export const StepKind = z.enum(['shell', 'agent', 'approval']);
export type StepKind = z.infer<typeof StepKind>;

/** A row of ops.run_steps: one step of a runbook run's plan, with its state. */
export const RunStep = z.object({
  run_id: z.string().uuid(),
  idx: z.number().int(),
  step_id: z.string(),
  title: z.string(),
  kind: StepKind,
  status: StepStatus,
  /** tries of this step: a retry policy, or a run resumed after its worker was lost, tries it again */
  tries: z.number().int(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type RunStep = z.infer<typeof RunStep>;
