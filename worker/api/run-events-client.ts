// A run's log from the ops-api function's event stream (`GET …/runs/:id/events?after=SEQ`, Server-Sent Events): every
// event after `fromSeq`, in order and each once, across the stream's planned ends (`reconnect`, before the platform's
// time limit) and broken connections, resuming after the last seq received; done once the run has finished and its
// last line came (`end`).
import { z } from 'zod';
import { Run, RunEvent } from '../../domain';
import { OcrError } from '../store/errors';

export interface FollowOverApiOptions {
  signal?: AbortSignal;
  /** the pause before reconnecting after a broken stream; grows with each failure in a row */
  retryMs?: number;
  /** told of each run row the stream sends (its status changed) */
  onRun?: (run: Run) => void;
  /** told of each reconnection and why */
  onReconnect?: (reason: string, afterSeq: number) => void;
}

interface SseMessage {
  event: string;
  data: string;
  id?: string;
}

/** Splits an SSE body into messages (comments and `retry:` lines dropped). */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncIterable<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let message: SseMessage = { event: 'message', data: '' };
  let hasData = false;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (line === '') {
          if (hasData) yield message;
          message = { event: 'message', data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') message.event = value;
        else if (field === 'id') message.id = value;
        else if (field === 'data') {
          message.data = hasData ? `${message.data}\n${value}` : value;
          hasData = true;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
}

const Reconnect = z.object({ reason: z.string(), after: z.number().int() });

export async function* followRunOverApi(
  apiUrl: string,
  accessToken: string | (() => string | Promise<string>),
  runId: string,
  fromSeq = 0,
  options: FollowOverApiOptions = {},
): AsyncIterable<RunEvent[]> {
  let after = fromSeq;
  let failures = 0;
  const base = apiUrl.replace(/\/+$/, '');
  while (!options.signal?.aborted) {
    const token = typeof accessToken === 'function' ? await accessToken() : accessToken;
    let reason = 'the stream ended';
    try {
      const response = await fetch(`${base}/runs/${encodeURIComponent(runId)}/events?after=${after}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        signal: options.signal,
      });
      if (!response.ok || !response.body) {
        const error = await response.json().then((j: { error?: { code?: string; message?: string } }) => j.error, () => undefined);
        const message = error?.message ?? `the API answered ${response.status}`;
        // the request was refused: trying again changes nothing
        if (response.status >= 400 && response.status < 500) throw new OcrError(response.status === 404 ? 'not_found' : response.status === 400 ? 'invalid_input' : 'not_authorized', message);
        throw new Error(message);
      }
      for await (const m of sseMessages(response.body)) {
        if (m.event === 'events') {
          const events = z.array(RunEvent).parse(JSON.parse(m.data));
          // a line at or before `after` was delivered already (it cannot happen with this function; a proxy replaying
          // a stream could make it)
          const fresh = events.filter((e) => e.seq > after);
          if (fresh.length > 0) {
            after = fresh[fresh.length - 1]!.seq;
            failures = 0;
            yield fresh;
          }
        } else if (m.event === 'run') {
          options.onRun?.(Run.parse(JSON.parse(m.data)));
        } else if (m.event === 'end') {
          return;
        } else if (m.event === 'reconnect') {
          reason = Reconnect.parse(JSON.parse(m.data)).reason;
        }
      }
    } catch (e) {
      if (options.signal?.aborted) return;
      if (e instanceof OcrError) throw e;
      failures++;
      reason = `the stream broke: ${(e as Error).message}`;
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, (options.retryMs ?? 500) * 2 ** Math.min(failures - 1, 5))));
    }
    options.onReconnect?.(reason, after);
  }
}
