// `ocr worker`, `ocr workers`, `ocr diff`
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { formatStat, patchText } from '../engine/diff';
import { AgentProfiles } from '../engine/executors';
import { Worker, WorkerOptions } from '../engine/worker';
import { cleanSessionWorktrees } from '../engine/worktree';
import { OcrError } from '../store/errors';
import type { Store } from '../store/store';
import { DiffSummary, formatDuration, type Session, shortId, timeAgo, type WorkerRow } from '../../domain';
import { table } from './format';

export interface WorkerCommandsContext {
  openStore(): Promise<Store>;
  print(human: string, json: unknown): void;
  jsonMode(): boolean;
}

/** For `ocr session archive --clean`: removes the session's worktrees (and branches) and names what it removed. */
export async function cleanWorktrees(session: Session, options: { keepBranches: boolean }): Promise<string[]> {
  const result = await cleanSessionWorktrees(session, options);
  return result.removedWorktrees.length > 0 ? result.removedWorktrees : result.removedFolders;
}

interface WorkerFlags {
  id?: string;
  concurrency?: number;
  lanes?: string[];
  repo: string[];
  exitWhenIdle?: boolean;
  lease?: number;
  grace?: number;
  worktrees?: string;
  copy?: string[];
  setup?: string;
  agents?: string;
  agent?: string;
}

const wholeNumber = (flag: string, min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`${flag} ${JSON.stringify(value)}: give a whole number from ${min} to ${max}`);
  return n;
};
const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter(Boolean);
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerWorkerCommands(program: Command, ctx: WorkerCommandsContext): void {
  program
    .command('worker')
    .description('claim and execute runs until stopped (SIGTERM or Ctrl-C drains: running runs get --grace to finish)')
    .option('--id <id>', 'the worker id (default: WORKER_ID, else host-pid)')
    .option('--concurrency <n>', 'runs at once (default: CONCURRENCY, else 4)', wholeNumber('--concurrency', 1, 256))
    .option('--lanes <A,B>', 'serve only these lanes', list)
    .option('--repo <path>', 'a clone this worker serves sessions of (repeatable); sessions started on this machine are found by themselves', collect, [])
    .option('--exit-when-idle', 'exit once nothing it can serve is queued or running')
    .option('--lease <seconds>', 'lease length; one heartbeat renews all leases every few seconds (default 30)', wholeNumber('--lease', 2, 3600))
    .option('--grace <seconds>', 'on SIGTERM/SIGINT, how long running runs may go on before they are canceled (default 30)', wholeNumber('--grace', 0, 86_400))
    .option('--worktrees <dir>', 'where lane worktrees live (default: OCR_WORKTREES, else next to the embedded database)')
    .option('--copy <files>', 'files copied from your tree into each new worktree (default .env,.env.local)', list)
    .option('--setup <command>', 'run once in each new worktree, before its first run (default: OCR_WORKTREE_SETUP)')
    .option('--agents <file>', 'a JSON file of agent profiles: {"name": ["cli", "--flag", "{prompt}"]} (default: OCR_AGENT_PROFILES as JSON)')
    .option('--agent <profile>', 'the profile of agent runs that name none (default: OCR_DEFAULT_AGENT, else claude)')
    .action(async (flags: WorkerFlags) => {
      const options = workerOptions(flags);
      const store = await ctx.openStore();
      const say = (human: string, json: Record<string, unknown>) => {
        if (ctx.jsonMode()) process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), ...json })}\n`);
        else process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${human}\n`);
      };
      const worker = new Worker(store, options, (line) => say(line, { event: 'log', message: line }));
      worker.onRunStarted((run) => say(`run ${run.id.slice(0, 8)} started in lane ${run.lane} (attempt ${run.attempt})`, { event: 'run_started', run_id: run.id, lane: run.lane, attempt: run.attempt }));
      worker.onRunFinished((run, end) =>
        say(
          `run ${run.id.slice(0, 8)} ${end.status}${end.status !== 'lost' && end.exitCode !== null ? ` (exit ${end.exitCode})` : ''}${end.error ? `: ${end.error}` : ''}`,
          { event: 'run_finished', run_id: run.id, status: end.status, error: end.error },
        ),
      );
      const graceMs = (flags.grace ?? 30) * 1000;
      let stopping: Promise<void> | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          say(`${signal} again: canceling the runs still going`, { event: 'stopping', signal, graceMs: 0 });
          void worker.stop({ graceMs: 0 });
          return;
        }
        say(`${signal}: no more claims; running runs have ${formatDuration(graceMs)} to finish`, { event: 'stopping', signal, graceMs });
        stopping = worker.stop({ graceMs });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await worker.start();
        const s = worker.status();
        say(`worker ${s.id} started: ${s.capacity} slot(s), store ${store.description}`, { event: 'started', worker_id: s.id, concurrency: s.capacity });
        if (flags.exitWhenIdle) {
          await Promise.race([worker.whenIdle(), new Promise<void>((r) => worker.onStatusChange((st) => st.state === 'stopped' && r()))]);
          if (!stopping) say('nothing left to serve; stopping', { event: 'idle' });
          stopping ??= worker.stop({ graceMs });
        } else {
          await new Promise<void>((resolve) => worker.onStatusChange((st) => st.state === 'stopped' && resolve()));
        }
        await stopping;
        say(`worker ${s.id} stopped`, { event: 'stopped', worker_id: s.id });
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });

  program
    .command('workers')
    .description('the workers, their state, their running runs and their last heartbeat')
    .action(async () => {
      const store = await ctx.openStore();
      const [workers, running] = await Promise.all([store.listWorkers(), store.listRuns({ status: ['running'], limit: 10_000 })]);
      const now = Date.now();
      const rows = workers.map((w) => {
        const runs = running.filter((r) => r.claimed_by === w.id);
        return { worker: w, runs, seen: liveness(w, now) };
      });
      if (ctx.jsonMode()) {
        ctx.print('', rows.map(({ worker, runs, seen }) => ({ ...worker, liveness: seen, running: runs.map((r) => ({ id: r.id, session_id: r.session_id, lane: r.lane, started_at: r.started_at })) })));
        return;
      }
      if (rows.length === 0) {
        ctx.print('no workers yet; start one with `ocr worker`', []);
        return;
      }
      const human = table(
        ['WORKER', 'STATE', 'HOST', 'PID', 'RUNNING', 'HEARTBEAT', 'AGENTS', 'RUNS'],
        rows.map(({ worker: w, runs, seen }) => [
          w.id,
          seen === 'ok' ? w.state : `${w.state} (${seen})`,
          w.host,
          String(w.pid ?? ''),
          `${runs.length}/${w.concurrency}`,
          timeAgo(w.last_heartbeat, now),
          stringList(w.labels.agents).join(',') || '-',
          runs.map((r) => `${shortId(r.id)}:${r.lane}`).join(' '),
        ]),
      );
      ctx.print(human, rows);
    });

  program
    .command('diff')
    .description("a run's diff against its session's base: a patch `git apply` accepts")
    .argument('<run>', 'the run id (or its first characters)')
    .option('--stat', 'only the summary: files, insertions, deletions')
    .action(async (runText: string, o: { stat?: boolean }) => {
      const store = await ctx.openStore();
      const runId = await store.resolveId('run', runText);
      const artifact = await store.getArtifact(runId, 'diff');
      if (!artifact) {
        const run = await store.getRun(runId);
        throw new OcrError(
          'not_found',
          `run ${runId.slice(0, 8)} has no diff`,
          run.status === 'queued' || run.status === 'running'
            ? `it is ${run.status}; its diff is recorded when it ends`
            : 'runs of sessions without a repository leave none',
        );
      }
      const summary = DiffSummary.parse(artifact.meta);
      if (ctx.jsonMode()) {
        ctx.print('', { run_id: runId, ...summary, ...(o.stat ? {} : { patch: artifact.content ?? '' }) });
        return;
      }
      if (o.stat) {
        process.stdout.write(formatStat(summary, process.stdout.columns || 80));
        return;
      }
      if (summary.omitted) {
        throw new OcrError('invalid_state', `the diff of run ${runId.slice(0, 8)} was too large to store`, 'see the lane worktree itself, or `ocr diff RUN --stat`');
      }
      process.stdout.write(patchText(artifact.content ?? '', summary));
    });
}

