// A runbook run's steps, in its lane's worktree: one after another, each moving through its own states in the
// database (fenced by the run's lease like every write of the worker), its lines in the log under its id. A step
// with a retry policy is tried again after a pause; an approval step parks the run (no lease, no slot, the lane kept)
// until a person decides; a failed run with attempts left goes back to the queue for later. Steps are at least once:
// a run resumed after its worker was lost starts again at the step that was running.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  conditionHolds,
  type EventLevel,
  formatDuration,
  inputVariable,
  type InputValues,
  renderPlaceholders,
  Runbook,
  RunbookSpec,
  type RunbookStep,
  runbookEnvOf,
  type RunStep,
  stepKind,
} from '../../domain';
import { OcrError } from '../store/errors';
import type { WorkerStore } from '../store/store';
import type { Lease } from '../store/types';
import type { SecretBox } from '../runbooks/secrets';
import { commandFor, type ExecutorConfig } from './executors';
import type { RunEnd, StopReason } from './execution';
import type { LogWriter } from './output';
import { passedEnv } from './run-env';
import type { ProcessResult } from './run-process';
import { git } from './git';

/** What the steps need of the run that carries them out. */
export interface StepHost {
  readonly store: WorkerStore;
  readonly lease: Lease;
  readonly log: LogWriter;
  readonly workerId: string;
  readonly stopReason: StopReason | undefined;
  readonly lost: boolean;
  readonly run: { id: string; attempt: number; max_attempts: number; spec: Record<string, unknown> };
  spawn(argv: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ProcessResult>;
  /** a pause that ends early when the run is stopped or lost */
  sleep(ms: number): Promise<void>;
}

export interface StepSettings {
  executor: ExecutorConfig;
  /** the key secret inputs are sealed with; undefined: runbooks with secret inputs fail, saying so */
  secrets?: () => SecretBox;
}

const defaultStepTimeoutSeconds = 3600;
/** `::artifact link <title> <url>`: a step names a link the run leaves (a deployment, a report). */
const artifactLine = /^::artifact\s+link\s+(.+?)\s+(https?:\/\/\S+)\s*$/;

/** How the steps ended, and the run's last line; a parked run has none (the gate's line was its last). */
export type StepsEnd = Exclude<RunEnd, { status: 'lost' }> & { finalLine?: { text: string; level: 'info' | 'success' | 'warn' | 'error' } };


export class RunbookSteps {
  private readonly spec: RunbookSpec;
  private runbook!: Runbook;
  private version = 0;
  private values: InputValues = {};
  private secretValues: string[] = [];
  private steps: RunStep[] = [];
  private links: Array<{ title: string; url: string }> = [];
  private commits: { before?: string; after?: string } = {};

  constructor(
    private readonly host: StepHost,
    private readonly settings: StepSettings,
  ) {
    const spec = RunbookSpec.safeParse(host.run.spec);
    if (!spec.success) throw new OcrError('invalid_input', `spec: not a runbook run's spec (${spec.error.issues[0]?.message})`);
    this.spec = spec.data;
  }

