// read_log: a run's output as plain text (terminal control sequences removed), its last lines or the lines that hold
// a text, each with its line number, small enough for a model's context.
import { z } from 'zod';
import { isContinued, isFinal, plainLine, plainOneLine, type Run, type RunEvent, runDuration, shortId, stripControlSequences } from '../../domain';
import type { Store } from '../store/store';
import { runIdInput } from './get-run';
import { defineTool, resolveId } from './tool';

/** A longer line is cut: one line of a minified bundle would fill the context. */
const mostCharactersPerLine = 2000;
/** The whole answer stays under this; the oldest of the chosen lines go first. */
const mostCharacters = 40_000;
const pageSize = 5000;

interface Line {
  n: number;
  text: string;
}

/** The run's log as numbered lines, one page of events at a time; a line cut into pieces by the worker is whole again. */
async function* logLines(store: Store, runId: string): AsyncGenerator<Line> {
  let current: Line | undefined;
  let n = 0;
  for (let after = 0; ; ) {
    const page: RunEvent[] = await store.listEvents(runId, after, pageSize);
    if (page.length === 0) break;
    after = page[page.length - 1]!.seq;
    for (const event of page) {
      const text = event.text.endsWith('\n') ? event.text.slice(0, -1) : event.text;
      if (event.stream !== 'system' && isContinued(event) && current) {
        current.text += plainLine(text);
        continue;
      }
      if (current) yield current;
      current = undefined;
      // the worker's own lines (started, exit code, canceled) stand apart from the program's, as in the editor's log
      const lines = event.stream === 'system' ? stripControlSequences(text).split('\n').map((l) => `── ${l}`) : [plainLine(text)];
      for (const line of lines.slice(0, -1)) yield { n: ++n, text: line };
      current = { n: ++n, text: lines[lines.length - 1]! };
    }
  }
  if (current) yield current;
}

function heading(run: Run): string {
  const how = run.status === 'queued' ? 'queued' : isFinal(run.status) && run.exit_code !== null ? `${run.status} (exit code ${run.exit_code})` : run.status;
  const time = runDuration(run);
  return `run ${shortId(run.id)} in lane ${run.lane}: ${how}${time ? `, ${time}` : ''} — ${plainOneLine(run.intent).slice(0, 200)}`;
}

export const readLogTool = defineTool({
  name: 'read_log',
  title: 'Read a Run\'s Log',
  description:
    'Reads the output of an Ops Control Room run as plain text (colors and terminal control sequences removed), each ' +
    'line with its number: the last lines (tail), or only the lines that contain a text (search, case-insensitive). ' +
    'Lines starting with "──" are the worker\'s own (started, exit code, canceled). Works while the run is going too: ' +
    'call it again for the lines that came since.',
  input: z.object({
    run: runIdInput,
    tail: z.number().int().min(1).max(2000).default(100).describe('How many lines, counted from the end (of the matching lines, with search).'),
    search: z.string().min(1).max(500).optional().describe('Only the lines that contain this text, ignoring case.'),
  }),
  readOnly: true,
  async run(store, i) {
    const run = await store.getRun(await resolveId(store, 'run', 'run', i.run));
    const needle = i.search?.toLowerCase();
    const chosen: Line[] = [];
    let total = 0;
    let matches = 0;
    for await (const line of logLines(store, run.id)) {
      total = line.n;
      if (needle !== undefined && !line.text.toLowerCase().includes(needle)) continue;
      matches++;
      chosen.push(line);
      if (chosen.length > i.tail) chosen.shift();
    }
    const width = String(total).length;
    let body = chosen.map((l) => `${String(l.n).padStart(width)}  ${l.text.length > mostCharactersPerLine ? `${l.text.slice(0, mostCharactersPerLine)}… (line cut)` : l.text}`);
    let dropped = 0;
    while (body.length > 1 && body.reduce((sum, l) => sum + l.length + 1, 0) > mostCharacters) {
      body = body.slice(1);
      dropped++;
    }
    const shown = chosen.slice(dropped);
    const going = isFinal(run.status) ? '' : ` (the run is ${run.status}; more lines may come)`;
    let what: string;
    if (total === 0) what = `no output yet${going}`;
    else if (needle !== undefined) {
      what = matches === 0
        ? `no line of ${total} contains ${JSON.stringify(i.search)}${going}`
        : `${matches} of ${total} lines contain ${JSON.stringify(i.search)}${shown.length < matches ? `; the last ${shown.length}` : ''}${going}:`;
    } else what = `lines ${shown[0]!.n}-${shown[shown.length - 1]!.n} of ${total}${going}:`;
    if (dropped > 0) what += ` (${dropped} earlier lines left out to keep the answer under ${mostCharacters.toLocaleString('en-US')} characters)`;
    return [heading(run), what, ...body].join('\n') + '\n';
  },
});
