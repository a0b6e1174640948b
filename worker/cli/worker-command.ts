// `ocr worker`: claim and execute runs until stopped. SIGTERM or Ctrl-C drains: no more claims, running runs get
// --grace to finish, then they are canceled; a second signal cancels them at once.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { version } from '../../package.json';
import { AgentPrices, defaultConcurrency, formatDuration, jsonForTerminal, plainOneLine, shortId } from '../../domain';
import { AgentProfiles, defaultShells } from '../engine/executors';
import { defaultRunEnvNames } from '../engine/run-env';
import { Worker, WorkerOptions } from '../engine/worker';
import { HttpWorkerStore } from '../api/http-store';
import { OcrError, parseInput } from '../store/errors';
import type { CliContext } from './context';
import { intOption } from './options';

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
  linkDirs?: string[];
  linkMode?: string;
  agents?: string;
  agent?: string;
  prices?: string;
  passEnv: string[];
  allowEnv: string[];
  shell: string[];
  api?: string;
  token?: string;
}

type Say = (human: string, json: Record<string, unknown>) => void;

const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter(Boolean);
const collect = (value: string, previous: string[]): string[] => [...previous, value];
const collectList = (value: string, previous: string[]): string[] => [...previous, ...list(value)];

export function registerWorkerCommand(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('claim and execute runs until stopped (SIGTERM or Ctrl-C drains: running runs get --grace to finish)')
    .option('--id <id>', 'the worker id (default: WORKER_ID, else host-pid)')
    .option('--concurrency <n>', `runs at once (default: CONCURRENCY, else ${defaultConcurrency})`, intOption('--concurrency', 1, 256))
    .option('--lanes <A,B>', 'serve only these lanes', list)
    .option('--repo <path>', 'a clone this worker serves sessions of (repeatable); sessions started on this machine are found by themselves', collect, [])
    .option('--exit-when-idle', 'exit once nothing it can serve is queued or running')
    .option('--lease <seconds>', 'lease length; one heartbeat renews all leases every few seconds (default 30)', intOption('--lease', 2, 3600))
    .option('--grace <seconds>', 'on SIGTERM/SIGINT, how long running runs may go on before they are canceled (default 30)', intOption('--grace', 0, 86_400))
    .option('--worktrees <dir>', 'where lane worktrees live (default: OCR_WORKTREES, else next to the embedded database)')
    .option('--copy <files>', 'files copied from your tree into each new worktree (default .env,.env.local)', list)
    .option('--link-dirs <dirs>', "folders of your checkout each new worktree gets without installing them again, comma-separated, e.g. node_modules,.venv; ignored or untracked ones only (default: OCR_WORKTREE_LINK_DIRS)", list)
    .option('--link-mode <mode>', 'how: auto (a copy-on-write clone where the filesystem makes one, else hard links), clone, hardlink (files shared with your checkout: writing into one changes yours) or symlink (default auto)')
    .option('--setup <command>', 'run once in each new worktree, before its first run (default: OCR_WORKTREE_SETUP)')
    .option('--agents <file>', 'a JSON file of agent profiles: {"name": ["cli", "--flag", "{prompt}"]} (default: OCR_AGENT_PROFILES as JSON)')
    .option('--agent <profile>', 'the profile of agent runs that name none (default: OCR_DEFAULT_AGENT, else claude)')
    .option('--prices <file>', 'a JSON file of model prices in USD per million tokens, over the built-in table: {"model": {"input": 1.25, "cachedInput": 0.125, "output": 10}} (default: OCR_AGENT_PRICES as JSON)')
    .option('--pass-env <NAMES>', 'more names of this environment its runs see, comma-separated, a trailing * for a prefix (repeatable)', collectList, [])
    .option('--allow-env <NAMES>', "names a run's spec.env may set, besides CI, DEBUG, NODE_ENV… (repeatable)", collectList, [])
    .option('--shell <path>', "a shell a run's spec.shell may name, besides the common ones (repeatable)", collect, [])
    .option('--api <url>', 'reach the queue through the ops-api edge function at this URL instead of a database (default: OCR_API_URL)')
    .option('--token <token>', 'the worker token for --api, from `ocr token create` (default: OCR_WORKER_TOKEN, which keeps it off the command line)')
    .action(async (flags: WorkerFlags) => runWorker(ctx, flags));
}

