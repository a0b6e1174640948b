// A runbook: a plan of steps a run follows (shell commands, coding-agent prompts, approval gates), with typed inputs,
// kept as a YAML file in the repository (.ocr/runbooks/<name>.yaml). This module is the file's schema and what can be
// decided from the file alone: inputs and their values, the `{{ inputs.key }}` placeholders, `if:` conditions. Inputs
// are data: they reach a step as OCR_INPUT_<KEY> variables, and as placeholders only where a value is one argument
// or a prompt — never spliced into shell text.
import { z } from 'zod';
import { laneName } from './session';

export const runbookKinds = ['deploy', 'healthcheck', 'spec', 'incident', 'schema_sync', 'custom'] as const;
export const runbookEnvs = ['dev', 'staging', 'prod'] as const;
export type RunbookEnv = (typeof runbookEnvs)[number];

const key = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a key is a lowercase letter, then up to 39 lowercase letters, digits or "_"');
const stepId = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'a step id is a lowercase letter, then up to 39 lowercase letters, digits, "-" or "_"');
const seconds = z.number().int().min(1).max(7 * 24 * 3600);

export const RunbookInput = z
  .strictObject({
    key,
    label: z.string().min(1).max(200).optional(),
    type: z.enum(['string', 'number', 'boolean', 'enum']).default('string'),
    /** the choices of an enum */
    values: z.array(z.string().min(1)).min(1).optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    required: z.boolean().default(false),
    /** never stored or logged in clear; masked in every log line */
    secret: z.boolean().default(false),
    description: z.string().max(2000).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.type === 'enum' && !input.values) ctx.addIssue({ code: 'custom', path: ['values'], message: 'an enum input needs its values' });
    if (input.type !== 'enum' && input.values) ctx.addIssue({ code: 'custom', path: ['values'], message: 'only an enum input has values' });
    if (input.default !== undefined) {
      const problem = valueProblem(input as RunbookInput, input.default);
      if (problem) ctx.addIssue({ code: 'custom', path: ['default'], message: problem });
    }
  });
export type RunbookInput = z.output<typeof RunbookInput>;

export const RetryPolicy = z.strictObject({
  max_attempts: z.number().int().min(1).max(20),
  backoff: z.enum(['exponential', 'fixed']).default('exponential'),
  initial_seconds: z.number().min(0).max(3600).default(2),
});
export type RetryPolicy = z.output<typeof RetryPolicy>;

const stepCommon = {
  id: stepId,
  title: z.string().min(1).max(200).optional(),
  /** more variables for the step; values may hold {{ inputs.key }} (they are data, not shell text) */
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name, such as NODE_ENV'), z.string()).optional(),
  timeout: seconds.optional(),
  retry: RetryPolicy.optional(),
  continue_on_error: z.boolean().default(false),
  /** run the step only when this holds: `inputs.key`, `!inputs.key`, `inputs.key == 'value'`, `env != 'prod'`… */
  if: z.string().min(1).optional(),
};

/** A step is exactly one of: a shell command or argv (`run`), a coding-agent prompt (`agent`), an approval gate. */
export const RunbookStep = z
  .strictObject({
    ...stepCommon,
    /** a shell command (inputs as $OCR_INPUT_<KEY>), or argv: a program and its arguments, each may be a placeholder */
    run: z.union([z.string().min(1), z.array(z.string()).min(1)]).optional(),
    agent: z
      .strictObject({ profile: z.string().regex(/^[A-Za-z0-9][\w.-]{0,63}$/, 'an agent profile name').optional(), prompt: z.string().min(1) })
      .optional(),
    approval: z.strictObject({ message: z.string().min(1), approvers: z.array(z.string().min(1)).optional() }).optional(),
  })
  .superRefine((step, ctx) => {
    const kinds = (['run', 'agent', 'approval'] as const).filter((k) => step[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: kinds.length === 0 ? 'a step needs one of run, agent or approval' : `a step has one of run, agent or approval, not ${kinds.join(' and ')}`,
      });
    }
  });
export type RunbookStep = z.output<typeof RunbookStep>;

export const RunbookPolicy = z.strictObject({
  /** the whole run, in seconds */
  timeout: seconds.optional(),
  /** a step that names none */
  step_timeout: seconds.optional(),
  /** attempts of the whole run (a failed run with attempts left is queued again, later) */
  max_attempts: z.number().int().min(1).max(20).default(1),
  /** whether two runs of this runbook may be queued or running in one session at once */
  concurrency: z.enum(['allow', 'forbid']).default('allow'),
});

