// One run's log as the page holds it: its lines in order and once each (by seq), each as shown (carriage returns
// resolved, escapes kept for coloring) and as plain text (what search looks in and copy copies), with its stream,
// level, runbook step and data; beyond a limit the oldest lines are dropped. A StepLines shows the lines of one step.
// Not the engine's RunLog, which writes a run's output to the store.
import { lastCarriageReturn } from '../domain';
import { plainText } from './ansi';
import type { EventLevel, EventStream } from '../domain';
import type { LogBatch } from './protocol';

const streams: readonly EventStream[] = ['stdout', 'stderr', 'system'];
const levels: readonly EventLevel[] = ['debug', 'info', 'warn', 'error', 'success'];
// the batch's letters, as indexes into the two lists above
const streamCodes: Record<string, number> = { o: 0, e: 1, s: 2 };
const levelCodes: Record<string, number> = { d: 0, i: 1, w: 2, e: 3, k: 4 };
// A line's kind is one number: its level in the low 3 bits, its stream in the next 2, its step (0: none, else the
// step's index + 1 in the log's own list) above them.
const levelBits = 3;
const streamShift = levelBits;
const stepShift = levelBits + 2;
const levelMask = (1 << levelBits) - 1;

/** Lines kept per run unless the page says otherwise. */
export const defaultMaxLines = 1_000_000;

/** How many lines a log has had, by level. */
export interface LevelCounts {
  total: number;
  success: number;
  warn: number;
  error: number;
}

/** The lines a log view shows: a whole run's, or one step's. Indexes are positions among those lines. */
export interface LineSource {
  readonly runId: string;
  readonly length: number;
  /** lines dropped from the front so far: an index taken before it changed means another line now */
  readonly dropped: number;
  /** the host said every line has been sent */
  readonly ended: boolean;
  /** since the log began, including lines no longer kept */
  readonly counts: LevelCounts;
  textAt(index: number): string;
  plainAt(index: number): string;
  stream(index: number): EventStream;
  level(index: number): EventLevel;
  seqAt(index: number): number;
  /** the event's data, undefined when it has none */
  dataAt(index: number): unknown;
}

const noCounts = (): LevelCounts => ({ total: 0, success: 0, warn: 0, error: 0 });

function count(counts: LevelCounts, level: number): void {
  counts.total++;
  if (level === 4) counts.success++;
  else if (level === 2) counts.warn++;
  else if (level === 3) counts.error++;
}

export class RunLines implements LineSource {
  /** the line as shown: carriage returns resolved, escapes kept for coloring */
  readonly text: string[] = [];
  /** without escapes: what search looks in and copy copies */
  readonly plain: string[] = [];
  private readonly kind: number[] = [];
  /** the steps named so far, in the order they first appeared */
  readonly stepNames: string[] = [];
  private readonly stepCodes = new Map<string, number>();
  /** data by seq, for the few lines that have some */
  private readonly data = new Map<number, unknown>();
  readonly counts: LevelCounts = noCounts();
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

  /** The seq of the first line held. */
  get firstSeq(): number {
    return this.lastSeq - this.text.length + 1;
  }

  textAt(index: number): string {
    return this.text[index]!;
  }

  plainAt(index: number): string {
    return this.plain[index]!;
  }

  stream(index: number): EventStream {
    return streams[((this.kind[index] ?? 0) >> streamShift) & 3] ?? 'stdout';
  }

  level(index: number): EventLevel {
    return levels[(this.kind[index] ?? 1) & levelMask] ?? 'info';
  }

  /** The runbook step of the line at `index`, or null. */
  step(index: number): string | null {
    const code = (this.kind[index] ?? 0) >>> stepShift;
    return code === 0 ? null : (this.stepNames[code - 1] ?? null);
  }

  /** The number a step's lines carry (0 when no line of it has arrived yet). */
  stepCode(stepId: string): number {
    return this.stepCodes.get(stepId) ?? 0;
  }

  /** The step code of the line at `index` (0: none). */
  stepCodeAt(index: number): number {
    return (this.kind[index] ?? 0) >>> stepShift;
  }

  levelCodeAt(index: number): number {
    return (this.kind[index] ?? 1) & levelMask;
  }

  dataAt(index: number): unknown {
    return this.data.size === 0 ? undefined : this.data.get(this.seqAt(index));
  }

  /** The seq of the line at `index`. */
  seqAt(index: number): number {
    return this.lastSeq - this.text.length + 1 + index;
  }

