// A run's log: append-only events, numbered per run from 1.
import { z } from 'zod';

export const EventStream = z.enum(['stdout', 'stderr', 'system']);
export type EventStream = z.infer<typeof EventStream>;
export const EventLevel = z.enum(['debug', 'info', 'warn', 'error', 'success']);
export type EventLevel = z.infer<typeof EventLevel>;

/** A row of ops.run_events. */
export const RunEvent = z.object({
  run_id: z.string().uuid(),
  seq: z.number().int(),
  ts: z.string(),
  stream: EventStream,
  level: EventLevel,
  text: z.string(),
  data: z.unknown().nullable(),
  /** the runbook step the line belongs to */
  step: z.string().nullable().default(null),
});
export type RunEvent = z.infer<typeof RunEvent>;

/** What a worker appends; seq and run come from the database. */
export const NewEvent = z.object({
  stream: EventStream,
  text: z.string(),
  level: EventLevel.optional(),
  data: z.unknown().optional(),
  ts: z.string().optional(),
  step: z.string().optional(),
});
export type NewEvent = z.infer<typeof NewEvent>;

/** A line longer than the worker's limit arrives in pieces; the pieces after the first say they continue it. */
export const isContinued = (event: Pick<RunEvent, 'data'>): boolean =>
  typeof event.data === 'object' && event.data !== null && (event.data as { continued?: unknown }).continued === true;
