// The built-in coding-agent profiles: how each CLI is started so that it works headless inside a lane's worktree —
// structured output on, edits allowed in the worktree only, no interactive prompt, a session id a follow-up can resume.
// Each profile names the CLI version its argv was checked against: the CLIs change flags between releases, and a
// compatibility test runs these exact argv against the real binaries at those versions.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { OcrError } from '../store/errors';
import { AgentCli } from '../../domain';

export type { AgentCli } from '../../domain';
export const agentClis = AgentCli.options;

export function isAgentCli(name: string): name is AgentCli {
  return (agentClis as readonly string[]).includes(name);
}

/** What one agent run asks of its CLI. */
export interface AgentRunOptions {
  prompt: string;
  /** the lane's worktree, the agent's working root */
  worktree: string;
  /** a uuid we chose for a new conversation (claude, gemini, aider's history file); codex picks its own */
  sessionId: string;
  /** the agent's session id of the conversation to continue (a follow-up) */
  resume?: string | undefined;
  model?: string | undefined;
  /** tools allowed without asking, besides the profile's own permissions */
  allowedTools?: readonly string[] | undefined;
  maxTurns?: number | undefined;
  maxBudgetUsd?: number | undefined;
  /** where aider keeps its chat history: outside the worktree, so it never shows in the lane's diff */
  historyDir: string;
  /** a user profile's own arguments and the run's spec.args, placed where the CLI reads options (before the prompt) */
  extraArgs?: readonly string[] | undefined;
}

/** How a run of this CLI is stopped: each signal in turn to the run's process group, `graceMs` apart, until it ends. */
export interface CancelPlan {
  signals: readonly NodeJS.Signals[];
  graceMs: number;
}

export interface AgentCliProfile {
  cli: AgentCli;
  /** the program looked up on PATH */
  program: string;
  /** where the compatibility test installs it from; absent when it is not on npm */
  npmPackage?: string;
  /** the CLI version this argv was checked against */
  checkedVersion: string;
  /** who picks the conversation's id: we do (passed in argv), or the CLI does (read from its stream) */
  sessionId: 'ours' | 'theirs';
  cancel: CancelPlan;
  /** the CLI exits 0 when a signal stops it: the worker records the cancel itself */
  zeroExitOnSignal: boolean;
  /** the options this CLI has a flag for; any other one given to it is refused rather than dropped */
  supports: { allowedTools: boolean; maxTurns: boolean };
  /** the arguments after the program */
  args(opts: AgentRunOptions): string[];
}

const optional = (flag: string, value: string | number | undefined): string[] => (value === undefined ? [] : [flag, String(value)]);

export const claudeProfile: AgentCliProfile = {
  cli: 'claude',
  program: 'claude',
  npmPackage: '@anthropic-ai/claude-code',
  checkedVersion: '2.1.332',
  sessionId: 'ours',
  // SIGINT first: claude then writes its final `result` event (error_during_execution) and exits 0
  cancel: { signals: ['SIGINT', 'SIGTERM', 'SIGKILL'], graceMs: 5000 },
  zeroExitOnSignal: true,
  supports: { allowedTools: true, maxTurns: true },
  args: (o) => [
    '-p',
    '--output-format', 'stream-json',
    '--verbose', // stream-json in -p requires it
    '--permission-mode', 'acceptEdits',
    ...(o.resume ? ['--resume', o.resume] : ['--session-id', o.sessionId]),
    ...optional('--model', o.model),
    ...(o.allowedTools?.length ? ['--allowedTools', ...o.allowedTools] : []),
    ...optional('--max-turns', o.maxTurns),
    ...optional('--max-budget-usd', o.maxBudgetUsd),
    ...(o.extraArgs ?? []),
    // --allowedTools takes several values and would swallow the prompt; `--` also keeps a prompt starting with "-" whole
    '--',
    o.prompt,
  ],
};

export const codexProfile: AgentCliProfile = {
  cli: 'codex',
  program: 'codex',
  npmPackage: '@openai/codex',
  checkedVersion: '0.171.0',
  sessionId: 'theirs',
  cancel: { signals: ['SIGINT', 'SIGTERM', 'SIGKILL'], graceMs: 2000 },
  zeroExitOnSignal: false,
  supports: { allowedTools: false, maxTurns: false },
  args: (o) => [
    'exec',
    '--json',
    '--sandbox', 'workspace-write', // the default is read-only, and exec never asks
    '--skip-git-repo-check', // a lane without a repository is a plain folder
    '-C', o.worktree,
    ...optional('--model', o.model),
    ...(o.extraArgs ?? []),
    // exec's options come before `resume`
    ...(o.resume ? ['resume', o.resume] : []),
    // The prompt as the last argument, after `--`: a prompt of "-x" is not an option, one of "review" or "resume" is not
    // a subcommand, and stdin (closed for runs) is never read in its place.
    '--',
    o.prompt,
  ],
};