async function runWorker(ctx: CliContext, flags: WorkerFlags): Promise<void> {
  const options = workerOptions(flags);
  const say: Say = (human, json) => {
    // a run's error can quote what a run or a repository said: it is shown as text, never as terminal escapes
    if (ctx.jsonMode()) process.stdout.write(`${jsonForTerminal({ ts: new Date().toISOString(), ...json })}\n`);
    else process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${plainOneLine(human)}\n`);
  };
  const api = apiOptions(flags);
  let worker: Worker | undefined;
  const http = api
    ? new HttpWorkerStore({
        ...api,
        log: (line) => say(line, { event: 'log', message: line }),
        // a revoked token: nothing the worker sends is taken any more, so its runs stop now
        onTokenRefused: (message) => {
          say(`the API refused the worker token (${message}); stopping`, { event: 'token_refused', message });
          process.exitCode = 1;
          void worker?.stop({ graceMs: 0 });
        },
      })
    : undefined;
  const store = http ?? (await ctx.openStore());
  worker = new Worker(store, options, (line) => say(line, { event: 'log', message: line }));
  reportRuns(worker, say);
  const graceMs = (flags.grace ?? 30) * 1000;
  const signals = stopOnSignals(worker, graceMs, say);
  try {
    await worker.start();
    const s = worker.status();
    say(`worker ${s.id} started: ${s.capacity} slot(s), store ${store.description}`, { event: 'started', worker_id: s.id, concurrency: s.capacity });
    const stopped = new Promise<void>((resolve) => worker.onStatusChange((st) => st.state === 'stopped' && resolve()));
    if (flags.exitWhenIdle) {
      await Promise.race([worker.whenIdle(), stopped]);
      if (!signals.stopping()) say('nothing left to serve; stopping', { event: 'idle' });
      await (signals.stopping() ?? worker.stop({ graceMs }));
    } else {
      await stopped;
    }
    await signals.stopping();
    say(`worker ${s.id} stopped`, { event: 'stopped', worker_id: s.id });
  } finally {
    signals.dispose();
    await http?.close();
  }
}

/** --api and --token (or OCR_API_URL and OCR_WORKER_TOKEN): both, or neither. */
function apiOptions(flags: WorkerFlags): { url: string; token: string } | undefined {
  const url = flags.api ?? (process.env.OCR_API_URL || undefined);
  const token = flags.token ?? (process.env.OCR_WORKER_TOKEN || undefined);
  if (!url && !token) return undefined;
  if (!url) throw new OcrError('invalid_input', '--token: a worker token is for --api', 'give the ops-api function\'s URL with --api or OCR_API_URL');
  if (!token) throw new OcrError('invalid_input', '--api: needs a worker token', 'give it with OCR_WORKER_TOKEN (or --token); `ocr token create --name NAME` makes one');
  return { url, token };
}

function reportRuns(worker: Worker, say: Say): void {
  worker.onRunStarted((run) => say(`run ${shortId(run.id)} started in lane ${run.lane} (attempt ${run.attempt})`, { event: 'run_started', run_id: run.id, lane: run.lane, attempt: run.attempt }));
  worker.onRunFinished((run, end) => {
    const exitCode = 'exitCode' in end ? end.exitCode : null;
    const error = 'error' in end ? end.error : null;
    const what = end.status === 'parked' ? 'waiting for approval' : end.status === 'requeued' ? 'queued again for later' : end.status;
    say(`run ${shortId(run.id)} ${what}${exitCode !== null ? ` (exit ${exitCode})` : ''}${error ? `: ${error}` : ''}`, { event: 'run_finished', run_id: run.id, status: end.status, error });
  });
}

/** The first SIGTERM/SIGINT drains with `graceMs`; a second one cancels what still runs. */
function stopOnSignals(worker: Worker, graceMs: number, say: Say): { stopping(): Promise<void> | undefined; dispose(): void } {
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
  return {
    stopping: () => stopping,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}

/** The worker's options from its flags, then its environment, checked with the engine's own schema. */
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
    concurrency: flags.concurrency ?? envNumber('CONCURRENCY') ?? defaultConcurrency,
    lanes: flags.lanes,
    repos: flags.repo,
    leaseSeconds: flags.lease,
    worktreeRoot: flags.worktrees,
    copyFiles: flags.copy,
    setupCommand: flags.setup ?? (env.OCR_WORKTREE_SETUP || undefined),
    linkDirs: flags.linkDirs ?? (env.OCR_WORKTREE_LINK_DIRS ? list(env.OCR_WORKTREE_LINK_DIRS) : undefined),
    linkMode: flags.linkMode as WorkerOptions['linkMode'],
    version,
    agents: jsonOption(flags.agents, '--agents', 'OCR_AGENT_PROFILES', AgentProfiles, 'write {"name": ["cli", "--flag", "{prompt}"]} or {"name": {"cli": "claude", "program": "/path/to/claude"}}'),
    prices: jsonOption(flags.prices, '--prices', 'OCR_AGENT_PRICES', AgentPrices, 'write {"model": {"input": 1.25, "cachedInput": 0.125, "output": 10}}'),
    defaultAgent: flags.agent ?? (env.OCR_DEFAULT_AGENT || undefined),
    passEnv: flags.passEnv,
    allowEnv: flags.allowEnv.length > 0 ? [...defaultRunEnvNames, ...flags.allowEnv] : undefined,
    shells: flags.shell.length > 0 ? [...defaultShells(), ...flags.shell] : undefined,
  };
  parseInput(WorkerOptions, options);
  return options;
}

/** A JSON option from a file (the flag) or the environment: undefined when neither is given, else checked by `schema`. */
function jsonOption<T extends z.ZodTypeAny>(file: string | undefined, flag: string, envName: string, schema: T, fix: string): z.output<T> | undefined {
  const [source, text] = file ? [`${flag} ${file}`, readText(file, flag)] : process.env[envName] ? [envName, process.env[envName]!] : [undefined, undefined];
  if (!source || text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new OcrError('invalid_input', `${source}: not JSON (${(e as Error).message})`, fix);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new OcrError('invalid_input', `${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, fix);
  }
  return r.data;
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new OcrError('invalid_input', `${flag} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
