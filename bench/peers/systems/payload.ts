// What a queued job carries, parsed back from whatever the system stored it as.
import { z } from 'zod';
import type { Work } from './types';

export const WorkSchema: z.ZodType<Work> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('noop') }),
  z.object({ kind: z.literal('sleep'), ms: z.number().nonnegative() }),
  z.object({ kind: z.literal('hold'), maxMs: z.number().positive() }),
]);

export const Payload = z.object({ key: z.number().int().nonnegative(), work: WorkSchema });
export type Payload = z.infer<typeof Payload>;
