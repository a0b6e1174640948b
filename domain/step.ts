// A step of a runbook run: one row of ops.run_steps.
import { z } from 'zod';

export const stepStatuses = ['queued', 'running', 'succeeded', 'failed', 'canceled', 'skipped'] as const;
export const StepStatus = z.enum(stepStatuses);
export type StepStatus = z.infer<typeof StepStatus>;

export const StepKind = z.enum(['shell', 'agent', 'approval']);
export type StepKind = z.infer<typeof StepKind>;