function workerOptions(flags: WorkerFlags): WorkerOptions {
  const env = process.env;
  const envNumber = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v.trim())) throw new OcrError('invalid_input', `${name}=${JSON.stringify(v)}: give a whole number`);
    return Number(v);
  };
  const options: WorkerOptions = {
    id: flags.id ?? (env.WORKER_ID || undefined),
    concurrency: flags.concurrency ?? envNumber('CONCURRENCY') ?? 4,
    lanes: flags.lanes,
    repos: flags.repo,
    leaseSeconds: flags.lease,
    worktreeRoot: flags.worktrees,
    copyFiles: flags.copy,
    setupCommand: flags.setup ?? (env.OCR_WORKTREE_SETUP || undefined),
    agents: agentProfilesFrom(flags.agents),
    defaultAgent: flags.agent ?? (env.OCR_DEFAULT_AGENT || undefined),
  };
  const parsed = WorkerOptions.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new OcrError('invalid_input', `${issue.path.join('.') || 'worker options'}: ${issue.message}`);
  }
  return options;
}

function agentProfilesFrom(file: string | undefined): AgentProfiles | undefined {
  const [source, text] = file
    ? [`--agents ${file}`, readText(file)]
    : process.env.OCR_AGENT_PROFILES
      ? ['OCR_AGENT_PROFILES', process.env.OCR_AGENT_PROFILES]
      : [undefined, undefined];
  if (!source || text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new OcrError('invalid_input', `${source}: not JSON (${(e as Error).message})`, 'write {"name": ["cli", "--flag", "{prompt}"]}');
  }
  const r = AgentProfiles.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new OcrError('invalid_input', `${source}: ${issue.path.join('.') || 'profiles'}: ${issue.message}`, 'write {"name": ["cli", "--flag", "{prompt}"]}');
  }
  return r.data;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new OcrError('invalid_input', `--agents ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** A worker that has not sent a heartbeat for a while may be dead: its row stays until it comes back. */
function liveness(w: WorkerRow, now: number): 'ok' | 'silent' {
  return w.state !== 'stopped' && now - Date.parse(w.last_heartbeat) > 60_000 ? 'silent' : 'ok';
}

const stringList = (v: unknown): string[] => z.array(z.string()).catch([]).parse(v);
