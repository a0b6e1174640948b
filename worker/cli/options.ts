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

// A model or a tool name is one argv element of the agent's: one starting with "-" would read as an option of its own.
const agentWord = z.string().trim().min(1).max(300).refine((v) => !v.startsWith('-'));

export const modelOption = parseWith(agentWord, '--model', "give the model's name in the agent CLI's naming, such as sonnet (not starting with \"-\")");

/** Repeatable: each --allow-tool adds one tool. */
export function allowToolOption(value: string, previous: string[] = []): string[] {
  const tool = parseWith(agentWord, '--allow-tool', 'give a tool name in the agent CLI\'s naming, such as Edit or "Bash(npm test)" (not starting with "-")')(value);
  if (previous.length >= 100) throw new InvalidArgumentError('--allow-tool: at most 100 tools');
  return [...previous, tool];
}

const usdText = z.string().trim().regex(/^\d+(\.\d+)?$/).transform(Number).pipe(z.number().positive().max(100_000));
const usdHint = 'give an amount in US dollars above 0, such as 2.00';
export const maxCostOption = parseWith(usdText, '--max-cost', usdHint);
export const sessionMaxCostOption = parseWith(usdText, '--session-max-cost', usdHint);
export const laneMaxCostOption = parseWith(usdText, '--lane-max-cost', usdHint);