  /** Runs the steps from the first not yet done, in `folder`; says how the run ends (or that it parked or went back). */
  async run(folder: string, env: NodeJS.ProcessEnv): Promise<StepsEnd> {
    const { store, lease, log } = this.host;
    const template = await store.getTemplate(this.spec.template_id);
    this.runbook = Runbook.parse(template.runbook);
    this.version = template.version;
    this.values = this.openInputs();
    log.mask(this.secretValues);
    this.steps = await store.planSteps(lease, this.runbook.steps.map((s) => ({ step_id: s.id, title: s.title ?? s.id, kind: stepKind(s) })));
    const resumed = this.steps.some((s) => s.status !== 'queued');
    log.system(`runbook ${this.runbook.name} v${this.version}: ${this.runbook.steps.length} step(s)${resumed ? ', resumed' : ''}`, 'info', {
      runbook: this.runbook.name,
      version: this.version,
      inputs: this.maskedInputs(),
    });
    this.commits.before = await head(folder);
    const artifactsDir = path.join(folder, '.ocr-artifacts', this.host.run.id);
    const deadline = this.runbook.policy.timeout ? Date.now() + this.runbook.policy.timeout * 1000 : Number.POSITIVE_INFINITY;
    const envOf = (step: RunbookStep) => this.stepEnv(env, step, artifactsDir);
    let failed: { step: RunStep; why: string } | undefined;
    for (const step of this.runbook.steps) {
      const row = this.row(step.id);
      if (row.status === 'succeeded' || row.status === 'skipped') continue;
      if (this.host.lost) throw new OcrError('lease_lost', 'lease lost');
      if (this.host.stopReason || failed) {
        await this.move(row, 'skipped');
        continue;
      }
      if (!conditionHolds(step, this.values, this.spec.env ?? undefined)) {
        this.stepLine(step.id, `skipped (${step.if})`, 'info');
        await this.move(row, 'skipped');
        continue;
      }
      if (stepKind(step) === 'approval') {
        // What the steps before the gate left is kept while the run still holds its lease; once parked, the run
        // has no lease and the worker writes nothing more for it (its last line is the step's own "waiting" line).
        await this.flushArtifacts(artifactsDir);
        await this.park(row, step);
        return { status: 'parked' };
      }
      const outcome = await this.runStep(row, step, folder, envOf(step), deadline);
      if (outcome === 'canceled') {
        await this.skipRest();
        break;
      }
      if (outcome !== 'succeeded' && !step.continue_on_error) failed = { step: this.row(step.id), why: outcome };
    }
    this.commits.after = await head(folder);
    await this.flushArtifacts(artifactsDir);
    rmSync(artifactsDir, { recursive: true, force: true });
    return this.end(failed);
  }

  // ---- one step ------------------------------------------------------------------------------------------------

  /** Runs a shell or agent step, with its retry policy; answers 'succeeded', 'canceled' or why it failed. */
  private async runStep(row: RunStep, step: RunbookStep, folder: string, env: NodeJS.ProcessEnv, deadline: number): Promise<string> {
    const { log } = this.host;
    const tries = step.retry?.max_attempts ?? 1;
    for (let attempt = 1; ; attempt++) {
      const started = await this.move(row, 'running');
      log.step = step.id;
      log.system(`step ${step.id}: ${step.title ?? step.id}${tries > 1 ? ` (try ${attempt} of ${tries})` : ''}`, 'info', { tries: started.tries });
      const { argv, extraEnv, describe } = this.commandOf(step);
      log.system(describe);
      const timeoutMs = Math.min((step.timeout ?? this.runbook.policy.step_timeout ?? defaultStepTimeoutSeconds) * 1000, Math.max(1, deadline - Date.now()));
      const t0 = performance.now();
      const result = await this.host.spawn(argv, folder, { ...env, ...extraEnv }, timeoutMs);
      const took = formatDuration(performance.now() - t0);
      log.step = undefined;
      if (this.host.lost) throw new OcrError('lease_lost', 'lease lost');
      const stopped = result.stoppedBy ?? this.host.stopReason;
      if (stopped === 'cancel' || stopped === 'shutdown') {
        await this.move(row, 'canceled', result.exitCode, stopped === 'shutdown' ? 'the worker stopped' : 'canceled');
        this.stepLine(step.id, `canceled after ${took}`, 'warn');
        return 'canceled';
      }
      if (result.exitCode === 0 && !result.stoppedBy) {
        await this.move(row, 'succeeded', 0);
        this.stepLine(step.id, `succeeded in ${took}`, 'success');
        return 'succeeded';
      }
      const why = result.stoppedBy === 'timeout' ? `timed out after ${formatDuration(timeoutMs)}` : `exited ${result.exitCode}`;
      await this.move(row, 'failed', result.exitCode, why);
      if (attempt >= tries || Date.now() >= deadline) {
        this.stepLine(step.id, `failed, ${why}${step.continue_on_error ? '; the run goes on (continue_on_error)' : ''}`, step.continue_on_error ? 'warn' : 'error');
        return `step ${step.id} ${why}`;
      }
      const pause = backoff(step.retry!, attempt);
      this.stepLine(step.id, `${why}; trying again in ${formatDuration(pause)}`, 'warn');
      await this.host.sleep(pause);
      if (this.host.lost) throw new OcrError('lease_lost', 'lease lost');
      if (this.host.stopReason) {
        await this.move(row, 'canceled', null, 'canceled');
        return 'canceled';
      }
    }
  }

