// A run's log as Server-Sent Events: every event after the seq the client names (the `after` parameter or the
// Last-Event-ID header), in order and each once, then the new ones as they come (the database is asked every
// `pollMs`). The stream ends before the platform's time limit with a `reconnect` event naming the seq to resume
// after; it ends with `end` once the run has finished and its last line was sent.
import type { Db } from './db.ts';

export interface StreamOptions {
  /** how long one stream lasts before it asks the client to reconnect (Supabase ends a request at 150 s) */
  maxMs: number;
  pollMs: number;
  /** a comment line this often keeps proxies from closing a quiet stream */
  keepAliveMs: number;
  /** most events per message */
  batch: number;
}

export const defaultStreamOptions: StreamOptions = { maxMs: 120_000, pollMs: 300, keepAliveMs: 15_000, batch: 1000 };

const finalStatuses = new Set(['succeeded', 'failed', 'canceled']);

/** One SSE message; `data` is one line of JSON. */
export function sseMessage(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function runEventStream(db: Db, runId: string, after: number, options: StreamOptions, signal: AbortSignal, log: (line: string) => void): Response {
  const encoder = new TextEncoder();
  let closed = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    closed = true;
    wake?.();
  };
  signal.addEventListener('abort', stop);

  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const deadline = Date.now() + options.maxMs;
      let last = after;
      let status: string | undefined;
      let lastSent = Date.now();
      send(`retry: 1000\n\n`);
      try {
        while (!closed) {
          // The run first, its events second: a run seen finished has appended its last line, so an empty read after
          // it means the log is complete.
          const [run] = await db.query<{ status: string }>('select * from ops.runs where id = $1', [runId]);
          if (!run) {
            send(sseMessage('end', { reason: 'gone', after: last }));
            break;
          }
          if (run.status !== status) {
            status = run.status;
            send(sseMessage('run', run));
            lastSent = Date.now();
          }
          let full = false;
          for (;;) {
            const events = await db.query<{ seq: number }>('select * from ops.run_events where run_id = $1 and seq > $2 order by seq limit $3', [runId, last, options.batch]);
            if (events.length === 0 || closed) break;
            last = events[events.length - 1]!.seq;
            send(sseMessage('events', events, last));
            lastSent = Date.now();
            full = events.length === options.batch;
            if (!full || Date.now() >= deadline) break;
          }
          if (finalStatuses.has(status) && !full) {
            send(sseMessage('end', { reason: 'finished', status, after: last }));
            break;
          }
          if (Date.now() >= deadline) {
            send(sseMessage('reconnect', { reason: 'time limit', after: last }, last));
            break;
          }
          if (Date.now() - lastSent >= options.keepAliveMs) {
            send(': keep-alive\n\n');
            lastSent = Date.now();
          }
          if (!full) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(done, Math.min(options.pollMs, Math.max(0, deadline - Date.now())));
              function done(): void {
                clearTimeout(timer);
                wake = undefined;
                resolve();
              }
              wake = done;
            });
          }
        }
      } catch (e) {
        // the client resumes from the last seq it has; what went wrong is said in the stream and in the log
        const message = e instanceof Error ? e.message : String(e);
        log(`event stream of run ${runId} failed: ${message}`);
        send(sseMessage('reconnect', { reason: 'error', message, after: last }, last));
      } finally {
        signal.removeEventListener('abort', stop);
        if (!closed) {
          closed = true;
          controller.close();
        }
      }
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
  });
}
