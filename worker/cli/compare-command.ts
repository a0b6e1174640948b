// `ocr compare new`: one intent tried in 2 to 4 lanes, each its own way; `ocr compare GROUP`: the attempts side by side;
// `ocr compare list`: a session's comparisons.
import type { Command } from 'commander';
import { agentProfileName, type AttemptRow, type ComparisonAttempt, describeChecks, describeDiff, formatUsd, laneName, maxAttempts, shortId } from '../../domain';
import { compareGroup, queueComparison, sessionGroups } from '../lanes/compare';
import { OcrError } from '../store/errors';
import type { CliContext } from './context';
import { plain, table } from './format';
import { intOption, maxCostOption } from './options';

const maxTimeoutSeconds = 30 * 24 * 3600;
const attemptHint = 'write LANE=HOW[:INTENT]: HOW is shell, agent or an agent profile, such as A=claude, B=codex or "C=shell:./fix.sh"';

/** `A=claude`, `B=agent`, `C=shell:./fix.sh`: a lane, how it runs, and (after ":") its own intent. */
export function attemptOption(value: string, previous: ComparisonAttempt[] = []): ComparisonAttempt[] {
  const m = /^([^=:]+)=([^:]+)(?::([\s\S]*))?$/.exec(value.trim());
  if (!m) throw new OcrError('invalid_input', `--attempt: ${JSON.stringify(value)} is not an attempt`, attemptHint);
  const lane = laneName.safeParse(m[1]!.trim());
  if (!lane.success) throw new OcrError('invalid_input', `--attempt: ${JSON.stringify(m[1])} is not a lane name`, 'a lane name is 1 to 16 letters, digits, "-" or "_"');
  const how = m[2]!.trim();
  const own = m[3]?.trim();
  let run_with: ComparisonAttempt['run_with'];
  if (how === 'shell') run_with = { executor: 'shell' };
  else if (how === 'agent') run_with = { executor: 'agent' };
  else if (agentProfileName.safeParse(how).success) run_with = { executor: 'agent', profile: how };
  else throw new OcrError('invalid_input', `--attempt: ${JSON.stringify(how)} is neither shell, agent nor an agent profile name`, attemptHint);
  return [...previous, { lane: lane.data, run_with, ...(own ? { intent: own } : {}) }];
}

export function registerCompareCommand(program: Command, ctx: CliContext): void {
  const compare = program
    .command('compare')
    .description('try one intent in several lanes, each its own way, and compare the attempts')
    .argument('[group]', 'the comparison group id (or its first characters)')
    .action(async (groupText: string | undefined) => {
      if (!groupText) throw new OcrError('invalid_input', 'group: say which comparison to show', '`ocr compare list --session S` lists them; `ocr compare new` queues one');
      const store = await ctx.openStore();
      const groupId = await store.resolveId('group', groupText);
      const comparison = await compareGroup(store, groupId);
      const state = comparison.done ? 'done' : 'in progress';
      ctx.print(`comparison ${shortId(groupId)} (${state}): ${plain(comparison.intent, 200)}\n${attemptTable(comparison.attempts)}`, comparison);
    });

  compare
    .command('new')
    .description('queue one intent in 2 to 4 lanes as a comparison group')
    .requiredOption('--session <id>', 'the session (id or its first characters)')
    .requiredOption('--attempt <LANE=HOW[:INTENT]>', `an attempt (repeat ${2} to ${maxAttempts} times): A=claude, B=codex, "C=shell:./fix.sh"`, attemptOption, [] as ComparisonAttempt[])
    .option('--verify <command>', 'a shell command run in each attempt\'s worktree after it, such as "npm test": its result is the checks column')
    .option('--max-cost <usd>', 'stop each agent attempt once it has cost this many US dollars', maxCostOption)
    .option('--timeout <seconds>', 'stop each attempt after this long (default 3600)', intOption('--timeout', 1, maxTimeoutSeconds))
    .argument('<intent...>', 'what to do: the prompt for agents, the command for shell attempts without their own')
    .action(async (words: string[], o: { session: string; attempt: ComparisonAttempt[]; verify?: string; maxCost?: number; timeout?: number }) => {
      const store = await ctx.openStore();
      const queued = await queueComparison(store, {
        session_id: await store.resolveId('session', o.session),
        intent: words.join(' '),
        attempts: o.attempt,
        ...(o.verify !== undefined ? { verify: o.verify } : {}),
        ...(o.maxCost !== undefined ? { max_cost_usd: o.maxCost } : {}),
        ...(o.timeout !== undefined ? { timeout_seconds: o.timeout } : {}),
      });
      const lanes = o.attempt.map((a) => a.lane).join(', ');
      ctx.print(`queued comparison ${shortId(queued.groupId)} in lanes ${plain(lanes)}; see it with \`ocr compare ${shortId(queued.groupId)}\`\n${queued.groupId}`, {
        group_id: queued.groupId,
        runs: queued.runs.map((r) => ({ id: r.id, lane: r.lane, executor: r.executor, role: r.spec.role === 'verify' ? 'verify' : 'attempt' })),
      });
    });

  compare
    .command('list')
    .description("a session's comparisons, newest first")
    .requiredOption('--session <id>', 'the session (id or its first characters)')
    .action(async (o: { session: string }) => {
      const store = await ctx.openStore();
      const groups = await sessionGroups(store, await store.resolveId('session', o.session));
      const human =
        groups.length === 0
          ? 'no comparisons in this session; queue one with `ocr compare new`'
          : table(['GROUP', 'LANES', 'STATE', 'INTENT'], groups.map((g) => [shortId(g.groupId), g.lanes.join(','), g.done ? 'done' : 'running', plain(g.intent, 80)]));
      ctx.print(human.trimEnd(), groups);
    });
}

const seconds = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

function attemptTable(rows: AttemptRow[]): string {
  return table(
    ['LANE', 'HOW', 'STATUS', 'TIME', 'EXIT', 'CHANGES', 'CHECKS', 'COST', 'RUN'],
    rows.map((a) => [
      plain(a.lane),
      plain(a.executor),
      a.status,
      seconds(a.durationMs),
      a.exitCode === null ? '—' : String(a.exitCode),
      a.diff ? describeDiff(a.diff) : '—',
      plain(describeChecks(a.checks)),
      a.costUsd !== undefined ? `$${formatUsd(a.costUsd)}` : '—',
      shortId(a.runId),
    ]),
  ).trimEnd();
}
