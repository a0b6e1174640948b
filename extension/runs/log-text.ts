// A run's events as the plain text of a read-only document: output lines as a terminal would leave them without
// colors, and the worker's own lines marked so they stand apart from the program's.
import { isContinued, plainLine, type Run, type RunEvent, shortId, stripControlSequences } from '../../domain';

export const systemPrefix = '── ';

/** The document's first line: which run this is. */
export function logHeader(run: Pick<Run, 'id' | 'lane' | 'intent' | 'executor'>): string {
  const intent = stripControlSequences(run.intent.split('\n')[0]!).trim();
  return `${systemPrefix}Lane ${run.lane} — run ${shortId(run.id)} (${run.executor}): ${intent}\n`;
}

/** One event as document text, with its line break. */
export function eventText(event: RunEvent): string {
  if (event.stream === 'system') {
    const lines = stripControlSequences(event.text).split('\n');
    return `${lines.map((l, i) => (i === 0 ? systemPrefix : ' '.repeat(systemPrefix.length)) + l).join('\n')}\n`;
  }
  return `${plainLine(event.text)}\n`;
}

const newlines = (text: string): number => {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
};

/** The growing text of one run's log. */
export class LogText {
  private body = '';
  /** seq of the last event in the text */
  lastSeq = 0;
  /** how many line breaks the text holds: the line the next event starts on */
  private breaks: number;
  /** each event's seq and the line of the text it starts on, in order */
  private readonly seqs: number[] = [];
  private readonly lines: number[] = [];

  constructor(private readonly header: string) {
    this.breaks = newlines(header);
  }

  /** The line (from 0, the header included) that the event `seq` starts on; undefined for one the text does not have. */
  lineOf(seq: number): number | undefined {
    let low = 0;
    let high = this.seqs.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const at = this.seqs[mid]!;
      if (at === seq) return this.lines[mid];
      if (at < seq) low = mid + 1;
      else high = mid - 1;
    }
    return undefined;
  }

  get text(): string {
    return this.header + this.body;
  }

  get length(): number {
    return this.header.length + this.body.length;
  }

  append(events: readonly RunEvent[]): void {
    for (const event of events) {
      if (event.seq <= this.lastSeq) continue; // a batch seen twice (a reconnect) adds nothing
      this.lastSeq = event.seq;
      // A line longer than the worker's limit arrives in pieces; the pieces after the first continue it.
      if (isContinued(event) && event.stream !== 'system' && this.body.endsWith('\n')) {
        this.body = this.body.slice(0, -1);
        this.breaks--;
      }
      this.seqs.push(event.seq);
      this.lines.push(this.breaks);
      const text = eventText(event);
      this.body += text;
      this.breaks += newlines(text);
    }
  }

  /** A line of the editor's own, such as why following stopped. */
  note(text: string): void {
    const line = `${systemPrefix}${text}\n`;
    this.body += line;
    this.breaks += newlines(line);
  }
}
