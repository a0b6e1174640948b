// A run's output on its way to the database: bytes cut into lines, lines batched into append_events calls.
import type { EventLevel, EventStream, NewEvent } from '../../domain';
import type { Lease } from '../store/types';

export const maxLineBytes = 64 * 1024;

const newline = 0x0a;
const carriageReturn = 0x0d;
// TextDecoder without `fatal` puts U+FFFD where bytes are not UTF-8. PostgreSQL text cannot hold U+0000 at all.
const decoder = new TextDecoder('utf-8');
const nul = /\u0000/g;

export function decodeLine(bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  return text.includes('\u0000') ? text.replace(nul, '\uFFFD') : text;
}

/**
 * Cuts a byte stream into lines. A line longer than `maxBytes` is cut into pieces of at most that size (on a UTF-8
 * character boundary); the pieces after the first say `continued`. A final line without a newline is kept.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private continued = false;

  constructor(
    private readonly emit: (text: string, continued: boolean) => void,
    private readonly maxBytes = maxLineBytes,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(newline, start);
      const end = nl === -1 ? chunk.length : nl;
      if (end > start) this.add(chunk.subarray(start, end));
      if (nl === -1) return;
      this.emitLine();
      start = nl + 1;
    }
  }

  /** The stream ended: whatever is left is the last line. */
  end(): void {
    if (this.size > 0) this.emitLine();
  }

  private add(bytes: Buffer): void {
    this.parts.push(bytes);
    this.size += bytes.length;
    while (this.size > this.maxBytes) {
      const all = this.joined();
      const cut = utf8Boundary(all, this.maxBytes);
      this.emit(decodeLine(all.subarray(0, cut)), this.continued);
      this.continued = true;
      const rest = all.subarray(cut);
      this.parts = [rest];
      this.size = rest.length;
    }
  }

  private emitLine(): void {
    let line = this.joined();
    if (line.length > 0 && line[line.length - 1] === carriageReturn) line = line.subarray(0, line.length - 1);
    this.emit(decodeLine(line), this.continued);
    this.parts = [];
    this.size = 0;
    this.continued = false;
  }

  private joined(): Buffer {
    if (this.parts.length === 1) return this.parts[0]!;
    const all = Buffer.concat(this.parts, this.size);
    this.parts = [all];
    return all;
  }
}

/** The largest cut at or before `limit` that does not split a UTF-8 character (continuation bytes are 10xxxxxx). */
function utf8Boundary(bytes: Buffer, limit: number): number {
  let cut = limit;
  for (let back = 0; back < 3 && cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80; back++) cut--;
  return cut > 0 ? cut : limit;
}

export interface LogWriterOptions {
  /**
   * the least time between two sends: a line after a quiet spell goes at once (the user sees a run's first line without
   * waiting), lines that follow within this time go together in the next send
   */
  flushMs?: number;
  /** the most lines in one append_events call */
  maxBatchLines?: number;
  /** the most characters in one append_events call */
  maxBatchChars?: number;
  /** called once when the database refuses a write because the lease is gone; nothing more is written after it */
  onLeaseLost?: (error: unknown) => void;
  /** a failed write that will be tried again */
  onRetry?: (error: unknown) => void;
  /** tells whether an error means the lease is gone */
  isLeaseLost?: (error: unknown) => boolean;
}

/** Stores a batch after the run's last line (`afterSeq`: the last seq this log has seen stored); answers the new last seq. */
type Append = (events: NewEvent[], afterSeq: number) => Promise<number>;

/**
 * The log of one run. Lines are sent in the order they were added, one append_events call at a time, each batch as
 * large as the lines that waited while the previous call was in flight (so a chatty run costs few round trips).
 */
export class LogWriter {
  private pending: NewEvent[] = [];
  private pendingChars = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private belowWaiters: Array<{ chars: number; resolve: () => void }> = [];
  private stopped = false;
  private failures = 0;
  /** the size of the batch whose send failed, to be sent again as it was */
  private failedCount: number | undefined;
  /** when the last batch with the run's own output went out (0: never); the worker's notes do not hold output back */
  private lastSendAt = 0;
  private readonly flushMs: number;
  private readonly maxBatchLines: number;
  private readonly maxBatchChars: number;
  /** the seq of the last line the database has */
  lastSeq = 0;
  /** lines the database has accepted */
  written = 0;

  constructor(
    private readonly append: Append,
    private readonly options: LogWriterOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 50;
    this.maxBatchLines = options.maxBatchLines ?? 5000;
    this.maxBatchChars = options.maxBatchChars ?? 4 * 1024 * 1024;
  }

  static forLease(store: { appendEvents(lease: Lease, events: NewEvent[], afterSeq?: number): Promise<number> }, lease: Lease, options?: LogWriterOptions): LogWriter {
    return new LogWriter((events, afterSeq) => store.appendEvents(lease, events, afterSeq), options);
  }

  /** Characters waiting to be sent; the caller pauses its source when this grows too large. */
  get backlog(): number {
    return this.pendingChars;
  }

