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

/** The growing text of one run's log. */
export class LogText {
  private body = '';
  /** seq of the last event in the text */
  lastSeq = 0;

  constructor(private readonly header: string) {}

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
      if (isContinued(event) && event.stream !== 'system' && this.body.endsWith('\n')) this.body = this.body.slice(0, -1);
      this.body += eventText(event);
    }
  }

  /** A line of the editor's own, such as why following stopped. */
  note(text: string): void {
    this.body += `${systemPrefix}${text}\n`;
  }
}
