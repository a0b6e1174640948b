// One claimed run from start to finish: its lane's workspace, its command, its log, its diff, its end. Every write
// names the run's lease; once the lease is gone the run's processes are killed and nothing more is written for it.
import { isTransient, OcrError } from '../store/errors';
import type { WorkerStore } from '../store/store';
import { describeDiff, describeStep, formatDuration, type LanePorts, portRangeText, type Run, type Session } from '../../domain';
import { AgentConversation, overBudgetMessage } from '../agents/conversation';
import { agentVersion, checkAgentVersion } from '../agents/profiles';
import type { Lease } from '../store/types';
import { captureDiff } from './diff';
import { type AgentCommand, commandFor, type ExecutorConfig } from './executors';
import { type ExecutionContext, isRecordedEnd, type RunEnd, type RunExecution, type RunExecutor, type StopReason } from './execution';
import { LogWriter } from './output';
import { RunbookSteps, type StepHost } from './runbook-steps';
import type { SecretBox } from '../runbooks/secrets';
import { defaultPassEnv, passedEnv } from './run-env';
import { protectRepoConfig, type RepoConfigGuard } from './repo-config';
import { RunProcess, type ProcessResult } from './run-process';
import { prepareLaneWorkspace, type LaneWorkspace } from './worktree';
import { noteLaneSession } from '../lanes/lane-worktrees';
import type { LinkMode } from './link-dirs';

export interface RunSettings {
  worktreeRoot: string;
  copyFiles?: string[];
  /** folders of the user's checkout each new lane worktree gets without installing them again, and how */
  linkDirs?: { dirs: string[]; mode: LinkMode };
  /** runs once in each new lane worktree, through the user's shell */
  setupCommand?: string;
  executor: ExecutorConfig;
  /** names (a trailing * matches a prefix) of the worker's environment passed to runs besides defaultPassEnv */
  passEnv?: readonly string[];
  /** between TERM and KILL when a run is stopped */
  killGraceMs: number;
  /** the key secret runbook inputs are sealed with */
  secrets?: () => SecretBox;
  /** how many TCP ports each lane leases (OCR_PORT, OCR_PORT_COUNT); default 10 */
  portCount?: number;
  /** the local clone for the session's repository; undefined for a session without one */
  resolveRepo(session: Session): Promise<string | undefined>;
}

// A run that prints faster than the database takes its lines is paused (its pipes fill, its writes block) above this
// many characters waiting, and resumed once they are down to a quarter.
const backlogHigh = 8 * 1024 * 1024;
const backlogLow = backlogHigh / 4;

/** The worker's own executor: each run in its lane's worktree, as a process group of its own. */
export function processExecutor(settings: RunSettings): RunExecutor {
  return (run, context) => new ActiveRun(context, run, settings);
}

export class ActiveRun implements RunExecution {
  readonly lease: Lease;
  readonly log: LogWriter;
  private readonly store: WorkerStore;
  private readonly workerId: string;
  private process: RunProcess | undefined;
  private stopReason: StopReason | undefined;
  private lostBecause: string | undefined;
  private finalLine: { text: string; level: 'info' | 'success' | 'warn' | 'error' } | undefined;
  /** ends a pause between tries of a step early, when the run is stopped or lost */
  private wake: (() => void) | undefined;
  /** a coding agent's conversation, for a run of a built-in agent CLI */
  private conversation: AgentConversation | undefined;
  /** why the worker stopped the run for its cost */
  private overBudget: string | undefined;

  constructor(
    context: ExecutionContext,
    readonly run: Run,
    private readonly settings: RunSettings,
  ) {
    this.store = context.store;
    this.workerId = context.workerId;
    this.lease = { runId: run.id, workerId: context.workerId, attempt: run.attempt };
    this.log = LogWriter.forLease(this.store, this.lease, {
      isLeaseLost: isLeaseLost,
      onLeaseLost: (e) => this.loseLease(`the database refused a log write: ${(e as Error).message}`),
    });
  }

  get lost(): boolean {
    return this.lostBecause !== undefined;
  }

  /** The process group of the command running now, if any. */
  get processGroup(): number | undefined {
    return this.process?.running ? this.process.pid : undefined;
  }

  /** The user asked it to stop, or the worker is shutting down: TERM, then KILL after the grace period. */
  cancel(reason: StopReason): void {
    if (this.lost) return;
    this.stopReason ??= reason;
    this.wake?.();
    this.process?.stop(reason);
  }

  /** Another worker may own the run now: its processes die at once and nothing more is written. */
  loseLease(why: string): void {
    if (this.lost) return;
    this.lostBecause = why;
    this.wake?.();
    this.process?.kill('lost');
    this.log.stop();
  }