  private commandOf(step: RunbookStep): { argv: string[]; extraEnv: Record<string, string>; describe: string } {
    if (step.run !== undefined) {
      if (typeof step.run === 'string') {
        const shell = process.env.SHELL || '/bin/sh';
        return { argv: [shell, '-c', step.run], extraEnv: {}, describe: `$ ${step.run}` };
      }
      // argv: each element one argument; placeholders become the values, whole, never through a shell
      const argv = step.run.map((a) => renderPlaceholders(a, this.values));
      return { argv, extraEnv: {}, describe: `$ ${argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')}` };
    }
    const agent = step.agent!;
    const command = commandFor(
      { executor: 'agent', intent: renderPlaceholders(agent.prompt, this.values), spec: agent.profile ? { profile: agent.profile } : {} },
      this.settings.executor,
    );
    return { argv: command.argv, extraEnv: passedEnv(process.env, command.passEnv), describe: command.describe };
  }

  private stepEnv(env: NodeJS.ProcessEnv, step: RunbookStep, artifactsDir: string): NodeJS.ProcessEnv {
    mkdirSync(artifactsDir, { recursive: true });
    const inputs = Object.fromEntries(Object.entries(this.values).map(([k, v]) => [inputVariable(k), String(v)]));
    const own = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, renderPlaceholders(v, this.values)]));
    return {
      ...env,
      ...inputs,
      ...own,
      OCR_STEP_ID: step.id,
      OCR_RUNBOOK: this.runbook.name,
      OCR_ENV: this.spec.env ?? '',
      OCR_ARTIFACTS_DIR: artifactsDir,
    };
  }

  /** A line of the worker's about a step (its end, a skip, a retry, a gate): it belongs to that step's lines. */
  private stepLine(stepId: string, text: string, level: EventLevel, data?: unknown): void {
    const { log } = this.host;
    const current = log.step;
    log.step = stepId;
    log.system(`step ${stepId}: ${text}`, level, data);
    log.step = current;
  }

  // ---- gates, ends, artifacts --------------------------------------------------------------------------------------

  private async park(row: RunStep, step: RunbookStep): Promise<void> {
    const message = renderPlaceholders(step.approval!.message, this.values);
    this.stepLine(step.id, `waiting for approval — ${message}`, 'warn', { approvers: step.approval!.approvers ?? [] });
    await this.host.log.flush();
    await this.host.store.parkRun(this.host.lease, row.idx, { message, approvers: step.approval!.approvers });
  }

  private async end(failed: { step: RunStep; why: string } | undefined): Promise<StepsEnd> {
    const { log, store, lease, run } = this.host;
    const steps = await store.listSteps(run.id);
    await this.putManifest(steps);
    const summary = `${steps.filter((s) => s.status === 'succeeded').length} of ${steps.length} step(s) succeeded`;
    if (this.host.stopReason) {
      return { status: 'canceled', exitCode: null, error: this.host.stopReason === 'shutdown' ? `the worker ${this.host.workerId} stopped` : null, finalLine: { text: `canceled: ${summary}`, level: 'warn' } };
    }
    if (!failed) return { status: 'succeeded', exitCode: 0, error: null, finalLine: { text: `runbook ${this.runbook.name} succeeded: ${summary}`, level: 'success' } };
    const error = `${failed.why}`;
    if (run.attempt < this.runbook.policy.max_attempts && run.attempt < run.max_attempts) {
      const after = backoff({ backoff: 'exponential', initial_seconds: 5 }, run.attempt);
      log.system(`runbook ${this.runbook.name} failed (${error}); attempt ${run.attempt + 1} of ${this.runbook.policy.max_attempts} in ${formatDuration(after)}`, 'warn');
      await log.flush();
      await store.requeueRun(lease, after / 1000, error);
      return { status: 'requeued', error, finalLine: { text: `queued again: ${error}`, level: 'warn' } };
    }
    return { status: 'failed', exitCode: failed.step.exit_code, error, finalLine: { text: `runbook ${this.runbook.name} failed: ${error}; ${summary}`, level: 'error' } };
  }

  private async putManifest(steps: RunStep[]): Promise<void> {
    const manifest = {
      run_id: this.host.run.id,
      runbook: { name: this.runbook.name, version: this.version, template_id: this.spec.template_id },
      env: this.spec.env,
      inputs: this.maskedInputs(),
      worker: this.host.workerId,
      attempt: this.host.run.attempt,
      commits: this.commits,
      steps: steps.map((s) => ({ id: s.step_id, title: s.title, kind: s.kind, status: s.status, tries: s.tries, started_at: s.started_at, finished_at: s.finished_at, exit_code: s.exit_code, error: s.error })),
      links: this.links,
    };
    await this.host.store.putArtifact(this.host.lease, { kind: 'manifest', name: 'manifest.json', mime: 'application/json', content: JSON.stringify(manifest, null, 2), meta: { steps: steps.length } });
  }

  /** Files a step wrote to $OCR_ARTIFACTS_DIR, and the links it printed, become the run's artifacts. */
  private async flushArtifacts(dir: string): Promise<void> {
    const { store, lease } = this.host;
    if (existsSync(dir)) {
      for (const name of readdirSync(dir)) {
        const file = path.join(dir, name);
        if (!statSync(file).isFile()) continue;
        const bytes = readFileSync(file);
        const text = bytes.toString('utf8');
        const utf8 = Buffer.from(text, 'utf8').equals(bytes) && !text.includes('\u0000');
        await store.putArtifact(lease, { kind: 'file', name, mime: utf8 ? 'text/plain' : 'application/octet-stream', content: utf8 ? text : bytes.toString('base64'), meta: { encoding: utf8 ? 'utf8' : 'base64', size: bytes.length } });
        rmSync(file);
      }
    }
    for (const link of this.links.splice(0)) {
      await store.putArtifact(lease, { kind: 'link', name: link.title, mime: 'text/uri-list', content: link.url, meta: { url: link.url } });
      this.links.push(link);
    }
  }

  /** Watches the log for `::artifact link <title> <url>` lines. */
  watchLinks(): void {
    this.host.log.onLine = (stream, text) => {
      const m = stream === 'stdout' ? artifactLine.exec(text) : null;
      if (m && !this.links.some((l) => l.url === m[2])) this.links.push({ title: m[1]!, url: m[2]! });
    };
  }

  // ---- inputs --------------------------------------------------------------------------------------------------------

  private openInputs(): InputValues {
    const values: InputValues = {};
    for (const [k, v] of Object.entries(this.spec.inputs)) {
      if (typeof v === 'object') {
        if (!this.settings.secrets) throw new OcrError('invalid_state', `inputs.${k} is secret and this worker has no key to open it`, 'give the worker the key file of whoever queued the run (OCR_SECRET_KEY_FILE)');
        const clear = this.settings.secrets().open(v.sealed);
        values[k] = clear;
        this.secretValues.push(clear);
      } else values[k] = v;
    }
    return values;
  }

  private maskedInputs(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this.spec.inputs).map(([k, v]) => [k, typeof v === 'object' ? '***' : v]));
  }

  private row(stepId: string): RunStep {
    const row = this.steps.find((s) => s.step_id === stepId);
    if (!row) throw new OcrError('invalid_state', `step ${stepId} has no row in the run's plan`);
    return row;
  }

  private async move(row: RunStep, status: 'running' | 'succeeded' | 'failed' | 'canceled' | 'skipped', exitCode: number | null = null, error: string | null = null): Promise<RunStep> {
    const moved = await this.host.store.moveStep(this.host.lease, row.idx, status, { exitCode, error });
    this.steps = this.steps.map((s) => (s.idx === moved.idx ? moved : s));
    return moved;
  }

  private async skipRest(): Promise<void> {
    for (const s of this.steps) if (s.status === 'queued') await this.move(s, 'skipped');
  }
}

/** The pause before try `attempt + 1`: the initial pause, doubled each time for exponential backoff; in ms. */
export function backoff(policy: { backoff: 'exponential' | 'fixed'; initial_seconds: number }, attempt: number): number {
  const seconds = policy.backoff === 'fixed' ? policy.initial_seconds : policy.initial_seconds * 2 ** (attempt - 1);
  return Math.min(seconds, 3600) * 1000;
}

async function head(folder: string): Promise<string | undefined> {
  try {
    return (await git(folder, ['rev-parse', 'HEAD'])).trim();
  } catch {
    return undefined;
  }
}

export { runbookEnvOf };