export const Runbook = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a runbook name is lowercase letters, digits and "-"'),
    title: z.string().min(1).max(200),
    description: z.string().max(10_000).default(''),
    kind: z.enum(runbookKinds).default('custom'),
    /** where it acts: dev, staging or prod, or an input's value: `{{ inputs.env }}` */
    env: z.string().optional(),
    /** the lane a run takes when none is chosen */
    lane: laneName.optional(),
    inputs: z.array(RunbookInput).default([]),
    steps: z.array(RunbookStep).min(1, 'a runbook needs at least one step'),
    policy: RunbookPolicy.default({ max_attempts: 1, concurrency: 'allow' }),
  })
  .superRefine((runbook, ctx) => checkReferences(runbook, ctx));
export type Runbook = z.output<typeof Runbook>;

/** Which of run / agent / approval a step is. */
export function stepKind(step: RunbookStep): 'shell' | 'agent' | 'approval' {
  return step.run !== undefined ? 'shell' : step.agent !== undefined ? 'agent' : 'approval';
}

// ---- placeholders and conditions -------------------------------------------------------------------------------------

const placeholder = /\{\{\s*([^{}]*?)\s*\}\}/g;
const inputRef = /^inputs\.([a-z][a-z0-9_]*)$/;

/** The keys a text's placeholders name, or the first placeholder that names no input. */
function placeholders(text: string): { keys: string[]; bad?: string } {
  const keys: string[] = [];
  for (const m of text.matchAll(placeholder)) {
    const ref = inputRef.exec(m[1]!);
    if (!ref) return { keys, bad: m[0] };
    keys.push(ref[1]!);
  }
  return { keys };
}

const condition = /^(!?)\s*(inputs\.([a-z][a-z0-9_]*)|env)\s*(?:(==|!=)\s*'([^']*)')?$/;

function checkReferences(runbook: z.input<typeof Runbook> & { inputs: RunbookInput[]; steps: RunbookStep[] }, ctx: z.RefinementCtx): void {
  const known = new Set(runbook.inputs.map((i) => i.key));
  const seen = new Set<string>();
  runbook.inputs.forEach((input, i) => {
    if (seen.has(input.key)) ctx.addIssue({ code: 'custom', path: ['inputs', i, 'key'], message: `the input key "${input.key}" is used twice` });
    seen.add(input.key);
  });
  const check = (text: string, path: Array<string | number>, where: string) => {
    const { keys, bad } = placeholders(text);
    if (bad) ctx.addIssue({ code: 'custom', path, message: `${bad} is not a placeholder of an input: write {{ inputs.key }} (${where})` });
    for (const k of keys) if (!known.has(k)) ctx.addIssue({ code: 'custom', path, message: `{{ inputs.${k} }} names no input of this runbook` });
  };
  if (runbook.env !== undefined) {
    const envInput = /^\{\{\s*inputs\.([a-z][a-z0-9_]*)\s*\}\}$/.exec(runbook.env);
    if (!envInput && !(runbookEnvs as readonly string[]).includes(runbook.env)) {
      ctx.addIssue({ code: 'custom', path: ['env'], message: 'env is dev, staging or prod, or an input: {{ inputs.env }}' });
    } else if (envInput && !known.has(envInput[1]!)) {
      ctx.addIssue({ code: 'custom', path: ['env'], message: `{{ inputs.${envInput[1]} }} names no input of this runbook` });
    }
  }
  const ids = new Set<string>();
  runbook.steps.forEach((step, i) => {
    if (ids.has(step.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `the step id "${step.id}" is used twice` });
    ids.add(step.id);
    if (step.run !== undefined) {
      if (typeof step.run === 'string') {
        // other {{ }} (a Go template in a docker command, say) are the command's own business
        if (/\{\{\s*inputs\./.test(step.run)) {
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i, 'run'],
            message: 'a shell command cannot hold {{ }} placeholders: use "$OCR_INPUT_<KEY>", or write run as a list (program and arguments)',
          });
        }
      } else step.run.forEach((arg, j) => check(arg, ['steps', i, 'run', j], 'an argument'));
    }
    if (step.agent) check(step.agent.prompt, ['steps', i, 'agent', 'prompt'], 'a prompt');
    if (step.approval) check(step.approval.message, ['steps', i, 'approval', 'message'], 'a message');
    for (const [name, value] of Object.entries(step.env ?? {})) check(value, ['steps', i, 'env', name], 'a variable');
    if (step.if !== undefined) {
      const m = condition.exec(step.if.trim());
      if (!m) ctx.addIssue({ code: 'custom', path: ['steps', i, 'if'], message: "a condition is inputs.key, !inputs.key, inputs.key == 'value', inputs.key != 'value' or env == 'prod'" });
      else if (m[3] && !known.has(m[3])) ctx.addIssue({ code: 'custom', path: ['steps', i, 'if'], message: `inputs.${m[3]} names no input of this runbook` });
    }
  });
}

// ---- input values ----------------------------------------------------------------------------------------------------

export type InputValue = string | number | boolean;
export type InputValues = Record<string, InputValue>;

