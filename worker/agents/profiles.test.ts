// The built-in profiles' argv, the agent spec's options and their errors, and each fake CLI run with the argv
// commandFor builds — the fakes refuse any other argv, so a profile that drifts fails here.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentProfiles, commandFor, type Command, type ExecutorConfig } from '../engine/executors';
import { makeRepo, tempDir } from '../engine/git.test-support';
import { agentVersion, builtInProfiles, checkAgentVersion, semverIn } from './profiles';

const fakes = path.resolve(__dirname, 'fixtures/fake-cli');
const dir = tempDir('ocr-agent-profiles-');
const historyDir = path.join(dir.path, 'history');
const config: ExecutorConfig = { path: fakes, agentHistoryDir: historyDir };
const worktree = '/home/dev/lanes/lane-A';
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

afterAll(() => dir.remove());

function agent(intent: string, spec: Record<string, unknown> = {}, extra: ExecutorConfig = {}): Command {
  return commandFor({ executor: 'agent', intent, spec }, { ...config, ...extra }, { folder: worktree });
}

describe('built-in profiles', () => {
  it('claude: stream-json, edits accepted, our session id, the prompt after --', () => {
    const c = agent('fix it', { profile: 'claude' });
    const id = c.agent!.sessionId!;
    expect(id).toMatch(uuid);
    expect(c.argv).toEqual([path.join(fakes, 'claude'), '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--session-id', id, '--', 'fix it']);
    expect(c.agent).toEqual({ cli: 'claude', profile: 'claude', sessionId: id, resumed: false, cancel: { signals: ['SIGINT', 'SIGTERM', 'SIGKILL'], graceMs: 5000 }, zeroExitOnSignal: true, program: path.join(fakes, 'claude'), checkedVersion: builtInProfiles.claude.checkedVersion });
    expect(c.passEnv).toContain('ANTHROPIC_API_KEY');
  });

  it('claude: a follow-up resumes, and the options go before --', () => {
    const c = agent('go on', { profile: 'claude', resume: 'abc-123', model: 'sonnet', allowedTools: ['Bash(npm test)', 'Read'], maxTurns: 4, maxBudgetUsd: 1.5, args: ['--add-dir', '../shared'] });
    expect(c.argv.slice(1)).toEqual([
      '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits',
      '--resume', 'abc-123', '--model', 'sonnet', '--allowedTools', 'Bash(npm test)', 'Read', '--max-turns', '4', '--max-budget-usd', '1.5',
      '--add-dir', '../shared', '--', 'go on',
    ]);
    expect(c.agent).toMatchObject({ sessionId: 'abc-123', resumed: true });
  });

  it('codex: workspace-write sandbox in the worktree, its own session id, options before resume', () => {
    const fresh = agent('fix it', { profile: 'codex', model: 'gpt-5' });
    expect(fresh.argv.slice(1)).toEqual(['exec', '--json', '--sandbox', 'workspace-write', '--skip-git-repo-check', '-C', worktree, '--model', 'gpt-5', '--', 'fix it']);
    expect(fresh.agent).toMatchObject({ cli: 'codex', resumed: false, zeroExitOnSignal: false });
    expect(fresh.agent!.sessionId).toBeUndefined();
    const followUp = agent('go on', { profile: 'codex', resume: '0199a213-81c0-7800-8aa1-bbab2a035a53', model: 'gpt-5' });
    expect(followUp.argv.slice(1)).toEqual(['exec', '--json', '--sandbox', 'workspace-write', '--skip-git-repo-check', '-C', worktree, '--model', 'gpt-5', 'resume', '0199a213-81c0-7800-8aa1-bbab2a035a53', '--', 'go on']);
    expect(followUp.agent).toMatchObject({ sessionId: '0199a213-81c0-7800-8aa1-bbab2a035a53', resumed: true });
  });

  it('gemini: auto_edit, trusted for this run, the prompt as --prompt=', () => {
    const c = agent('fix it', { profile: 'gemini', allowedTools: ['run_shell_command'] });
    expect(c.argv.slice(1)).toEqual([
      '--output-format', 'stream-json', '--approval-mode', 'auto_edit', '--skip-trust', '--session-id', c.agent!.sessionId, '--allowed-tools=run_shell_command', '--prompt=fix it',
    ]);
    expect(agent('go on', { profile: 'gemini', resume: 'abc' }).argv.slice(1)).toContain('--resume');
    expect(c.agent).toMatchObject({ cli: 'gemini', zeroExitOnSignal: true, cancel: { signals: ['SIGTERM', 'SIGKILL'] } });
  });

  it('aider: no prompts, no commits, chat history outside the worktree, restored on a follow-up', () => {
    const c = agent('fix it', { profile: 'aider' });
    const id = c.agent!.sessionId!;
    expect(c.argv).toContain('--yes-always');
    expect(c.argv).toContain('--no-auto-commits');
    expect(c.argv).toContain(path.join(historyDir, `${id}.chat.md`));
    expect(c.argv).not.toContain('--restore-chat-history');
    expect(c.argv.at(-1)).toBe('--message=fix it');
    expect(existsSync(historyDir)).toBe(true);
    const followUp = agent('go on', { profile: 'aider', resume: id });
    expect(followUp.argv).toContain('--restore-chat-history');
    expect(followUp.argv).toContain(path.join(historyDir, `${id}.chat.md`));
  });

  it.each(['claude', 'codex', 'gemini', 'aider'])('%s: a prompt starting with "-" and spanning lines stays one argument', (cli) => {
    const prompt = '--help\n-rf everything\n$(touch pwned)';
    const c = agent(prompt, { profile: cli });
    const last = c.argv.at(-1)!;
    expect(last.endsWith(prompt)).toBe(true);
    expect(last === prompt || last === `--prompt=${prompt}` || last === `--message=${prompt}`).toBe(true);
    if (last === prompt) expect(c.argv.at(-2)).toBe('--');
  });

  it('each run gets its own session id', () => {
    expect(agent('a', { profile: 'claude' }).agent!.sessionId).not.toBe(agent('a', { profile: 'claude' }).agent!.sessionId);
  });
});

