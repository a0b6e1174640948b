// How a run becomes a command line: `shell` runs its intent through the user's shell, `agent` hands it to a
// coding-agent CLI as one argument. Nothing here splices text into a shell string except the shell executor, whose
// whole point is to.
import { randomUUID } from 'node:crypto';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { OcrError } from '../store/errors';
import { defaultDataFolder } from '../store/embedded';
import { agentArgs, agentClis, builtInProfiles, type AgentCli, type CancelPlan } from '../agents/profiles';
import { agentProfileName, type AgentPrices, type ExecutorOption, type Run } from '../../domain';
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

// An id, a model or a tool name becomes one argv element of its own: one starting with "-" would read as an option.
const notAnOption = (what: string) => z.string().trim().min(1, `give ${what}`).max(300).refine((v) => !v.startsWith('-'), { message: `${what} cannot start with "-"` });

export const AgentSpec = z.object({
  ...commonSpec,
  /** the profile to use; the worker's default agent when absent */
  profile: agentProfileName.optional(),
  /** the prompt, when it is not the intent */
  prompt: z.string().min(1).optional(),
  /** more arguments, after the profile's own (before the prompt, for the built-in CLIs) */
  args: z.array(z.string()).optional(),
  /** the agent's session id of the conversation this run continues (a follow-up) */
  resume: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an agent session id: letters, digits, ".", "_" and "-" (such as a uuid), from a previous run of this lane')
    .optional(),
  /** the model, in the CLI's own naming */
  model: notAnOption('a model name').optional(),
  /** tools the agent may use without asking, in the CLI's own naming (such as "Bash(npm test)") */
  allowedTools: z.array(notAnOption('a tool name')).max(100).optional(),
  maxTurns: z.number().int('a whole number of turns').min(1).max(10_000).optional(),
  /** stop the run once it has cost this much */
  maxBudgetUsd: z.number().positive('an amount in US dollars above 0').max(100_000).optional(),
});
export type AgentSpec = z.infer<typeof AgentSpec>;

/** A plain profile is a command array; one element holds {prompt}, which becomes the prompt, whole, as one argument. */
export const CommandProfile = z
  .array(z.string())
  .min(1, 'an agent profile is a command array such as ["my-agent", "--prompt", "{prompt}"]')
  .refine((argv) => argv.some((a) => a.includes(promptPlaceholder)), {
    message: `an agent profile needs an element with ${promptPlaceholder}, where the prompt goes`,
  });

/** A profile that reuses a built-in CLI's arguments (structured output, sessions) with another program or more args. */
export const CliProfile = z
  .object({
    cli: z.enum(agentClis, { error: `one of ${agentClis.join(', ')}` }),
    /** the program to run instead of the CLI's own name on PATH */
    program: z.string().trim().min(1, 'the path or name of the CLI').optional(),
    /** more arguments, before the prompt */
    args: z.array(z.string()).optional(),
  })
  .strict();
export type CliProfile = z.infer<typeof CliProfile>;

const profileShapes = `a command array such as ["my-agent", "--prompt", "{prompt}"] or {"cli": "claude", "program": "/path/to/claude", "args": []}`;

export const AgentProfile = z.union([CommandProfile, CliProfile], {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    // an object: what is wrong with it as a CLI profile, naming the field (the union's own issue has no path into it)
    const objectIssue = issue.errors[1]?.[0];
    if (issue.input && typeof issue.input === 'object' && !Array.isArray(issue.input) && objectIssue) {
      return `${objectIssue.path.join('.')}: ${objectIssue.message}`;
    }
    return `an agent profile is ${profileShapes}`;
  },
});
export type AgentProfile = z.infer<typeof AgentProfile>;
export const AgentProfiles = z.record(agentProfileName, AgentProfile);
export type AgentProfiles = z.infer<typeof AgentProfiles>;

/** The built-in profiles: each CLI with the arguments of worker/agents/profiles.ts. */
export const builtInAgents: AgentProfiles = Object.fromEntries(agentClis.map((cli) => [cli, { cli }]));

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
  /** where agents that keep their conversation in a file (aider) keep it, outside every worktree */
  agentHistoryDir?: string;
  /** the user's prices of models, over the built-in table, for agents that report tokens but no cost */
  prices?: AgentPrices;
}

/** What the engine needs to know of an agent run started with a built-in CLI's arguments. */
export interface AgentCommand {
  cli: AgentCli;
  /** the profile's name */
  profile: string;
  /** the conversation's id when we chose it or resume it; for a CLI that picks its own (codex), read from its stream */
  sessionId?: string;
  /** this run continues an earlier conversation */
  resumed: boolean;
  cancel: CancelPlan;
  /** the CLI exits 0 when a signal stops it: a cancel is recorded by the worker, not read from the exit code */
  zeroExitOnSignal: boolean;
  /** the CLI's full path, and the version its arguments were checked against */
  program: string;
  checkedVersion: string;
  /** the model the run asked for (codex's stream never names its model: its cost is priced with this one) */
  model?: string;
  /** the run's cost limit in USD (spec.maxBudgetUsd): the worker stops the run past it */
  budgetUsd?: number;
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
  /** for a run of a built-in agent CLI (its structured output, session and cancel); absent for plain-text profiles */
  agent?: AgentCommand;
}

