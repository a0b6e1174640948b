// How a run becomes a command line: `shell` runs its intent through the user's shell, `agent` hands it to a
// coding-agent CLI as one argument. Nothing here splices text into a shell string except the shell executor, whose
// whole point is to.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { OcrError } from '../store/errors';
import { agentProfileName, type ExecutorOption, type Run } from '../../domain';
import { defaultRunEnvNames, refusedRunEnvName } from './run-env';

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

/**
 * What each built-in agent's CLI reads its credentials and endpoint from: passed from the worker's environment to the
 * runs of that profile only.
 */
export const agentEnv: Readonly<Record<string, readonly string[]>> = {
  claude: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL', 'CLAUDE_CONFIG_DIR'],
  codex: ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'CODEX_HOME'],
  gemini: ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_CLOUD_PROJECT', 'GOOGLE_CLOUD_LOCATION', 'GOOGLE_APPLICATION_CREDENTIALS'],
  aider: ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'OPENROUTER_API_KEY', 'AIDER_*'],
};

/** The shells a run's `spec.shell` may name, when the worker names none: the common ones this machine has. */
export function defaultShells(): string[] {
  const candidates = [process.env.SHELL, '/bin/sh', '/bin/bash', '/usr/bin/bash', '/bin/zsh', '/usr/bin/zsh', '/bin/dash', '/usr/bin/fish'];
  return [...new Set(candidates.filter((s): s is string => Boolean(s && findExecutable(s))))];
}

export interface ExecutorConfig {
  /** custom profiles, and overrides of the built-in ones */
  agents?: AgentProfiles;
  /** the shells a run may choose with spec.shell; defaultShells() when absent */
  shells?: readonly string[];
  /** the names a run's spec.env may set (a trailing * matches a prefix); defaultRunEnvNames when absent */
  runEnvNames?: readonly string[];
  /** the profile of an agent run that names none */
  defaultAgent?: string;
  /** PATH to look agents up in; the worker's own by default */
  path?: string;
}

export interface Command {
  argv: string[];
  timeoutMs: number;
  /** extra environment for the run: its spec's own variables, each allowed by the worker */
  env: Record<string, string>;
  /** names of the worker's environment passed to this run besides the worker's allow-list (an agent's credentials) */
  passEnv: readonly string[];
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
      const shells = config.shells ?? defaultShells();
      if (spec.shell && !shells.includes(spec.shell)) {
        throw new OcrError('invalid_input', `spec.shell: this worker does not run ${JSON.stringify(spec.shell)}`, `use one of ${shells.join(', ')}, or allow it on the worker (--shell)`);
      }
      const script = spec.command ?? run.intent;
      return { argv: [shell, '-c', script], timeoutMs: timeoutMs(spec), env: runEnv(spec.env, config), passEnv: [], describe: `$ ${script}` };
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
      const passEnv = Object.hasOwn(agentEnv, name) ? agentEnv[name]! : [];
      return { argv, timeoutMs: timeoutMs(spec), env: runEnv(spec.env, config), passEnv, describe: `${name}: ${[program, ...argv.slice(1)].map(quoteForDisplay).join(' ')}` };
    }
    case 'runbook':
      throw new OcrError('invalid_input', 'executor: a runbook run is carried out step by step, not as one command');
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

/** A run's own variables, each one the worker lets a run set; an OcrError names the first it does not. */
function runEnv(env: Record<string, string> | undefined, config: ExecutorConfig): Record<string, string> {
  const allowed = config.runEnvNames ?? defaultRunEnvNames;
  for (const name of Object.keys(env ?? {})) {
    if (refusedRunEnvName(name, allowed)) {
      throw new OcrError('invalid_input', `spec.env.${name}: this worker does not let a run set ${name}`, `allow it on the worker (--allow-env ${name}, or the setting ocr.worker.env.allow)`);
    }
  }
  return { ...(env ?? {}) };
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