export const geminiProfile: AgentCliProfile = {
  cli: 'gemini',
  program: 'gemini',
  npmPackage: '@google/gemini-cli',
  checkedVersion: '0.61.0',
  sessionId: 'ours',
  // gemini exits 0 on SIGINT and SIGTERM alike, without a result event
  cancel: { signals: ['SIGTERM', 'SIGKILL'], graceMs: 2000 },
  zeroExitOnSignal: true,
  supports: { allowedTools: true, maxTurns: false },
  args: (o) => [
    '--output-format', 'stream-json',
    '--approval-mode', 'auto_edit',
    '--skip-trust', // a new worktree is an untrusted folder: without it gemini exits 55
    ...(o.resume ? ['--resume', o.resume] : ['--session-id', o.sessionId]),
    ...optional('--model', o.model),
    // one flag per tool: the option takes several values
    ...(o.allowedTools ?? []).map((t) => `--allowed-tools=${t}`),
    ...(o.extraArgs ?? []),
    // one element with `=`: a prompt starting with "-" stays the prompt
    `--prompt=${o.prompt}`,
  ],
};

// aider is on PyPI only: the compatibility test cannot install it, so its argv is checked against the fake CLI and
// aider's documented options (version 0.86.2).
export const aiderProfile: AgentCliProfile = {
  cli: 'aider',
  program: 'aider',
  checkedVersion: '0.86.2',
  // the id names its chat history file, which we choose
  sessionId: 'ours',
  // a first SIGINT only aborts the request in flight
  cancel: { signals: ['SIGINT', 'SIGTERM', 'SIGKILL'], graceMs: 2000 },
  zeroExitOnSignal: false,
  supports: { allowedTools: false, maxTurns: false },
  args: (o) => {
    const id = o.resume ?? o.sessionId;
    return [
      '--yes-always', // answers its prompts; it still declines shell commands
      '--no-auto-commits',
      '--no-dirty-commits',
      // without these it would offer to pip-install an update, show release notes, open a browser, ask about URLs
      '--no-check-update',
      '--no-show-release-notes',
      '--no-analytics',
      '--no-show-model-warnings',
      '--no-detect-urls',
      '--no-pretty',
      '--no-fancy-input',
      '--no-gitignore', // it would add .aider* to the worktree's .gitignore
      '--chat-history-file', path.join(o.historyDir, `${id}.chat.md`),
      '--input-history-file', path.join(o.historyDir, `${id}.input`),
      ...(o.resume ? ['--restore-chat-history'] : []),
      ...optional('--model', o.model),
      ...(o.extraArgs ?? []),
      `--message=${o.prompt}`,
    ];
  },
};

export const builtInProfiles: Readonly<Record<AgentCli, AgentCliProfile>> = {
  claude: claudeProfile,
  codex: codexProfile,
  gemini: geminiProfile,
  aider: aiderProfile,
};

/**
 * The arguments of one run, or an OcrError naming the option this CLI has no flag for (an option silently dropped
 * would let a run do what the user meant to forbid or limit). maxBudgetUsd needs no flag: the worker enforces it.
 */
export function agentArgs(profile: AgentCliProfile, opts: AgentRunOptions): string[] {
  if (opts.allowedTools?.length && !profile.supports.allowedTools) {
    throw new OcrError('invalid_input', `spec.allowedTools: ${profile.cli} has no option for allowed tools`, 'remove allowedTools, or use a profile of claude or gemini');
  }
  if (opts.maxTurns !== undefined && !profile.supports.maxTurns) {
    throw new OcrError('invalid_input', `spec.maxTurns: ${profile.cli} has no turn limit`, 'remove maxTurns, or limit the run with maxBudgetUsd or timeoutSeconds');
  }
  return profile.args(opts);
}

const versionTimeoutMs = 5000;

/** The version `<program> --version` prints (the first x.y.z in its output), or undefined when it printed none. */
export function agentVersion(program: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile(program, ['--version'], { timeout: versionTimeoutMs, env, maxBuffer: 1 << 20 }, (_error, stdout, stderr) => {
      resolve(semverIn(String(stdout)) ?? semverIn(String(stderr)));
    });
    // never wait on a CLI that reads stdin
    child.stdin?.end();
  });
}

export function semverIn(text: string): string | undefined {
  return /\b(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?\b/.exec(text)?.[0];
}

export type VersionCheck = { ok: true } | { ok: false; warning: string };

/** A warning (not a refusal) when the installed CLI's major.minor is not the one its profile was checked against. */
export function checkAgentVersion(profile: Pick<AgentCliProfile, 'cli' | 'checkedVersion'>, version: string | undefined): VersionCheck {
  const checked = profile.checkedVersion;
  if (version === undefined) {
    return { ok: false, warning: `${profile.cli}: could not read its version from \`--version\`; its profile was checked against ${checked}` };
  }
  const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');
  if (majorMinor(version) === majorMinor(checked)) return { ok: true };
  return {
    ok: false,
    warning: `${profile.cli} ${version} is installed; its profile was checked against ${checked} — if the run fails on its arguments, install ${profile.cli} ${majorMinor(checked)}.x or override the profile`,
  };
}