  /**
   * Appends what is new in a batch. Returns 'gap' when the batch starts past the line after this log's last one (the
   * log keeps what it had), 'ok' otherwise, lines it already had included.
   */
  append(batch: Pick<LogBatch, 'first_seq' | 'text' | 'stream' | 'level' | 'steps' | 'data'>): 'ok' | 'gap' {
    if (batch.first_seq > this.lastSeq + 1) return 'gap';
    const from = this.lastSeq + 1 - batch.first_seq;
    const steps = batch.steps ? this.stepsOf(batch.steps, batch.text.length) : undefined;
    for (let i = from; i < batch.text.length; i++) {
      const shown = lastCarriageReturn(batch.text[i]!);
      const level = levelCodes[batch.level[i]!] ?? 1;
      this.text.push(shown);
      this.plain.push(plainText(shown));
      this.kind.push(((steps?.[i] ?? 0) << stepShift) | ((streamCodes[batch.stream[i]!] ?? 0) << streamShift) | level);
      count(this.counts, level);
      this.lastSeq++;
    }
    if (batch.data) for (const [i, value] of batch.data) if (i >= from) this.data.set(batch.first_seq + i, value);
    if (this.text.length > this.maxLines) {
      // drop a tenth at once: splicing the front of a long array on every batch would cost more than the lines
      const cut = this.text.length - Math.floor(this.maxLines * 0.9);
      this.text.splice(0, cut);
      this.plain.splice(0, cut);
      this.kind.splice(0, cut);
      this.dropped += cut;
      const first = this.firstSeq;
      for (const seq of this.data.keys()) {
        if (seq >= first) break; // kept in seq order: lines arrive in order
        this.data.delete(seq);
      }
    }
    return 'ok';
  }

  /** The batch's runs of steps, one code per line. */
  private stepsOf(runs: ReadonlyArray<readonly [number, string | null]>, lines: number): Uint32Array {
    const codes = new Uint32Array(lines);
    let at = 0;
    for (const [n, step] of runs) {
      let code = 0;
      if (step !== null) {
        code = this.stepCodes.get(step) ?? 0;
        if (code === 0) {
          this.stepNames.push(step);
          code = this.stepNames.length;
          this.stepCodes.set(step, code);
        }
      }
      codes.fill(code, at, Math.min(lines, at + n));
      at += n;
    }
    return codes;
  }
}

/**
 * The lines of one runbook step, kept up to date with the run's log by `sync` (which a view calls when the log's
 * version changes): the seqs of its lines, found once each as they arrive.
 */
export class StepLines implements LineSource {
  private readonly seqs: number[] = [];
  private scannedSeq = 0;
  private code = 0;
  dropped = 0;
  readonly counts: LevelCounts = noCounts();

  constructor(
    readonly log: RunLines,
    readonly stepId: string,
  ) {
    this.sync();
  }

  get runId(): string {
    return this.log.runId;
  }

  get length(): number {
    return this.seqs.length;
  }

  get ended(): boolean {
    return this.log.ended;
  }

  /** Takes in the lines that arrived since, and lets go of those the log dropped. */
  sync(): void {
    const log = this.log;
    const first = log.firstSeq;
    let gone = 0;
    while (gone < this.seqs.length && this.seqs[gone]! < first) gone++;
    if (gone > 0) {
      this.seqs.splice(0, gone);
      this.dropped += gone;
    }
    this.code ||= log.stepCode(this.stepId);
    const from = Math.max(this.scannedSeq + 1, first);
    if (this.code !== 0) {
      for (let seq = from; seq <= log.lastSeq; seq++) {
        const index = seq - first;
        if (log.stepCodeAt(index) !== this.code) continue;
        this.seqs.push(seq);
        count(this.counts, log.levelCodeAt(index));
      }
    }
    this.scannedSeq = log.lastSeq;
  }

  private at(index: number): number {
    return this.seqs[index]! - this.log.firstSeq;
  }

  textAt(index: number): string {
    return this.log.textAt(this.at(index));
  }

  plainAt(index: number): string {
    return this.log.plainAt(this.at(index));
  }

  stream(index: number): EventStream {
    return this.log.stream(this.at(index));
  }

  level(index: number): EventLevel {
    return this.log.level(this.at(index));
  }

  seqAt(index: number): number {
    return this.seqs[index]!;
  }

  dataAt(index: number): unknown {
    return this.log.dataAt(this.at(index));
  }
}
