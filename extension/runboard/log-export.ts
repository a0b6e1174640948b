// Export Log on the Runboard: a run's whole log, read from the database (not the lines the page happens to hold), as
// text (what the log document shows: output as a terminal leaves it, the worker's lines marked) or as JSON (the run,
// then every event with its time, stream, level, step and data), optionally only the lines of one runbook step. It
// writes in batches, so a long log never sits in memory whole. The save dialog is the panel's.
import { open } from 'node:fs/promises';
import { isContinued, type Run, type RunEvent, shortId } from '../../domain';
import type { Store } from '../../worker/store/store';
import { stepOf } from '../../webview/protocol';
import { eventText, logHeader, systemPrefix } from '../runs/log-text';

export type LogExportFormat = 'text' | 'json';

const batchSize = 5000;

/** Where the export goes: a file, or anything else that takes text in order. */
export interface ExportSink {
  write(text: string): Promise<void>;
}

/** The file name a save dialog offers: `A-1a2b3c4d.log`, `A-1a2b3c4d-deploy.json`. */
export function exportFileName(run: Pick<Run, 'id' | 'lane'>, format: LogExportFormat, step: string | null): string {
  return `${run.lane}-${shortId(run.id)}${step ? `-${step}` : ''}.${format === 'json' ? 'json' : 'log'}`;
}

/** Writes the run's log (the step's lines only, when named) to `sink`; answers how many lines it wrote. */
export async function writeLogExport(store: Store, runId: string, format: LogExportFormat, step: string | null, sink: ExportSink): Promise<number> {
  const run = await store.getRun(runId);
  const writer = format === 'json' ? new JsonWriter(sink, run, step) : new TextWriter(sink, run, step);
  await writer.begin();
  let after = 0;
  let lines = 0;
  for (;;) {
    const batch = await store.listEvents(runId, after, batchSize);
    const kept = step === null ? batch : batch.filter((e) => stepOf(e) === step);
    if (kept.length > 0) await writer.events(kept);
    lines += kept.length;
    if (batch.length < batchSize) break;
    after = batch[batch.length - 1]!.seq;
  }
  await writer.end();
  return lines;
}

/** Writes to a file on this machine, replacing it; `run` gets the sink and the file is closed after, whatever happens. */
export async function toFile<T>(file: string, run: (sink: ExportSink) => Promise<T>): Promise<T> {
  const handle = await open(file, 'w');
  try {
    return await run({ write: async (text) => void (await handle.write(text)) });
  } finally {
    await handle.close();
  }
}

interface Writer {
  begin(): Promise<void>;
  events(events: readonly RunEvent[]): Promise<void>;
  end(): Promise<void>;
}

class TextWriter implements Writer {
  /** a line's break is written with the next line: the pieces of a line too long to store whole join up again */
  private open = false;

  constructor(
    private readonly sink: ExportSink,
    private readonly run: Run,
    private readonly step: string | null,
  ) {}

  begin(): Promise<void> {
    return this.sink.write(logHeader(this.run) + (this.step ? `${systemPrefix}step ${this.step} only\n` : ''));
  }

  events(events: readonly RunEvent[]): Promise<void> {
    let text = '';
    for (const event of events) {
      const line = eventText(event).slice(0, -1);
      const joins = this.open && isContinued(event) && event.stream !== 'system';
      text += (this.open && !joins ? '\n' : '') + line;
      this.open = true;
    }
    return this.sink.write(text);
  }

  end(): Promise<void> {
    return this.open ? this.sink.write('\n') : Promise.resolve();
  }
}

class JsonWriter implements Writer {
  private first = true;

  constructor(
    private readonly sink: ExportSink,
    private readonly run: Run,
    private readonly step: string | null,
  ) {}

  begin(): Promise<void> {
    const { id, seq, session_id, lane, intent, executor, status, attempt, exit_code, error, created_at, started_at, finished_at } = this.run;
    const run = { id, seq, session_id, lane, intent, executor, status, attempt, exit_code, error, created_at, started_at, finished_at };
    return this.sink.write(`{\n  "run": ${JSON.stringify(run)},\n  "step": ${JSON.stringify(this.step)},\n  "events": [`);
  }

  events(events: readonly RunEvent[]): Promise<void> {
    let text = '';
    for (const e of events) {
      text += `${this.first ? '' : ','}\n    ${JSON.stringify({ seq: e.seq, ts: e.ts, stream: e.stream, level: e.level, step: stepOf(e), text: e.text, data: e.data ?? null })}`;
      this.first = false;
    }
    return this.sink.write(text);
  }

  end(): Promise<void> {
    return this.sink.write(`${this.first ? '' : '\n  '}]\n}\n`);
  }
}
