// What the harness and its child processes (one producer, N workers per run) say to each other over IPC.
import { z } from 'zod';
import { systemNames } from './config';
import { WorkSchema } from './systems/payload';
import type { CallStat } from './systems/types';

export const ChildConfig = z.object({
  role: z.enum(['producer', 'worker']),
  system: z.enum(systemNames),
  /** folder the peer is resolved from; absent for the project's own dependencies */
  peerBase: z.string().optional(),
  url: z.string().min(1),
  workerId: z.string().min(1),
  concurrency: z.number().int().min(1),
  profile: z.enum(['default', 'tuned']),
  leaseSeconds: z.number().int().min(1).nullable(),
  plan: z.object({ lanes: z.number().int().min(1), exclusive: z.boolean(), cancellable: z.boolean() }),
});
export type ChildConfig = z.infer<typeof ChildConfig>;

export const JobMessage = z.object({ key: z.number().int(), lane: z.number().int(), work: WorkSchema });

/** Requests the harness sends the producer. */
export const ProducerRequest = z.discriminatedUnion('op', [
  z.object({ op: z.literal('prepare'), id: z.number() }),
  z.object({ op: z.literal('enqueue'), id: z.number(), jobs: z.array(JobMessage) }),
  z.object({ op: z.literal('enqueueOne'), id: z.number(), job: JobMessage }),
  z.object({ op: z.literal('cancel'), id: z.number(), key: z.number().int() }),
  z.object({ op: z.literal('unfinished'), id: z.number() }),
]);
export type ProducerRequest = z.infer<typeof ProducerRequest>;

/**
 * One start or end of a run, as its handler saw it: [kind, key, time]. Time is process.hrtime in ms, a monotonic clock
 * that all processes of one machine share, so starts and ends from different workers order correctly.
 */
export type RunEvent = [kind: 's' | 'e' | 'c', key: number, at: number];

export type ChildMessage =
  | { t: 'ready'; version: string; node: string }
  | { t: 'started' }
  | { t: 'events'; events: RunEvent[] }
  | { t: 'reply'; id: number; ok: true; value: unknown; at: number }
  | { t: 'reply'; id: number; ok: false; error: string }
  | { t: 'fatal'; error: string }
  | { t: 'stats'; stats: CallStat[] };

export type ParentMessage = { t: 'go' } | { t: 'stop' } | { t: 'stats' } | ({ t: 'req' } & ProducerRequest);

/** The shared clock: milliseconds, sub-microsecond precision. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;