describe('user profiles', () => {
  it('a command array stays plain text: the prompt in its {prompt} element, no agent info', () => {
    const c = agent('fix it', { profile: 'mine', args: ['--fast'] }, { agents: { mine: ['claude', '--prompt', 'say: {prompt}'] } });
    expect(c.argv).toEqual([path.join(fakes, 'claude'), '--prompt', 'say: fix it', '--fast']);
    expect(c.agent).toBeUndefined();
  });

  it('an object reuses a built-in CLI with another program and more arguments', () => {
    const program = path.join(fakes, 'claude');
    const c = agent('fix it', { profile: 'work', args: ['--add-dir', 'x'] }, { agents: { work: { cli: 'claude', program, args: ['--fallback-model', 'haiku'] } } });
    expect(c.argv[0]).toBe(program);
    expect(c.argv.slice(-6)).toEqual(['--fallback-model', 'haiku', '--add-dir', 'x', '--', 'fix it']);
    expect(c.agent).toMatchObject({ cli: 'claude', profile: 'work' });
    expect(c.passEnv).toContain('ANTHROPIC_API_KEY');
  });

  it('an object may override a built-in name', () => {
    const c = agent('x', { profile: 'codex' }, { agents: { codex: { cli: 'codex', program: path.join(fakes, 'codex') } } });
    expect(c.agent?.cli).toBe('codex');
  });

  it.each([
    ['a command array without {prompt}', { mine: ['my-cli'] }, /^mine: an agent profile needs an element with \{prompt\}/],
    ['an empty command array', { mine: [] }, /^mine: an agent profile is a command array/],
    ['an unknown cli', { mine: { cli: 'cursor' } }, /^mine: cli: one of claude, codex, gemini, aider$/],
    ['an empty program', { mine: { cli: 'claude', program: '' } }, /^mine\.program: the path or name of the CLI$/],
    ['an unknown field', { mine: { cli: 'claude', argv: [] } }, /^mine: .*argv/],
    ['a number', { mine: 5 }, /^mine: an agent profile is a command array .* or \{"cli": "claude"/],
  ])('%s is refused with a message naming the profile', (_what, profiles, message) => {
    const r = AgentProfiles.safeParse(profiles);
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0]!;
    expect(`${issue.path.join('.')}: ${issue.message}`).toMatch(message);
  });
});

