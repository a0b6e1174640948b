// A worker: a process with slots that claims runs and holds each by a lease it renews.
import { z } from 'zod';

/** How long a run stays held by a worker that stopped answering, before another may take it over. */
export const defaultLeaseSeconds = 30;
export const defaultConcurrency = 4;

export const WorkerState = z.enum(['running', 'draining', 'stopped']);
export type WorkerState = z.infer<typeof WorkerState>;

/** A row of ops.workers. */
export const WorkerRow = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int().nullable(),
  concurrency: z.number().int(),
  labels: z.record(z.string(), z.unknown()),
  version: z.string().nullable(),
  state: WorkerState,
  started_at: z.string(),
  last_heartbeat: z.string(),
});
export type WorkerRow = z.infer<typeof WorkerRow>;
