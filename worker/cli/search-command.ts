// `ocr search TEXT`: the lines of every run's log that hold a text (any case), newest first, one per line as
// "session/lane run seq: line" with the match marked on a terminal; the lines around each with --context, everything
// as one JSON array with --json.
import { type Command, InvalidArgumentError } from 'commander';
import { laneName, shortId } from '../../domain';
import { FilterTextProblem, parseStatusList, parseWhen } from '../runs/run-filter-text';
import { type LogSearchHit, type MatchRange, searchLogs } from '../runs/search-logs';
import { maxLogSearchHits } from '../store/log-search';
import type { CliContext } from './context';
import { plain } from './format';
import { intOption } from './options';

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

const laneOption = flag('--lane', (v) => {
  if (!laneName.safeParse(v).success) throw new FilterTextProblem('a lane name is 1 to 16 letters, digits, "-" or "_"');
  return v;
});

interface SearchOptions {
  session?: string;
  lane?: string;
  status?: ReturnType<typeof parseStatusList>;
  since?: string;
  until?: string;
  limit: number;
  context?: number;
}

/** The matches of `line` in bold red, as grep --color does. */
export function markMatches(line: string, matches: MatchRange[]): string {
  let out = '';
  let at = 0;
  for (const m of matches) {
    out += `${line.slice(at, m.start)}\x1b[1;31m${line.slice(m.start, m.end)}\x1b[0m`;
    at = m.end;
  }
  return out + line.slice(at);
}

/** One hit as text: "Web app/B 1a2b3c4d 42: the line", its context lines with "-" instead of ":", as grep does. */
export function hitLines(found: LogSearchHit, options: { color: boolean; context: boolean }): string[] {
  const { hit } = found;
  const where = `${plain(hit.session_title, 30)}/${hit.lane} ${shortId(hit.run_id)}`;
  const line = options.color ? markMatches(found.line, found.matches) : found.line;
  if (!options.context) return [`${where} ${hit.seq}: ${line}`];
  const first = hit.seq - found.before.length;
  return [
    ...found.before.map((l, i) => `${where} ${first + i}- ${l}`),
    `${where} ${hit.seq}: ${line}`,
    ...found.after.map((l, i) => `${where} ${hit.seq + 1 + i}- ${l}`),
  ];
}

export function registerSearchCommand(program: Command, ctx: CliContext): void {
  program
    .command('search')
    .description("the lines of every run's log that hold a text (any case, colors aside), newest first")
    .argument('<text>', 'the text to find: 3 characters or more, such as ECONNREFUSED, "npm ERR!" or a file name')
    .option('--session <id>', 'only runs of this session (id or its first characters)')
    .option('--lane <lane>', 'only runs of this lane', laneOption)
    .option('--status <list>', 'only runs in these statuses, such as failed,canceled', flag('--status', parseStatusList))
    .option('--since <when>', 'only lines written since then: 7d, 12h, 30m, a day (2026-12-01) or a time', flag('--since', (v) => parseWhen(v, 'start')))
    .option('--until <when>', 'only lines written before then (a day counts whole)', flag('--until', (v) => parseWhen(v, 'end')))
    .option('--limit <n>', 'at most this many lines', intOption('--limit', 1, maxLogSearchHits), 50)
    .option('-C, --context <n>', 'also print this many lines before and after each (--json gives 2 unless told)', intOption('--context', 0, 20))
    .action(async (text: string, o: SearchOptions) => {
      const store = await ctx.openStore();
      const json = ctx.jsonMode();
      // one more than asked says whether there are more
      const asked = Math.min(o.limit + 1, maxLogSearchHits);
      const hits = await searchLogs(store, {
        query: text,
        session: o.session,
        lane: o.lane,
        status: o.status,
        since: o.since,
        until: o.until,
        limit: asked,
        context: o.context ?? (json ? 2 : 0),
        width: json ? 100_000 : 300,
      });
      const shown = hits.slice(0, o.limit);
      if (json) {
        ctx.print(
          '',
          shown.map(({ hit, line, matches }) => ({ ...hit, line, matches })),
        );
        return;
      }
      if (shown.length === 0) {
        ctx.print(`no line holds ${JSON.stringify(plain(text))}`, []);
        return;
      }
      const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
      const context = (o.context ?? 0) > 0;
      const blocks = shown.map((h) => hitLines(h, { color, context }).join('\n'));
      const more = hits.length > o.limit ? `… and more: --limit ${Math.min(maxLogSearchHits, o.limit * 2)} shows more\n` : '';
      ctx.print(`${blocks.join(context ? '\n--\n' : '\n')}\n${more}`, []);
    });
}