describe('bad agent options', () => {
  it.each([
    [{ profile: 'claude', resume: '-x' }, /^spec\.resume: an agent session id/],
    [{ profile: 'claude', resume: '../../etc/passwd' }, /^spec\.resume: an agent session id/],
    [{ profile: 'claude', model: '--dangerously-skip-permissions' }, /^spec\.model: a model name cannot start with "-"/],
    [{ profile: 'claude', model: '' }, /^spec\.model: give a model name/],
    [{ profile: 'claude', allowedTools: ['Read', '--x'] }, /^spec\.allowedTools\.1: a tool name cannot start with "-"/],
    [{ profile: 'claude', allowedTools: 'Bash' }, /^spec\.allowedTools: /],
    [{ profile: 'claude', maxTurns: 2.5 }, /^spec\.maxTurns: a whole number of turns/],
    [{ profile: 'claude', maxTurns: 0 }, /^spec\.maxTurns: /],
    [{ profile: 'claude', maxBudgetUsd: -1 }, /^spec\.maxBudgetUsd: an amount in US dollars above 0/],
    [{ profile: 'codex', allowedTools: ['Bash'] }, /^spec\.allowedTools: codex has no option for allowed tools/],
    [{ profile: 'gemini', maxTurns: 3 }, /^spec\.maxTurns: gemini has no turn limit/],
  ])('%j is refused: %s', (spec, message) => {
    expect(() => agent('x', spec)).toThrow(message);
  });

  it('a plain command profile refuses what it cannot honour', () => {
    expect(() => agent('x', { profile: 'mine', resume: 'abc' }, { agents: { mine: ['claude', '{prompt}'] } })).toThrow(
      /^spec\.resume: profile "mine" is a plain command array, which cannot take resume/,
    );
  });

  it('a missing CLI of an object profile says how to point at it', () => {
    try {
      agent('x', { profile: 'work' }, { agents: { work: { cli: 'gemini', program: 'ocr-no-such-gemini' } } });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('agent CLI "ocr-no-such-gemini" of profile "work" was not found');
      expect((e as { hint?: string }).hint).toContain(`{"work":{"cli":"gemini","program":"/full/path/to/ocr-no-such-gemini"}}`);
    }
  });
});

describe('version check', () => {
  it('reads the version each fake prints like the real CLI, and accepts the checked one', async () => {
    for (const profile of Object.values(builtInProfiles)) {
      const version = await agentVersion(path.join(fakes, profile.program));
      expect(version).toBe(profile.checkedVersion);
      expect(checkAgentVersion(profile, version)).toEqual({ ok: true });
    }
  });

  it('warns, without refusing, when the major or minor version differs', () => {
    expect(checkAgentVersion(builtInProfiles.codex, '0.171.9')).toEqual({ ok: true });
    const newer = checkAgentVersion(builtInProfiles.codex, '0.172.0');
    expect(newer).toEqual({ ok: false, warning: expect.stringContaining('codex 0.172.0 is installed; its profile was checked against 0.171.0') });
    expect(checkAgentVersion(builtInProfiles.claude, undefined)).toMatchObject({ ok: false, warning: expect.stringContaining('could not read its version') });
  });

  it('finds the version in what CLIs print', async () => {
    expect(semverIn('2.1.332 (Claude Code)')).toBe('2.1.332');
    expect(semverIn('codex-cli 0.171.0')).toBe('0.171.0');
    expect(semverIn('aider 0.86.2')).toBe('0.86.2');
    expect(await agentVersion(path.join(dir.path, 'no-such-cli'))).toBeUndefined();
  });
});

// ---------------------------------------------------------------- the fakes, run with the argv the profiles build

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  lines: Array<Record<string, unknown>>;
}

function start(c: Command, cwd: string, state: string) {
  const child = spawn(c.argv[0]!, c.argv.slice(1), { cwd, env: { PATH: process.env.PATH, HOME: state, FAKE_AGENT_STATE: state }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Ran>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, lines: stdout.split('\n').filter((l) => l.startsWith('{') && l.endsWith('}')).map((l) => JSON.parse(l) as Record<string, unknown>) }),
    ),
  );
  return { child, done };
}

function lane(name: string): { folder: string; state: string } {
  const folder = path.join(dir.path, name);
  mkdirSync(folder, { recursive: true });
  makeRepo(folder, { 'README.md': '# lane\n' });
  const state = path.join(dir.path, `${name}-state`);
  mkdirSync(state, { recursive: true });
  return { folder, state };
}

function runFake(cli: string, intent: string, l: { folder: string; state: string }, spec: Record<string, unknown> = {}) {
  const c = commandFor({ executor: 'agent', intent, spec: { profile: cli, ...spec } }, config, { folder: l.folder });
  return { command: c, ...start(c, l.folder, l.state) };
}

