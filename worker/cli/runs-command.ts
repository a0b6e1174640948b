// `ocr runs`: the run history of every session, narrowed by status, lane, session, executor, runbook, dates or text; a
// table for people, one JSON array with --json, a Markdown table with --md (the same text as the editor's Export Runs…).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { laneName, runDuration, shortId, timeAgo } from '../../domain';
import { collectRunHistory, runHistoryJson, runsMarkdown } from '../runs/export-runs';
import { FilterTextProblem, parseStatusList, parseWhen } from '../runs/run-filter-text';
import { OcrError } from '../store/errors';
import { type RunHistoryFilter, RunHistorySort, runHistorySorts } from '../store/run-history';
import type { CliContext } from './context';
import { plain, table } from './format';
import { intOption } from './options';

/** A flag's value read by `read`; a problem becomes one line naming the flag, its value and what to give. */
function flag<T>(name: string, read: (value: string) => T) {
  return (value: string): T => {
    try {
      return read(value);
    } catch (e) {
      if (e instanceof FilterTextProblem) throw new InvalidArgumentError(`${name} ${JSON.stringify(value)}: ${e.message}`);
      throw e;
    }
  };
}

const statusOption = flag('--status', parseStatusList);
const sinceOption = flag('--since', (v) => parseWhen(v, 'start'));
const untilOption = flag('--until', (v) => parseWhen(v, 'end'));
const laneOption = flag('--lane', (v) => {
  if (!laneName.safeParse(v).success) throw new FilterTextProblem('a lane name is 1 to 16 letters, digits, "-" or "_"');
  return v;
});
const textOption = (name: string, what: string, max: number) =>
  flag(name, (v) => {
    const t = v.trim();
    if (!t || t.length > max) throw new FilterTextProblem(`give ${what} of 1 to ${max} characters`);
    return t;
  });

interface RunsOptions {
  status?: RunHistoryFilter['status'];
  lane?: string;
  session?: string;
  executor?: 'shell' | 'agent' | 'runbook';
  runbook?: string;
  since?: string;
  until?: string;
  search?: string;
  sort: RunHistorySort;
  limit: number;
  md?: boolean;
}

export function registerRunsCommand(program: Command, ctx: CliContext): void {
  program
    .command('runs')
    .description('the run history of every session: newest first, narrowed by the flags given')
    .option('--status <list>', 'only runs in these statuses, such as failed,canceled', statusOption)
    .option('--lane <lane>', 'only runs of this lane', laneOption)
    .option('--session <id>', 'only runs of this session (id or its first characters)')
    .addOption(new Option('--executor <executor>', 'only runs of this executor').choices(['shell', 'agent', 'runbook']))
    .option('--runbook <name>', 'only runs of this runbook', textOption('--runbook', 'a runbook name', 200))
    .option('--since <when>', 'only runs created since then: 7d, 12h, 30m, a day (2026-12-01) or a time', sinceOption)
    .option('--until <when>', 'only runs created before then (a day counts whole)', untilOption)
    .option('--search <text>', 'only runs whose intent holds this text (any case), or whose id starts with it', textOption('--search', 'text', 500))
    .addOption(new Option('--sort <order>', 'newest first, longest first, or by status').choices([...runHistorySorts]).default('newest'))
    .option('--limit <n>', 'at most this many runs', intOption('--limit', 1, 100_000), 50)
    .option('--md', 'print a Markdown table')
    .action(async (o: RunsOptions) => {
      if (o.md && ctx.jsonMode()) throw new OcrError('invalid_input', '--md and --json: give one of them', 'leave out --md for JSON, or --json for Markdown');
      if (o.runbook && o.executor && o.executor !== 'runbook') {
        throw new OcrError('invalid_input', `--runbook ${JSON.stringify(o.runbook)}: runbook runs are never ${o.executor} runs`, 'leave out --executor, or give --executor runbook');
      }
      if (o.since && o.until && Date.parse(o.since) >= Date.parse(o.until)) {
        throw new OcrError('invalid_input', `--since ${o.since} is not before --until ${o.until}`, 'give a range whose start comes before its end');
      }
      const store = await ctx.openStore();
      const filter: RunHistoryFilter & { sort: RunHistorySort } = {
        status: o.status,
        lane: o.lane,
        session_id: o.session ? await store.resolveId('session', o.session) : undefined,
        executor: o.runbook ? 'runbook' : o.executor,
        runbook: o.runbook,
        since: o.since,
        until: o.until,
        search: o.search,
        sort: o.sort,
      };
      const { runs, more } = await collectRunHistory(store, filter, o.limit);
      if (ctx.jsonMode()) {
        ctx.print('', runs.map((r) => runHistoryJson(r)));
        return;
      }
      if (o.md) {
        process.stdout.write(runsMarkdown(runs));
        return;
      }
      if (runs.length === 0) {
        ctx.print('no runs match', []);
        return;
      }
      const now = Date.now();
      const human =
        table(
          ['RUN', 'SESSION', 'LANE', 'STATUS', 'EXECUTOR', 'CREATED', 'TIME', 'INTENT'],
          runs.map((r) => [
            shortId(r.id),
            plain(r.session_title, 20),
            plain(r.lane),
            r.status,
            r.executor === 'runbook' && typeof r.spec.name === 'string' ? plain(`runbook ${r.spec.name}`, 30) : r.executor,
            timeAgo(r.created_at, now),
            runDuration(r, now),
            plain(r.intent, 50) + (r.error ? `  [${plain(r.error, 40)}]` : ''),
          ]),
        ) + (more ? `… and more: --limit ${Math.min(100_000, o.limit * 2)} shows more\n` : '');
      ctx.print(human, []);
    });
}