/** Why `value` does not fit `input`, or undefined when it does. */
export function valueProblem(input: Pick<RunbookInput, 'type' | 'values'>, value: unknown): string | undefined {
  switch (input.type) {
    case 'string':
      return typeof value === 'string' ? undefined : 'expected text';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : 'expected a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'expected true or false';
    case 'enum':
      return typeof value === 'string' && input.values?.includes(value) ? undefined : `expected one of ${(input.values ?? []).join(', ')}`;
  }
}

/** A value typed as text (a CLI `key=value`, a quick input) read as the input's type, or why it cannot be. */
export function readInputValue(input: Pick<RunbookInput, 'type' | 'values'>, text: string): { value: InputValue } | { problem: string } {
  switch (input.type) {
    case 'number': {
      const n = Number(text.trim());
      return text.trim() !== '' && Number.isFinite(n) ? { value: n } : { problem: 'expected a number' };
    }
    case 'boolean':
      if (/^(true|yes|1|on)$/i.test(text.trim())) return { value: true };
      if (/^(false|no|0|off)$/i.test(text.trim())) return { value: false };
      return { problem: 'expected true or false' };
    default: {
      const problem = valueProblem(input, text);
      return problem ? { problem } : { value: text };
    }
  }
}

export class InputProblem extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`inputs.${key}: ${message}`);
  }
}

/**
 * The values a run gets: those given, checked against their inputs, then defaults; a required input without either,
 * a value of the wrong type or an unknown key is an InputProblem naming the input.
 */
export function resolveInputs(runbook: Pick<Runbook, 'inputs' | 'name'>, given: Record<string, unknown>): InputValues {
  const byKey = new Map(runbook.inputs.map((i) => [i.key, i]));
  for (const k of Object.keys(given)) {
    if (!byKey.has(k)) throw new InputProblem(k, `runbook ${runbook.name} has no such input (its inputs: ${[...byKey.keys()].join(', ') || 'none'})`);
  }
  const values: InputValues = {};
  for (const input of runbook.inputs) {
    const value = Object.hasOwn(given, input.key) ? given[input.key] : input.default;
    if (value === undefined || value === '') {
      if (input.required) throw new InputProblem(input.key, `${input.label ?? input.key} is required`);
      continue;
    }
    const problem = valueProblem(input, value);
    if (problem) throw new InputProblem(input.key, problem);
    values[input.key] = value as InputValue;
  }
  return values;
}

/** The environment variable an input reaches a step through: OCR_INPUT_<KEY>. */
export const inputVariable = (inputKey: string): string => `OCR_INPUT_${inputKey.toUpperCase()}`;

/** Text with its {{ inputs.key }} placeholders replaced by the values (an absent optional input is empty). */
export function renderPlaceholders(text: string, values: InputValues): string {
  return text.replace(placeholder, (_, ref: string) => {
    const m = inputRef.exec(ref.trim());
    const v = m ? values[m[1]!] : undefined;
    return v === undefined ? '' : String(v);
  });
}

/** The environment a runbook acts on: its own, or the value of the input it names; undefined when it says none. */
export function runbookEnvOf(runbook: Pick<Runbook, 'env'>, values: InputValues): string | undefined {
  if (runbook.env === undefined) return undefined;
  return runbook.env.includes('{{') ? renderPlaceholders(runbook.env, values) : runbook.env;
}

/** Whether a step's `if:` holds for these values (a step without one always runs). */
export function conditionHolds(step: Pick<RunbookStep, 'if'>, values: InputValues, env: string | undefined): boolean {
  if (!step.if) return true;
  const m = condition.exec(step.if.trim());
  if (!m) return false;
  const [, not, , inputKey, op, literal] = m;
  const actual = inputKey ? values[inputKey] : env;
  const holds = op === undefined ? Boolean(actual) : op === '==' ? String(actual ?? '') === literal : String(actual ?? '') !== literal;
  return not ? !holds : holds;
}

/** A row of ops.templates: one published version of a runbook, as a run of it was queued with. */
export const Template = z.object({
  id: z.string().uuid(),
  name: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  title: z.string(),
  kind: z.string(),
  source: z.string().nullable(),
  text: z.string(),
  runbook: z.record(z.string(), z.unknown()),
  created_by: z.string(),
  created_at: z.string(),
});
export type Template = z.infer<typeof Template>;

/** What a runbook run's spec holds: the version it was queued with, and its inputs (secret ones sealed). */
export const RunbookSpec = z.object({
  template_id: z.string().uuid(),
  name: z.string(),
  version: z.number().int(),
  inputs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.object({ sealed: z.string() })])).default({}),
  /** the environment it acts on (dev, staging, prod), as decided when it was queued */
  env: z.string().nullable().default(null),
});
export type RunbookSpec = z.infer<typeof RunbookSpec>;