describe('fake CLIs run with the profiles argv', () => {
  it.each(['claude', 'codex', 'gemini', 'aider'])('%s edits a file in the worktree and a follow-up resumes its conversation', async (cli) => {
    const l = lane(`edit-${cli}`);
    const first = runFake(cli, 'edit src/new.txt', l);
    const ran = await first.done;
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect(readFileSync(path.join(l.folder, 'src/new.txt'), 'utf8')).toBe(`edited by fake ${cli}\n`);
    // the id to resume: ours, or the one codex announced
    const sessionId = first.command.agent!.sessionId ?? (ran.lines.find((e) => e.type === 'thread.started')?.thread_id as string);
    expect(sessionId).toBeTruthy();
    if (cli === 'claude' || cli === 'gemini') expect(ran.lines[0]).toMatchObject({ session_id: sessionId });
    const second = runFake(cli, 'edit src/new.txt', l, { resume: sessionId });
    const resumed = await second.done;
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    if (cli === 'codex') expect(resumed.lines[0]).toEqual({ type: 'thread.started', thread_id: sessionId });
    if (cli === 'claude' || cli === 'gemini') expect(resumed.lines[0]).toMatchObject({ session_id: sessionId });
    if (cli === 'aider') expect(resumed.stdout).toContain('Restored previous conversation history (1 messages)');
    expect(readFileSync(path.join(l.folder, 'src/new.txt'), 'utf8')).toBe(`edited by fake ${cli}\nedited by fake ${cli}\n`);
  });

  it.each(['claude', 'codex', 'gemini'])('%s: resuming a conversation it does not have fails past its arguments', async (cli) => {
    const ran = await runFake(cli, 'go on', lane(`unknown-${cli}`), { resume: 'f00dbeef-0000-4000-8000-000000000000' }).done;
    expect(ran.code).not.toBe(0);
    expect(ran.code).not.toBe(2);
    expect(ran.stderr).toMatch(/No conversation found|no rollout found|Error resuming session/);
  });

  it('claude: a denied tool lands in permission_denials, and allowing it lets it run', async () => {
    const l = lane('deny-claude');
    const denied = await runFake('claude', 'deny Bash', l).done;
    expect(denied.lines.at(-1)).toMatchObject({ type: 'result', subtype: 'success', permission_denials: [{ tool_name: 'Bash' }] });
    const allowed = await runFake('claude', 'deny Bash', l, { allowedTools: ['Bash'] }).done;
    expect(allowed.lines.at(-1)).toMatchObject({ type: 'result', permission_denials: [] });
  });

  it('gemini: a denied tool is a policy violation', async () => {
    const ran = await runFake('gemini', 'deny run_shell_command', lane('deny-gemini')).done;
    expect(ran.lines.find((e) => e.type === 'tool_result')).toMatchObject({ status: 'error', error: { type: 'policy_violation' } });
  });

  it('ask ends with a question, cost is reported, crash leaves a truncated line and exit 1', async () => {
    const l = lane('words');
    const asked = await runFake('claude', 'ask cost 0.42', l).done;
    expect(asked.lines.at(-1)).toMatchObject({ type: 'result', total_cost_usd: 0.42, result: expect.stringMatching(/\?$/) });
    const aider = await runFake('aider', 'cost 0.42', l).done;
    expect(aider.stdout).toContain('Cost: $0.42 message, $0.42 session.');
    for (const cli of ['claude', 'codex', 'gemini']) {
      const crashed = await runFake(cli, 'crash', l).done;
      expect(crashed.code).toBe(1);
      expect(crashed.stdout.endsWith('\n')).toBe(false);
    }
  });

  it('claude: over its budget it stops with error_max_budget_usd', async () => {
    const ran = await runFake('claude', 'cost 2', lane('budget'), { maxBudgetUsd: 1 }).done;
    expect(ran.lines.at(-1)).toMatchObject({ type: 'result', subtype: 'error_max_budget_usd', is_error: true });
  });

  it.each([
    ['claude', 'SIGINT', 0, true],
    ['codex', 'SIGINT', 1, false],
    ['gemini', 'SIGTERM', 0, false],
  ] as const)('%s on %s exits %i (a final result event: %s), as the real one does', async (cli, signal, code, resultEvent) => {
    const run = runFake(cli, 'sleep 30', lane(`signal-${cli}`));
    let seen = '';
    run.child.stdout.on('data', (d: Buffer) => (seen += d.toString()));
    while (!seen.includes('\n')) await new Promise((r) => setTimeout(r, 20));
    run.child.kill(signal);
    const ran = await run.done;
    expect(ran.code).toBe(code);
    expect(ran.lines.some((e) => e.type === 'result')).toBe(resultEvent);
    if (resultEvent) expect(ran.lines.at(-1)).toMatchObject({ subtype: 'error_during_execution' });
    expect(run.command.agent!.zeroExitOnSignal).toBe(code === 0);
  });

  it('a fake refuses an argv its profile would not build (exit 2)', async () => {
    const l = lane('drift');
    const c = agent('x', { profile: 'claude' });
    const drifted = { ...c, argv: c.argv.filter((a) => a !== '--verbose') };
    const ran = await start(drifted, l.folder, l.state).done;
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain('usage error');
  });
});
