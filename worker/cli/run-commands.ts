// `ocr run`, `ocr status`, `ocr logs`, `ocr cancel`, `ocr retry`
import { type Command, Option } from 'commander';
import { defaultPriority, type LaneRunRequest, type Run, type RunEvent, type RunStep, runDuration, shortId, timeAgo } from '../../domain';
import { followRun } from '../runs/follow-run';
import { OcrError } from '../store/errors';
import type { Store } from '../store/store';
import { queueLaneRun } from '../runs/queue-lane-run';
import type { CliContext } from './context';
import { plain, plainLog, runJson, table } from './format';
import { agentOption, allowToolOption, intOption, laneMaxCostOption, maxCostOption, modelOption, priorityOption, sessionMaxCostOption } from './options';
import { followUpText } from '../runs/follow-up';

export function registerRunCommands(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('queue a run in a lane of a session')
    .requiredOption('--session <id>', 'the session (id or its first characters)')
    .requiredOption('--lane <lane>', 'one of the session\'s lanes')
    .option('--priority <n>', `lower runs first (default ${defaultPriority})`, priorityOption, defaultPriority)
    .addOption(new Option('--executor <executor>', 'how to run the intent').choices(['shell', 'agent']).default('shell'))
    .option('--agent <profile>', 'run the intent as the prompt of this agent profile (claude, codex, gemini, aider or a custom one)', agentOption)
    .option('--follow-up', "continue the lane's last agent conversation (a new one when it has none, or it is with another profile)")
    .option('--model <model>', "the agent's model, in its CLI's naming", modelOption)
    .option('--allow-tool <tool>', 'a tool the agent may use without asking, in its CLI\'s naming, such as "Bash(npm test)" (repeatable)', allowToolOption, [] as string[])
    .option('--max-cost <usd>', 'stop the agent once it has cost this many US dollars', maxCostOption)
    .option('--session-max-cost <usd>', "what the session's agent runs may cost in all: refused when spent, else the run may cost what is left", sessionMaxCostOption)
    .option('--lane-max-cost <usd>', "what the lane's agent runs may cost in all: refused when spent, else the run may cost what is left", laneMaxCostOption)
    .option('--max-minutes <n>', 'stop the run after this many minutes', intOption('--max-minutes', 1, maxTimeoutSeconds / 60))
    .option('--timeout <seconds>', 'stop the run after this long (default 3600)', intOption('--timeout', 1, maxTimeoutSeconds))
    .argument('<intent...>', 'what to run: a shell command, or the prompt for an agent')
    .action(async (words: string[], o: RunFlags, command: Command) => {
      const request = laneRunFlags(o, command.getOptionValueSource('executor') === 'cli');
      const store = await ctx.openStore();
      const run = await queueLaneRun(store, {
        session_id: await store.resolveId('session', o.session),
        lane: o.lane,
        intent: words.join(' '),
        priority: o.priority,
        ...request,
      });
      const conversation = run.followUp ? `; ${followUpText(run.followUp)}` : '';
      ctx.print(`queued run ${shortId(run.id)} in lane ${plain(run.lane)}${plain(conversation, 300)}\n${run.id}`, { id: run.id, ...(run.followUp ? { follow_up: run.followUp } : {}) });
    });

  program
    .command('status')
    .description('sessions and their runs')
    .option('--session <id>', 'only this session')
    .option('--limit <n>', 'at most this many runs (newest first)', intOption('--limit', 1, 100_000), 50)
    .action(async (o: { session?: string; limit: number }) => {
      const store = await ctx.openStore();
      const sessionId = o.session ? await store.resolveId('session', o.session) : undefined;
      const sessions = sessionId ? [await store.getSession(sessionId)] : await store.listSessions();
      const runs = await store.listRuns({ sessionId, limit: o.limit });
      const titles = new Map(sessions.map((s) => [s.id, s.title]));
      const shown = sessionId ? runs : runs.filter((r) => titles.has(r.session_id));
      const human =
        sessions.length === 0
          ? 'no sessions yet; start one with `ocr session new --title …`'
          : summary(shown) +
            '\n' +
            table(
              ['RUN', 'SESSION', 'LANE', 'STATUS', 'PRI', 'TRY', 'WORKER', 'TIME', 'INTENT'],
              shown.map((r) => [
                shortId(r.id),
                plain(titles.get(r.session_id) ?? shortId(r.session_id), 20),
                plain(r.lane),
                r.status + (r.cancel_requested_at && r.status === 'running' ? ' (canceling)' : ''),
                String(r.priority),
                `${r.attempt}/${r.max_attempts}`,
                plain(r.claimed_by ?? ''),
                r.status === 'queued' ? timeAgo(r.created_at) : runDuration(r),
                plain(r.intent, 50) + (r.error ? `  [${plain(r.error, 40)}]` : ''),
              ]),
            ) +
            waitingText(shown);
      // a run parked at an approval says what it waits for; other runs keep the fields they always had
      ctx.print(human, { sessions, runs: shown.map((r) => (r.approval ? { ...runJson(r), approval: r.approval } : runJson(r))) });
    });

  program
    .command('logs')
    .description("print a run's log")
    .argument('<run>', 'the run (id or its first characters)')
    .option('-f, --follow', 'keep printing until the run ends')
    .option('--step <id>', "only the lines of this step of a runbook run (its id, as the runbook names it)")
    .action(async (id: string, o: { follow?: boolean; step?: string }) => {
      const store = await ctx.openStore();
      const runId = await store.resolveId('run', id);
      const step = o.step === undefined ? undefined : await stepOf(store, runId, o.step);
      const events: RunEvent[] = [];
      const emit = (all: RunEvent[]) => {
        const batch = step ? all.filter((e) => ofStep(e, step.step_id)) : all;
        if (ctx.jsonMode()) events.push(...batch);
        else process.stdout.write(batch.map(renderLine).join(''));
      };
      if (o.follow) {
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once('SIGINT', stop);
        const end = await followRun(store, runId, 0, emit, abort.signal);
        process.off('SIGINT', stop);
        if (end.kind === 'failed') throw end.error;
      } else {
        for (let after = 0; ; ) {
          const batch = await store.listEvents(runId, after, 5000);
          if (batch.length === 0) break;
          emit(batch);
          after = batch[batch.length - 1]!.seq;
        }
      }
      if (ctx.jsonMode()) {
        const run = await store.getRun(runId);
        ctx.print('', step ? { run: runJson(run), step: await stepOf(store, runId, step.step_id), events } : { run: runJson(run), events });
      }
    });

  program
    .command('cancel')
    .description('cancel a run: a queued run at once, a running run is stopped by its worker')
    .argument('<run>', 'the run (id or its first characters)')
    .action(async (id: string) => {
      const store = await ctx.openStore();
      const { outcome, run } = await store.cancelRun(await store.resolveId('run', id));
      const human = {
        canceled: `canceled run ${shortId(run.id)}`,
        cancel_requested: `asked worker ${plain(run.claimed_by ?? '')} to stop run ${shortId(run.id)}`,
        already_finished: `run ${shortId(run.id)} already finished (${run.status}); nothing to cancel`,
      }[outcome];
      ctx.print(human, { id: run.id, outcome, status: run.status });
    });

  program
    .command('retry')
    .description('queue a finished run again, as a new run')
    .argument('<run>', 'the run (id or its first characters)')
    .action(async (id: string) => {
      const store = await ctx.openStore();
      const run = await store.retryRun(await store.resolveId('run', id));
      ctx.print(`queued run ${shortId(run.id)} in lane ${plain(run.lane)} (retry of ${shortId(run.retry_of!)})\n${run.id}`, { id: run.id });
    });
}