export function agentProfiles(config: ExecutorConfig): AgentProfiles {
  return { ...builtInAgents, ...(config.agents ?? {}) };
}

/** The profile of that name, never a property every object has (a profile called "constructor" is just unknown). */
function profileNamed(profiles: AgentProfiles, name: string): AgentProfile | undefined {
  return Object.hasOwn(profiles, name) ? profiles[name] : undefined;
}

/** The program a profile runs, as written in it (a name looked up on PATH, or a path). */
export function profileProgram(profile: AgentProfile): string {
  return Array.isArray(profile) ? profile[0]! : (profile.program ?? builtInProfiles[profile.cli].program);
}

export function defaultAgentHistoryDir(): string {
  return path.join(path.dirname(defaultDataFolder()), 'agent-history');
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

/**
 * The command of a run, or an OcrError that says what is wrong with its spec or this machine. `workspace` is the
 * folder the run starts in (the lane's worktree): an agent is told it is its working root.
 */
export function commandFor(run: Pick<Run, 'executor' | 'intent' | 'spec'>, config: ExecutorConfig = {}, workspace?: { folder: string }): Command {
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
      const program = profileProgram(profile);
      const found = findExecutable(program, config.path);
      if (!found) {
        throw new OcrError(
          'agent_missing',
          `agent CLI "${program}" of profile "${name}" was not found on this worker's PATH`,
          `install ${program} on the worker's machine, or point the profile at it: ` +
            (Array.isArray(profile)
              ? `OCR_AGENT_PROFILES='{"${name}":["/full/path/to/${path.basename(program)}", …, "${promptPlaceholder}"]}' (or --agents FILE)`
              : `OCR_AGENT_PROFILES='{"${name}":{"cli":"${profile.cli}","program":"/full/path/to/${path.basename(program)}"}}' (or --agents FILE)`),
        );
      }
      const common = { timeoutMs: timeoutMs(spec), env: runEnv(spec.env, config) };
      const describe = (argv: readonly string[]) => `${name}: ${[program, ...argv.slice(1)].map(quoteForDisplay).join(' ')}`;
      if (Array.isArray(profile)) {
        refusePlainProfileOptions(spec, name);
        const argv = [found, ...profile.slice(1).map((a) => a.split(promptPlaceholder).join(prompt)), ...(spec.args ?? [])];
        const passEnv = Object.hasOwn(agentEnv, name) ? agentEnv[name]! : [];
        return { argv, ...common, passEnv, describe: describe(argv) };
      }
      const cli = builtInProfiles[profile.cli];
      const sessionId = spec.resume ?? (cli.sessionId === 'ours' ? randomUUID() : undefined);
      const historyDir = config.agentHistoryDir ?? defaultAgentHistoryDir();
      if (cli.cli === 'aider') mkdirSync(historyDir, { recursive: true });
      const args = agentArgs(cli, {
        prompt,
        worktree: workspace?.folder ?? '.',
        sessionId: sessionId ?? randomUUID(),
        resume: spec.resume,
        model: spec.model,
        allowedTools: spec.allowedTools,
        maxTurns: spec.maxTurns,
        maxBudgetUsd: spec.maxBudgetUsd,
        historyDir,
        extraArgs: [...(profile.args ?? []), ...(spec.args ?? [])],
      });
      const argv = [found, ...args];
      return {
        argv,
        ...common,
        passEnv: agentEnv[cli.cli] ?? [],
        describe: describe(argv),
        agent: {
          cli: cli.cli,
          profile: name,
          ...(sessionId ? { sessionId } : {}),
          resumed: spec.resume !== undefined,
          cancel: cli.cancel,
          zeroExitOnSignal: cli.zeroExitOnSignal,
          program: found,
          checkedVersion: cli.checkedVersion,
          ...(spec.model !== undefined ? { model: spec.model } : {}),
          ...(spec.maxBudgetUsd !== undefined ? { budgetUsd: spec.maxBudgetUsd } : {}),
        },
      };
    }
    case 'runbook':
      throw new OcrError('invalid_input', 'executor: a runbook run is carried out step by step, not as one command');
  }
}

/** The profiles whose CLI this machine has, for the worker's labels. */
export function availableAgents(config: ExecutorConfig = {}): string[] {
  return Object.entries(agentProfiles(config))
    .filter(([, profile]) => findExecutable(profileProgram(profile), config.path) !== undefined)
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

/** A plain command-array profile prints text and takes only a prompt: options it cannot honour are refused, not dropped. */
function refusePlainProfileOptions(spec: AgentSpec, name: string): void {
  for (const field of ['resume', 'model', 'allowedTools', 'maxTurns', 'maxBudgetUsd'] as const) {
    if (spec[field] !== undefined) {
      throw new OcrError(
        'invalid_input',
        `spec.${field}: profile "${name}" is a plain command array, which cannot take ${field}`,
        `remove ${field}, or use a profile built on a known CLI: {"cli": "claude" | "codex" | "gemini" | "aider", "program": …}`,
      );
    }
  }
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
