// How a run becomes a command line: `shell` runs its intent through the user's shell, `agent` hands it to a
// coding-agent CLI as one argument. Nothing here splices text into a shell string except the shell executor, whose
// whole point is to.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { OcrError } from '../store/errors';
import { agentProfileName, type ExecutorOption, type Run } from '../../domain';

export const defaultTimeoutSeconds = 3600;
export const promptPlaceholder = '{prompt}';

const env = z.record(z.string(), z.string());

const commonSpec = {
  timeoutSeconds: z.number().positive().max(30 * 24 * 3600).optional(),
  env: env.optional(),
};

export const ShellSpec = z.object({
  ...commonSpec,
  /** run this instead of the intent (the intent then only describes the run) */
  command: z.string().trim().min(1).optional(),
  /** the shell to use instead of $SHELL */
  shell: z.string().min(1).optional(),
});
export type ShellSpec = z.infer<typeof ShellSpec>;

export const AgentSpec = z.object({
  ...commonSpec,
  /** the profile to use; the worker's default agent when absent */
  profile: agentProfileName.optional(),
  /** the prompt, when it is not the intent */
  prompt: z.string().min(1).optional(),
  /** more arguments, after the profile's own */
  args: z.array(z.string()).optional(),
});
export type AgentSpec = z.infer<typeof AgentSpec>;

/** A profile is a command array; one element holds {prompt}, which becomes the prompt, whole, as one argument. */
export const AgentProfile = z
  .array(z.string())
  .min(1, 'an agent profile is a command array such as ["my-agent", "--prompt", "{prompt}"]')
  .refine((argv) => argv.some((a) => a.includes(promptPlaceholder)), {
    message: `an agent profile needs an element with ${promptPlaceholder}, where the prompt goes`,
  });
export const AgentProfiles = z.record(agentProfileName, AgentProfile);
export type AgentProfiles = z.infer<typeof AgentProfiles>;

export const builtInAgents: AgentProfiles = {
  claude: ['claude', '-p', promptPlaceholder],
  codex: ['codex', 'exec', promptPlaceholder],
  gemini: ['gemini', '-p', promptPlaceholder],
  aider: ['aider', '--message', promptPlaceholder],
};

export interface ExecutorConfig {
  /** custom profiles, and overrides of the built-in ones */
  agents?: AgentProfiles;
  /** the profile of an agent run that names none */
  defaultAgent?: string;
  /** PATH to look agents up in; the worker's own by default */
  path?: string;
}

export interface Command {
  argv: string[];
  timeoutMs: number;
  /** extra environment for the run */
  env: Record<string, string>;
  /** what the log's first line says is being run */
  describe: string;
}

export function agentProfiles(config: ExecutorConfig): AgentProfiles {
  return { ...builtInAgents, ...(config.agents ?? {}) };
}

/** The profile of that name, never a property every object has (a profile called "constructor" is just unknown). */
function profileNamed(profiles: AgentProfiles, name: string): string[] | undefined {
  return Object.hasOwn(profiles, name) ? profiles[name] : undefined;
}

/** The shell and every agent profile whose CLI is on PATH (or configured), the `preferred` one ('shell' or a profile) first. */
export function executorOptions(config: ExecutorConfig = {}, preferred = 'shell'): ExecutorOption[] {
  const available = new Set(availableAgents(config));
  const options: ExecutorOption[] = [
    { id: 'shell', label: 'shell', run_with: { executor: 'shell' } },
    ...Object.keys(agentProfiles(config))
      .filter((p) => available.has(p))
      .map((p): ExecutorOption => ({ id: `agent:${p}`, label: p, run_with: { executor: 'agent', profile: p } })),
  ];
  const nameOf = (o: ExecutorOption) => (o.run_with.executor === 'agent' ? o.run_with.profile : 'shell');
  return options.sort((a, b) => Number(nameOf(b) === preferred) - Number(nameOf(a) === preferred));
}

/** The command of a run, or an OcrError that says what is wrong with its spec or this machine. */
export function commandFor(run: Pick<Run, 'executor' | 'intent' | 'spec'>, config: ExecutorConfig = {}): Command {
  switch (run.executor) {
    case 'shell': {
      const spec = parseSpec(ShellSpec, run.spec, 'shell');
      const shell = spec.shell ?? process.env.SHELL ?? '/bin/sh';
      const script = spec.command ?? run.intent;
      return { argv: [shell, '-c', script], timeoutMs: timeoutMs(spec), env: spec.env ?? {}, describe: `$ ${script}` };
    }
    case 'agent': {
      const spec = parseSpec(AgentSpec, run.spec, 'agent');
      const profiles = agentProfiles(config);
      const name = spec.profile ?? config.defaultAgent ?? 'claude';
      const profile = profileNamed(profiles, name);
      if (!profile) {
        throw new OcrError(
          'invalid_input',
          `spec.profile: no agent profile named "${name}"`,
          `use one of ${Object.keys(profiles).join(', ')}, or add a profile to the worker (--agents FILE or OCR_AGENT_PROFILES)`,
        );
      }
      const prompt = spec.prompt ?? run.intent;
      const argv = [...profile.map((a) => a.split(promptPlaceholder).join(prompt)), ...(spec.args ?? [])];
      const program = profile[0]!;
      const found = findExecutable(program, config.path);
      if (!found) {
        throw new OcrError(
          'agent_missing',
          `agent CLI "${program}" of profile "${name}" was not found on this worker's PATH`,
          `install ${program} on the worker's machine, or point the profile at it: ` +
            `OCR_AGENT_PROFILES='{"${name}":["/full/path/to/${path.basename(program)}", …, "${promptPlaceholder}"]}' (or --agents FILE)`,
        );
      }
      argv[0] = found;
      return { argv, timeoutMs: timeoutMs(spec), env: spec.env ?? {}, describe: `${name}: ${[program, ...argv.slice(1)].map(quoteForDisplay).join(' ')}` };
    }
    case 'runbook':
      throw new OcrError('invalid_input', 'executor: runbook runs are not supported by this worker yet', 'run it as shell or agent steps');
  }
}

/** The profiles whose CLI this machine has, for the worker's labels. */
export function availableAgents(config: ExecutorConfig = {}): string[] {
  return Object.entries(agentProfiles(config))
    .filter(([, argv]) => findExecutable(argv[0]!, config.path) !== undefined)
    .map(([name]) => name)
    .sort();
}

/** Like `which`: the full path of a program on PATH (or the program itself, when it is a path), if executable. */
export function findExecutable(program: string, searchPath = process.env.PATH ?? ''): string | undefined {
  const candidates = program.includes('/') ? [path.resolve(program)] : searchPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, program));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; try the next folder
    }
  }
  return undefined;
}

function timeoutMs(spec: { timeoutSeconds?: number | undefined }): number {
  return Math.round((spec.timeoutSeconds ?? defaultTimeoutSeconds) * 1000);
}

function parseSpec<T extends z.ZodTypeAny>(schema: T, spec: unknown, executor: string): z.output<T> {
  const r = schema.safeParse(spec);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new OcrError('invalid_input', `spec.${issue.path.join('.') || '(root)'}: ${issue.message} (for a ${executor} run)`);
}

function quoteForDisplay(arg: string): string {
  const oneLine = arg.length > 200 ? `${arg.slice(0, 200)}…` : arg;
  return /^[\w@%+=:,./-]+$/.test(oneLine) ? oneLine : `'${oneLine.replace(/'/g, `'\\''`)}'`;
}