  get closed(): boolean {
    return this.stopped;
  }

  /** The runbook step the lines added from now on belong to. */
  step: string | undefined;
  private secrets: string[] = [];
  /** Lines that reached the listeners of this log's text (`::artifact` lines of a step, say). */
  onLine: ((stream: EventStream, text: string) => void) | undefined;

  /** Values never written in clear: every line added from now on has them replaced by `***`. */
  mask(values: readonly string[]): void {
    // longest first, so a secret that holds another is masked whole
    this.secrets = [...new Set(values.filter((v) => v.length > 0))].sort((a, b) => b.length - a.length);
  }

  add(stream: EventStream, text: string, extra: { level?: EventLevel; data?: unknown } = {}): void {
    if (this.stopped) return;
    for (const secret of this.secrets) if (text.includes(secret)) text = text.split(secret).join('***');
    this.onLine?.(stream, text);
    const event: NewEvent = { stream, text, ts: new Date().toISOString() };
    if (this.step !== undefined) event.step = this.step;
    if (extra.level && extra.level !== 'info') event.level = extra.level;
    if (extra.data !== undefined) event.data = extra.data;
    this.pending.push(event);
    this.pendingChars += text.length;
    if (this.pending.length >= this.maxBatchLines || this.pendingChars >= this.maxBatchChars) this.send();
    // A zero delay still lets the other lines of the same chunk of output join the batch.
    else this.timer ??= setTimeout(() => this.send(), Math.max(0, this.lastSendAt + this.flushMs - Date.now()));
  }

  system(text: string, level: EventLevel = 'info', data?: unknown): void {
    this.add('system', text, { level, data });
  }

  /**
   * A line splitter that feeds this log. `annotate` gives a line's event more data (a coding agent's steps the line
   * held); the line's text is stored as it came either way.
   */
  lines(stream: 'stdout' | 'stderr', annotate?: (text: string, continued: boolean) => Record<string, unknown> | undefined): LineSplitter {
    return new LineSplitter((text, continued) => {
      const more = annotate?.(text, continued);
      const data = continued ? { ...more, continued: true } : more;
      this.add(stream, text, data ? { data } : {});
    });
  }

  /** Resolves once every line added so far is in the database (or the log was stopped). */
  flush(): Promise<void> {
    this.send();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once the backlog is at most `chars` (or the log was stopped). */
  below(chars: number): Promise<void> {
    if (this.pendingChars <= chars || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.belowWaiters.push({ chars, resolve }));
  }

  /** Drops what is not sent yet and writes nothing more. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.pendingChars = 0;
    this.wake();
  }

  private isIdle(): boolean {
    return this.stopped || (!this.inFlight && this.pending.length === 0);
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight || this.stopped || this.pending.length === 0) return;
    // A batch that failed is sent again exactly as it was, never with the lines added since: the database may have
    // stored it before the answer was lost, and then answers the retry from the stored lines (append_events'
    // p_after_seq) — lines that were not in the stored batch would be taken as stored too, and lost.
    let count = 0;
    let chars = 0;
    if (this.failedCount !== undefined) {
      count = this.failedCount;
      for (let i = 0; i < count; i++) chars += this.pending[i]!.text.length;
    } else {
      while (count < this.pending.length && count < this.maxBatchLines) {
        const next = this.pending[count]!.text.length;
        if (count > 0 && chars + next > this.maxBatchChars) break;
        chars += next;
        count++;
      }
    }
    const batch = this.pending.slice(0, count);
    this.inFlight = true;
    if (batch.some((e) => e.stream !== 'system')) this.lastSendAt = Date.now();
    this.append(batch, this.lastSeq).then(
      (last) => {
        this.inFlight = false;
        this.failures = 0;
        this.failedCount = undefined;
        this.lastSeq = last;
        this.written += batch.length;
        // The batch leaves the queue only now, so a failed call is retried with the same lines in the same place.
        this.pending.splice(0, count);
        this.pendingChars -= chars;
        this.afterSend();
      },
      (error: unknown) => {
        this.inFlight = false;
        if (this.options.isLeaseLost?.(error)) {
          this.stop();
          this.options.onLeaseLost?.(error);
          return;
        }
        this.failures++;
        this.failedCount = count;
        this.options.onRetry?.(error);
        // The database is away: wait a little longer each time; the lease timer decides when to give up.
        this.timer = setTimeout(() => this.send(), Math.min(2000, 50 * 2 ** this.failures));
      },
    );
  }

  private afterSend(): void {
    if (this.stopped) return;
    this.wake();
    if (this.pending.length > 0) this.send();
  }

  private wake(): void {
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    if (this.belowWaiters.length > 0) {
      const keep: typeof this.belowWaiters = [];
      for (const w of this.belowWaiters) {
        if (this.stopped || this.pendingChars <= w.chars) w.resolve();
        else keep.push(w);
      }
      this.belowWaiters = keep;
    }
  }
}
