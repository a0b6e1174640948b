// The built-in profiles against the real CLIs, at the versions the profiles were checked against: each argv must be
// accepted (no usage error) and get as far as needing credentials or the network. The CLIs are installed from npm into
// .tools/agents/<cli>@<version> once and reused. HOME is an empty folder, so no credentials are found.
//
// aider is on PyPI only and cannot be installed here: its argv is checked against the fake CLI (profiles.test.ts).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandFor } from '../engine/executors';
import { makeRepo, tempDir } from '../engine/git.test-support';
import { agentVersion, builtInProfiles, checkAgentVersion, type AgentCli } from './profiles';

const toolsRoot = path.resolve(__dirname, '../../.tools/agents');
const npmClis = ['claude', 'codex', 'gemini'] as const satisfies readonly AgentCli[];
type NpmCli = (typeof npmClis)[number];

const installDir = (cli: NpmCli) => path.join(toolsRoot, `${cli}@${builtInProfiles[cli].checkedVersion}`);
const binDir = (cli: NpmCli) => path.join(installDir(cli), 'node_modules', '.bin');

/** Installs the CLI at its profile's version, unless a working copy is there already. */
function install(cli: NpmCli): void {
  const profile = builtInProfiles[cli];
  const bin = path.join(binDir(cli), profile.program);
  if (existsSync(bin) && versionWorks(bin)) return;
  const dir = installDir(cli);
  // into a folder of its own, then renamed: a run that stops half-way leaves no copy that looks installed
  const staging = `${dir}.installing-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  // Lifecycle scripts off: codex and gemini need none (codex's native binary is a platform optional dependency).
  execFileSync('npm', ['install', '--prefix', staging, '--no-audit', '--no-fund', '--no-save', '--ignore-scripts', `${profile.npmPackage}@${profile.checkedVersion}`], {
    stdio: 'pipe',
    timeout: 600_000,
  });
  // claude's bin is a placeholder until its own postinstall copies the platform's native binary over it; run that one
  // script only, not those of its dependencies
  if (cli === 'claude') execFileSync(process.execPath, ['install.cjs'], { cwd: path.join(staging, 'node_modules', '@anthropic-ai', 'claude-code'), stdio: 'pipe' });
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}

function versionWorks(bin: string): boolean {
  try {
    execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000, env: cleanEnv(home.path) });
    return true;
  } catch {
    return false;
  }
}

/** No credentials, no configuration: only what a CLI needs to start. */
function cleanEnv(homeDir: string): NodeJS.ProcessEnv {
  return { PATH: [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'), HOME: homeDir, LANG: 'C.UTF-8', TERM: 'dumb' };
}

interface Outcome {
  exitCode: number | null;
  output: string;
  /** the run was stopped once `reached` showed in its output */
  stoppedEarly: boolean;
}

/**
 * Runs argv with stdin closed, its own process group, until it exits, `reached` shows in its output (then the group
 * is killed: codex retries a network it cannot reach for a minute) or 60 s pass.
 */
function runUntil(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv, reached: RegExp): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let stoppedEarly = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(killGroup, 60_000);
    const take = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!stoppedEarly && reached.test(output)) {
        stoppedEarly = true;
        killGroup();
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, output, stoppedEarly });
    });
  });
}

// What each CLI's argument parser says about arguments it does not take.
const usageError = /unknown option|unexpected argument|unknown argument|unrecognized|missing required argument|invalid value for|Usage: codex|Not enough arguments/i;

interface Case {
  name: string;
  spec: Record<string, unknown>;
  /** what the CLI prints once it is past its arguments and needs credentials, the network or a stored session */
  reached: RegExp;
}

// A prompt that would read as an option, and spans lines: it must reach the CLI as one argument.
const prompt = '-p fix the failing test\nthen run --help';
const someId = '0199a213-81c0-7800-8aa1-bbab2a035a53';

const cases: Record<NpmCli, Case[]> = {
  claude: [
    { name: 'a new conversation', spec: {}, reached: /Not logged in|Please run \/login|Invalid API key/ },
    {
      name: 'every option',
      spec: { model: 'sonnet', allowedTools: ['Bash(npm test)', 'Read'], maxTurns: 3, maxBudgetUsd: 0.5, args: ['--add-dir', '.'] },
      reached: /Not logged in|Please run \/login|Invalid API key/,
    },
    { name: 'a follow-up', spec: { resume: someId }, reached: new RegExp(`No conversation found with session ID: ${someId}`) },
  ],
  codex: [
    // without credentials codex still starts the thread, then fails to reach its API
    { name: 'a new conversation', spec: {}, reached: /"type":"thread\.started"[\s\S]*(Reconnecting|stream disconnected|failed to lookup address|OPENAI_API_KEY|401|Unauthorized)/ },
    { name: 'with a model', spec: { model: 'gpt-5' }, reached: /"type":"thread\.started"[\s\S]*(Reconnecting|stream disconnected|failed to lookup address|OPENAI_API_KEY|401|Unauthorized)/ },
    { name: 'a follow-up', spec: { resume: someId, model: 'gpt-5' }, reached: new RegExp(`no rollout found for thread id ${someId}`) },
  ],
  gemini: [
    { name: 'a new conversation', spec: {}, reached: /Please set an Auth method|GEMINI_API_KEY/ },
    { name: 'every option', spec: { model: 'gemini-2.5-pro', allowedTools: ['run_shell_command', 'read_file'] }, reached: /Please set an Auth method|GEMINI_API_KEY/ },
    { name: 'a follow-up', spec: { resume: someId }, reached: /Error resuming session/ },
  ],
};

const home = tempDir('ocr-agent-home-');
const work = tempDir('ocr-agent-compat-');

beforeAll(() => {
  mkdirSync(toolsRoot, { recursive: true });
  for (const cli of npmClis) install(cli);
}, 900_000);

afterAll(() => {
  home.remove();
  work.remove();
});

describe.each(npmClis)('the real %s CLI', (cli) => {
  const profile = builtInProfiles[cli];

  it(`is the version its profile was checked against (${profile.checkedVersion})`, async () => {
    const version = await agentVersion(path.join(binDir(cli), profile.program), cleanEnv(home.path));
    expect(version).toBe(profile.checkedVersion);
    expect(checkAgentVersion(profile, version)).toEqual({ ok: true });
  }, 30_000);

  it.each(cases[cli])('accepts the profile argv for $name', async ({ spec, reached }) => {
    const repo = tempDir('ocr-agent-repo-');
    const runHome = path.join(work.path, `${cli}-${Math.random().toString(36).slice(2)}`);
    mkdirSync(runHome);
    try {
      makeRepo(repo.path, { 'README.md': '# test\n' });
      const command = commandFor(
        { executor: 'agent', intent: prompt, spec: { profile: cli, ...spec } },
        { path: binDir(cli), agentHistoryDir: path.join(work.path, 'history') },
        { folder: repo.path },
      );
      expect(command.argv).toContain(cli === 'gemini' ? `--prompt=${prompt}` : prompt);
      const outcome = await runUntil(command.argv, repo.path, cleanEnv(runHome), reached);
      const seen = `exit ${outcome.exitCode}\n${outcome.output}`;
      expect(outcome.output, seen).not.toMatch(usageError);
      expect(outcome.output, seen).toMatch(reached);
      if (!outcome.stoppedEarly) expect(outcome.exitCode, seen).not.toBe(2);
    } finally {
      repo.remove();
    }
  }, 90_000);
});