function summary(runs: Run[]): string {
  const count = (s: Run['status']) => runs.filter((r) => r.status === s).length;
  const waiting = count('waiting') > 0 ? ` · ${count('waiting')} waiting` : '';
  return `${count('running')} running${waiting} · ${count('queued')} queued · ${count('succeeded')} succeeded · ${count('failed')} failed · ${count('canceled')} canceled\n`;
}

/** The runs parked at an approval step: which step, its message, who may decide, and the commands that do. */
function waitingText(runs: Run[]): string {
  const waiting = runs.filter((r) => r.status === 'waiting' && r.approval);
  if (waiting.length === 0) return '';
  const lines = waiting.map((r) => {
    const a = r.approval!;
    const who = a.approvers.length > 0 ? `; approvers: ${plain(a.approvers.join(', '), 80)}` : '';
    return `  ${shortId(r.id)}  lane ${plain(r.lane)}  step ${plain(a.step_id)}: ${plain(a.message ?? 'approval', 100)}${who} (since ${timeAgo(a.requested_at)})`;
  });
  return `\nwaiting for approval (ocr approve RUN, or ocr reject RUN --reason …):\n${lines.join('\n')}\n`;
}

/** The step `stepId` of a run, or one line naming the run's steps. */
async function stepOf(store: Store, runId: string, stepId: string): Promise<RunStep> {
  const steps = await store.listSteps(runId);
  const step = steps.find((s) => s.step_id === stepId);
  if (step) return step;
  throw new OcrError(
    'invalid_input',
    `--step ${JSON.stringify(plain(stepId, 60))}: run ${shortId(runId)} has no such step`,
    steps.length > 0 ? `its steps: ${steps.map((s) => plain(s.step_id)).join(', ')}` : 'it has no steps: only a runbook run has steps, once its worker has started it',
  );
}

