// Flags are checked with zod so that a wrong value gets one line naming the flag and the fix.
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { agentProfileName, laneName } from '../../domain';

function parseWith<T>(schema: z.ZodType<T>, flag: string, fix: string) {
  return (value: string): T => {
    const r = schema.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(`${flag} ${JSON.stringify(value)}: ${fix}`);
    return r.data;
  };
}

export const intOption = (flag: string, min: number, max: number) =>
  parseWith(
    z.string().trim().regex(/^-?\d+$/).transform(Number).pipe(z.number().int().min(min).max(max)),
    flag,
    `give a whole number from ${min} to ${max}`,
  );

export const priorityOption = intOption('--priority', -1_000_000, 1_000_000);

export function lanesOption(value: string): string[] {
  const lanes = value.split(',').map((l) => l.trim()).filter(Boolean);
  const r = z.array(laneName).min(1).max(26).safeParse(lanes);
  if (!r.success || new Set(lanes).size !== lanes.length) {
    throw new InvalidArgumentError(`--lanes ${JSON.stringify(value)}: give 1 to 26 distinct lane names, such as A,B,C,D`);
  }
  return r.data;
}

export const agentOption = parseWith(agentProfileName, '--agent', 'give a profile name: 1 to 64 letters, digits, ".", "-" or "_", such as claude');