  async execute(): Promise<RunEnd> {
    this.log.system(`claimed by ${this.workerId} (attempt ${this.run.attempt} of ${this.run.max_attempts})`);
    let end: RunEnd;
    let workspace: LaneWorkspace | undefined;
    let repoConfig: RepoConfigGuard | undefined;
    try {
      const session = await this.whileDatabaseAway(() => this.store.getSession(this.run.session_id));
      const repoPath = await this.settings.resolveRepo(session);
      workspace = await prepareLaneWorkspace({
        root: this.settings.worktreeRoot,
        session,
        lane: this.run.lane,
        repoPath,
        copyFiles: this.settings.copyFiles,
        linkDirs: this.settings.linkDirs?.dirs,
        linkMode: this.settings.linkDirs?.mode,
        hasSetupCommand: Boolean(this.settings.setupCommand),
        note: (text) => this.log.system(text),
      });
      // which database the lane is of, for cleaning up worktrees of sessions that are gone
      await noteLaneSession(this.settings.worktreeRoot, session, this.store.description);
      // The worktree shares the user's repository's git folder: what the run changes in its config and hooks is undone.
      if (workspace.git) repoConfig = await protectRepoConfig(workspace.git.repoPath);
      const ports = await this.whileDatabaseAway(() => this.store.leaseLanePorts(this.lease, this.settings.portCount));
      if (this.run.claimed_at && Date.parse(ports.leased_at) >= Date.parse(this.run.claimed_at)) {
        this.log.system(`lane ${this.run.lane} leased ${portRangeText(ports)} ($OCR_PORT, $OCR_PORT_COUNT) until its session is archived`);
      }
      const env = this.environment(workspace.folder, ports);
      if (workspace.needsSetup && this.settings.setupCommand && !this.stopReason && !this.lost) {
        this.log.system(`setup: $ ${this.settings.setupCommand}`);
        const setup = await this.spawn([userShell(), '-c', this.settings.setupCommand], workspace.folder, env, 0);
        if (setup.exitCode !== 0 && !setup.stoppedBy) {
          throw new OcrError('workspace_failed', `the lane's setup command exited ${setup.exitCode}`, 'fix the setup command; it runs again before the next run of this lane');
        }
        if (!setup.stoppedBy) await workspace.markSetupDone();
      }
      if (this.lost) {
        end = this.lostEnd();
      } else if (this.stopReason) {
        end = this.stoppedBeforeStart();
      } else if (this.run.executor === 'runbook') {
        const steps = new RunbookSteps(this.stepHost(), { executor: this.settings.executor, secrets: this.settings.secrets });
        steps.watchLinks();
        const { finalLine, ...ended } = await steps.run(workspace.folder, env);
        this.finalLine = finalLine;
        end = this.lost ? this.lostEnd() : ended;
      } else {
        const command = commandFor(this.run, this.settings.executor, workspace);
        this.log.system(command.describe);
        const runEnv = { ...env, ...passedEnv(process.env, command.passEnv), ...command.env };
        if (command.agent) this.conversation = await this.startConversation(command.agent, workspace.folder, runEnv);
        const result = await this.spawn(command.argv, workspace.folder, runEnv, command.timeoutMs, command.agent);
        if (this.conversation) await this.endConversation(this.conversation);
        end = this.endOf(result, command.timeoutMs);
      }
    } catch (e) {
      // The database went away for longer than a moment: the run is not failed for it. Its lease runs out and another
      // attempt (here or on another worker) takes it again; a runbook goes on from the step it was at.
      if (!this.lost && isTransient(e)) this.loseLease(`the database went away: ${(e as Error).message}; the run is taken again once its lease runs out`);
      end = this.lost ? this.lostEnd() : this.failure(e);
    }
    for (const change of (await repoConfig?.restore()) ?? []) if (!this.lost) this.log.system(change, 'warn');
    // a parked or requeued run records its diff when it ends
    if (isRecordedEnd(end) && workspace?.git) await this.recordDiff(workspace);
    if (this.lost) return this.lostEnd();
    // The exit line comes last, after the diff's, so a log's final line always says how the run ended.
    if (this.finalLine) this.log.system(this.finalLine.text, this.finalLine.level, { exitCode: 'exitCode' in end ? end.exitCode : null });
    await this.log.flush();
    return this.lost ? this.lostEnd() : end;
  }

