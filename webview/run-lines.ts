// One run's log as the page holds it: its lines in order and once each (by seq), each as shown (carriage returns
// resolved, escapes kept for coloring) and as plain text (what search looks in and copy copies), with its stream and
// level; beyond a limit the oldest lines are dropped. Not the engine's RunLog, which writes a run's output to the store.
import { lastCarriageReturn } from '../domain';
import { plainText } from './ansi';
import type { EventLevel, EventStream } from '../domain';
import type { LogBatch } from './protocol';

const streams: readonly EventStream[] = ['stdout', 'stderr', 'system'];
const levels: readonly EventLevel[] = ['debug', 'info', 'warn', 'error', 'success'];
// the batch's letters, as indexes into the two lists above
const streamCodes: Record<string, number> = { o: 0, e: 1, s: 2 };
const levelCodes: Record<string, number> = { d: 0, i: 1, w: 2, e: 3, k: 4 };

/** Lines kept per run unless the page says otherwise. */
export const defaultMaxLines = 1_000_000;

export class RunLines {
  /** the line as shown: carriage returns resolved, escapes kept for coloring */
  readonly text: string[] = [];
  /** without escapes: what search looks in and copy copies */
  readonly plain: string[] = [];
  private readonly kind: number[] = [];
  /** the seq of the last line held; seqs are consecutive from 1 */
  lastSeq = 0;
  /** lines dropped from the front to stay within maxLines */
  dropped = 0;
  /** the host said every line has been sent */
  ended = false;
  /** bumped once per frame in which lines arrived */
  version = 0;

  constructor(
    readonly runId: string,
    private readonly maxLines: number = defaultMaxLines,
  ) {}

  get length(): number {
    return this.text.length;
  }

  stream(index: number): EventStream {
    return streams[(this.kind[index] ?? 0) >> 2] ?? 'stdout';
  }

  level(index: number): EventLevel {
    return levels[(this.kind[index] ?? 1) & 3] ?? 'info';
  }

  /** The seq of the line at `index`. */
  seqAt(index: number): number {
    return this.lastSeq - this.text.length + 1 + index;
  }

  /**
   * Appends what is new in a batch. Returns 'gap' when the batch starts past the line after this log's last one (the
   * log keeps what it had), 'ok' otherwise, lines it already had included.
   */
  append(batch: Pick<LogBatch, 'first_seq' | 'text' | 'stream' | 'level'>): 'ok' | 'gap' {
    if (batch.first_seq > this.lastSeq + 1) return 'gap';
    for (let i = this.lastSeq + 1 - batch.first_seq; i < batch.text.length; i++) {
      const shown = lastCarriageReturn(batch.text[i]!);
      this.text.push(shown);
      this.plain.push(plainText(shown));
      this.kind.push(((streamCodes[batch.stream[i]!] ?? 0) << 2) | (levelCodes[batch.level[i]!] ?? 1));
      this.lastSeq++;
    }
    if (this.text.length > this.maxLines) {
      // drop a tenth at once: splicing the front of a long array on every batch would cost more than the lines
      const cut = this.text.length - Math.floor(this.maxLines * 0.9);
      this.text.splice(0, cut);
      this.plain.splice(0, cut);
      this.kind.splice(0, cut);
      this.dropped += cut;
    }
    return 'ok';
  }
}
