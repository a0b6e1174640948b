// A run's events as the plain text of a read-only document: output lines as a terminal would leave them without
// colors, and the worker's own lines marked so they stand apart from the program's.
import type { Run, RunEvent } from '../../worker/store/types';

// CSI sequences (colors, cursor moves), OSC sequences (titles, hyperlinks) and the remaining two-byte escapes.
const escapes = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x1b/g;
// Control characters draw nothing; tabs and carriage returns are dealt with separately.
const controls = /[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;

export function stripAnsi(text: string): string {
  return text.includes('\x1b') ? text.replace(escapes, '') : text;
}

/** What a terminal would leave on the line after carriage returns (progress bars): the last non-empty rewrite. */
function afterCarriageReturns(text: string): string {
  if (!text.includes('\r')) return text;
  const parts = text.split('\r');
  for (let i = parts.length - 1; i >= 0; i--) if (parts[i]) return parts[i]!;
  return '';
}

export const systemPrefix = '── ';

const shortId = (id: string): string => id.replace(/-/g, '').slice(0, 8);

/** The document's first line: which run this is. */
export function logHeader(run: Pick<Run, 'id' | 'lane' | 'intent' | 'executor'>): string {
  const intent = run.intent.split('\n')[0]!.trim();
  return `${systemPrefix}Lane ${run.lane} — run ${shortId(run.id)} (${run.executor}): ${intent}\n`;
}

const isContinued = (event: RunEvent): boolean =>
  typeof event.data === 'object' && event.data !== null && (event.data as { continued?: unknown }).continued === true;

/** One event as document text, with its line break. */
export function eventText(event: RunEvent): string {
  if (event.stream === 'system') {
    const lines = stripAnsi(event.text).replace(controls, '').split('\n');
    return `${lines.map((l, i) => (i === 0 ? systemPrefix : ' '.repeat(systemPrefix.length)) + l).join('\n')}\n`;
  }
  return `${afterCarriageReturns(stripAnsi(event.text)).replace(controls, '')}\n`;
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