  /** What a runbook's steps need of this run. */
  private stepHost(): StepHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      store: this.store,
      lease: this.lease,
      log: this.log,
      workerId: this.workerId,
      run: this.run,
      get stopReason() {
        return self.stopReason;
      },
      get lost() {
        return self.lost;
      },
      spawn: (argv, cwd, env, timeoutMs) => this.spawn(argv, cwd, env, timeoutMs),
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(done, ms);
          function done(): void {
            clearTimeout(timer);
            resolve();
          }
          this.wake = done;
        }),
    };
  }

  /**
   * What the run's processes see: the worker's environment through its allow-list only (never the worker's own
   * settings or a database's credentials), and the run's own variables.
   */
  private environment(folder: string, ports: LanePorts): NodeJS.ProcessEnv {
    return {
      ...passedEnv(process.env, [...defaultPassEnv, ...(this.settings.passEnv ?? [])]),
      OCR_RUN_ID: this.run.id,
      OCR_SESSION_ID: this.run.session_id,
      OCR_LANE: this.run.lane,
      OCR_WORKTREE: folder,
      OCR_ATTEMPT: String(this.run.attempt),
      // the lane's own ports, unique among every session of the database: a dev server of one lane never takes another's
      OCR_PORT: String(ports.port_base),
      OCR_PORT_COUNT: String(ports.port_count),
    };
  }

  /** Reads the agent's stream from here on; says first when the installed CLI is not the version its profile knows. */
  private async startConversation(agent: AgentCommand, folder: string, env: NodeJS.ProcessEnv): Promise<AgentConversation> {
    // asked with the run's own environment: the CLI never sees more of the worker's than its runs do
    const check = checkAgentVersion(agent, await installedVersion(agent.program, env));
    if (!check.ok) this.log.system(check.warning, 'warn');
    return new AgentConversation(agent, {
      cwd: folder,
      ...(agent.model !== undefined ? { model: agent.model } : {}),
      ...(this.settings.executor.prices ? { prices: this.settings.executor.prices } : {}),
      ...(agent.budgetUsd !== undefined ? { budgetUsd: agent.budgetUsd } : {}),
      record: (summary) => this.store.recordAgent(this.lease, summary),
      onRecordFailed: (e) => {
        if (isLeaseLost(e)) this.loseLease(`the database refused a write: ${(e as Error).message}`);
      },
      onOverBudget: (spent, budget) => {
        if (this.lost || this.stopReason || this.overBudget) return;
        this.overBudget = overBudgetMessage(spent, budget);
        this.log.system(this.overBudget, 'error');
        this.process?.stop('budget');
      },
    });
  }

  /** The agent's stream has ended: the steps its parser still held become the worker's own lines, the totals are kept. */
  private async endConversation(conversation: AgentConversation): Promise<void> {
    for (const step of conversation.end()) this.log.system(describeStep(step), 'info', { agent: [step] });
    if (this.lost) return;
    const summary = await conversation.finish();
    if (summary.needsInput) this.log.system(`needs input (${summary.needsInput.reason}): ${summary.needsInput.detail}`, 'warn', { needsInput: summary.needsInput });
  }

  private async spawn(argv: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number, agent?: AgentCommand): Promise<ProcessResult> {
    const proc = RunProcess.start({
      argv,
      cwd,
      env,
      timeoutMs: timeoutMs || undefined,
      killGraceMs: agent?.cancel.graceMs ?? this.settings.killGraceMs,
      ...(agent ? { stopSignals: agent.cancel.signals } : {}),
      // a process that leaves the run's group still carries its id: it is found and killed when the run ends
      marker: `OCR_RUN_ID=${this.run.id}`,
    });
    this.process = proc;
    // A cancel or a lost lease that arrived while the process was starting still applies to it.
    if (this.lost) proc.kill('lost');
    else if (this.stopReason) proc.stop(this.stopReason);
    const streams = [
      { pipe: proc.stdout, lines: this.log.lines('stdout', agent ? this.conversation?.annotate : undefined) },
      { pipe: proc.stderr, lines: this.log.lines('stderr') },
    ];
    let paused = false;
    for (const { pipe, lines } of streams) {
      pipe.on('data', (chunk: Buffer) => {
        if (this.lost) return;
        lines.push(chunk);
        if (!paused && this.log.backlog > backlogHigh) {
          paused = true;
          for (const s of streams) s.pipe.pause();
          void this.log.below(backlogLow).then(() => {
            paused = false;
            for (const s of streams) s.pipe.resume();
          });
        }
      });
      pipe.on('end', () => lines.end());
    }
    try {
      return await proc.done;
    } finally {
      this.process = undefined;
    }
  }

  private endOf(result: ProcessResult, timeoutMs: number): RunEnd {
    if (this.lost) return this.lostEnd();
    if (result.killedLeftovers) this.log.system('stopped the processes the run left running', 'warn');
    const took = formatDuration(result.durationMs);
    const code = result.signal ? `${result.exitCode} (${result.signal})` : String(result.exitCode);
    // a cost reported at the very end passes the budget too, though nothing was left to stop
    switch (result.stoppedBy ?? this.stopReason ?? (this.overBudget ? 'budget' : null)) {
      case 'cancel':
        this.finalLine = { text: `canceled: exited ${code} in ${took}`, level: 'warn' };
        return { status: 'canceled', exitCode: result.exitCode, error: null };
      case 'shutdown':
        this.finalLine = { text: `canceled, the worker is stopping: exited ${code} in ${took}`, level: 'warn' };
        return { status: 'canceled', exitCode: result.exitCode, error: `the worker ${this.workerId} stopped before the run finished` };
      case 'budget':
        this.finalLine = { text: `${this.overBudget ?? 'stopped: its cost passed its budget'}: exited ${code} in ${took}`, level: 'error' };
        return { status: 'failed', exitCode: result.exitCode, error: this.overBudget ?? 'stopped: its cost passed its budget' };
      case 'timeout': {
        const limit = formatDuration(timeoutMs);
        this.finalLine = { text: `timed out after ${limit}: exited ${code} in ${took}`, level: 'error' };
        return { status: 'failed', exitCode: result.exitCode, error: `timed out after ${limit} (spec.timeoutSeconds)` };
      }
      default:
        this.finalLine = { text: `exited ${code} in ${took}`, level: result.exitCode === 0 ? 'info' : 'error' };
        return result.exitCode === 0
          ? { status: 'succeeded', exitCode: 0, error: null }
          : { status: 'failed', exitCode: result.exitCode, error: `exited with code ${result.exitCode}` };
    }
  }

  /** `read` again while the database is away for a moment (a restart, a broken connection), for a few seconds. */
  private async whileDatabaseAway<T>(read: () => Promise<T>): Promise<T> {
    for (let pause = 100; ; pause *= 2) {
      try {
        return await read();
      } catch (e) {
        if (!isTransient(e) || pause > 5000 || this.lost || this.stopReason) throw e;
        this.log.system(`the database is away (${(e as Error).message}); trying again in ${pause} ms`, 'warn');
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private stoppedBeforeStart(): RunEnd {
    const shutdown = this.stopReason === 'shutdown';
    this.log.system(shutdown ? 'canceled before it started: the worker is stopping' : 'canceled before it started', 'warn');
    return { status: 'canceled', exitCode: null, error: shutdown ? `the worker ${this.workerId} stopped before the run started` : null };
  }

  private failure(e: unknown): RunEnd {
    const message = e instanceof OcrError ? e.line : e instanceof Error ? e.message : String(e);
    this.log.system(`error: ${message}`, 'error', e instanceof OcrError ? { code: e.code } : undefined);
    return { status: this.stopReason ? 'canceled' : 'failed', exitCode: null, error: message };
  }

  private lostEnd(): RunEnd {
    return { status: 'lost', error: this.lostBecause ?? 'lease lost' };
  }

  private async recordDiff(workspace: LaneWorkspace): Promise<void> {
    const repo = workspace.git;
    if (!repo || this.lost) return;
    try {
      const diff = await captureDiff(workspace.folder, repo.baseRef, { exclude: repo.copied });
      if (this.lost) return;
      await this.store.putArtifact(this.lease, {
        kind: 'diff',
        name: `lane-${this.run.lane}.patch`,
        mime: 'text/x-diff',
        content: diff.content,
        meta: { ...diff.summary, branch: repo.branch, worktree: workspace.folder },
      });
      this.log.system(`diff against ${repo.baseRef.slice(0, 12)}: ${describeDiff(diff.summary)}${diff.summary.omitted ? ' (patch too large to store; summary only)' : ''}`);
    } catch (e) {
      if (isLeaseLost(e)) this.loseLease(`the database refused the diff: ${(e as Error).message}`);
      else this.log.system(`could not record the diff: ${(e as Error).message}`, 'warn');
    }
  }
}

export function isLeaseLost(e: unknown): boolean {
  return e instanceof OcrError && e.code === 'lease_lost';
}

export function userShell(): string {
  return process.env.SHELL || '/bin/sh';
}

const versions = new Map<string, Promise<string | undefined>>();

/** An agent CLI's version, asked once per program and worker process (its `--version` takes a moment to start). */
function installedVersion(program: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  let version = versions.get(program);
  if (!version) versions.set(program, (version = agentVersion(program, env)));
  return version;
}