/** A line of the step: its own output and the worker's lines about it (`step <id>: …`, written between its steps). */
function ofStep(e: RunEvent, stepId: string): boolean {
  return e.step === stepId || (e.stream === 'system' && e.step === null && e.text.startsWith(`step ${stepId}:`));
}

/** One event of a log as a terminal shows it without colors (`ocr logs`: text from a run, never its escapes). */
function renderLine(e: RunEvent): string {
  const text = plainLog(e.text.endsWith('\n') ? e.text.slice(0, -1) : e.text) + '\n';
  return e.stream === 'system' ? `── ${text}` : text;
}

const maxTimeoutSeconds = 7 * 24 * 3600;

interface RunFlags {
  session: string;
  lane: string;
  priority: number;
  executor: 'shell' | 'agent';
  agent?: string;
  followUp?: boolean;
  model?: string;
  allowTool: string[];
  maxCost?: number;
  sessionMaxCost?: number;
  laneMaxCost?: number;
  maxMinutes?: number;
  timeout?: number;
}

/**
 * How `ocr run`'s flags become a lane run request. A flag that only an agent run takes (--follow-up, --model,
 * --allow-tool, --max-cost) makes the run an agent run, unless --executor shell says otherwise: then it is refused by name.
 */
export function laneRunFlags(o: RunFlags, executorGiven: boolean): Omit<LaneRunRequest, 'session_id' | 'lane' | 'intent'> {
  const agentFlags = [
    o.followUp && '--follow-up',
    o.model !== undefined && '--model',
    o.allowTool.length > 0 && '--allow-tool',
    o.maxCost !== undefined && '--max-cost',
    o.sessionMaxCost !== undefined && '--session-max-cost',
    o.laneMaxCost !== undefined && '--lane-max-cost',
  ].filter((f): f is string => typeof f === 'string');
  if (o.agent !== undefined && executorGiven && o.executor === 'shell') {
    throw new OcrError('invalid_input', '--agent: an agent profile runs the intent as a prompt, not through the shell', 'leave out --executor shell');
  }
  if (agentFlags.length > 0 && executorGiven && o.executor === 'shell') {
    throw new OcrError('invalid_input', `${agentFlags[0]}: applies to a coding-agent run, not to --executor shell`, 'leave out --executor shell, or name the agent with --agent');
  }
  if (o.maxMinutes !== undefined && o.timeout !== undefined) {
    throw new OcrError('invalid_input', '--max-minutes: the run already has a time limit from --timeout', 'give one of --max-minutes and --timeout');
  }
  const agent = o.agent !== undefined || o.executor === 'agent' || agentFlags.length > 0;
  const timeout = o.maxMinutes !== undefined ? o.maxMinutes * 60 : o.timeout;
  return {
    run_with: agent ? { executor: 'agent', profile: o.agent } : { executor: 'shell' },
    ...(o.followUp ? { follow_up: true } : {}),
    ...(o.model !== undefined ? { model: o.model } : {}),
    ...(o.allowTool.length > 0 ? { allowed_tools: o.allowTool } : {}),
    ...(o.maxCost !== undefined ? { max_cost_usd: o.maxCost } : {}),
    ...(o.sessionMaxCost !== undefined ? { session_max_cost_usd: o.sessionMaxCost } : {}),
    ...(o.laneMaxCost !== undefined ? { lane_max_cost_usd: o.laneMaxCost } : {}),
    ...(timeout !== undefined ? { timeout_seconds: timeout } : {}),
  };
}
