// The HTTP worker store's own pieces, without the function: how a batch of log lines is cut to the function's body
// limit, how an event stream is read, and what it refuses before sending anything.
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../domain';
import { apiUrl, checkWorkerToken, HttpWorkerStore, partsOf } from './http-store';
import { sseMessages } from './run-events-client';

const event = (text: string): NewEvent => ({ stream: 'stdout', text });

describe('partsOf', () => {
  it('keeps lines in order, each part within the limit, a line larger than it alone', () => {
    const events = [event('a'.repeat(40)), event('b'.repeat(40)), event('c'.repeat(200)), event('d')];
    const parts = partsOf(events, 200);
    expect(parts.map((p) => p.map((e) => e.text[0]).join(''))).toEqual(['ab', 'c', 'd']);
    expect(parts.flat()).toEqual(events);
    expect(partsOf([], 100)).toEqual([[]]);
  });
});

describe('sseMessages', () => {
  it('reads events split anywhere across chunks, with ids, multi-line data and comments', async () => {
    const text = 'retry: 1000\n\n: keep-alive\n\nid: 3\nevent: events\ndata: [1,\ndata: 2]\n\nevent: end\r\ndata: {}\r\n\r\n';
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 7) c.enqueue(bytes.slice(i, i + 7));
        c.close();
      },
    });
    const messages = [];
    for await (const m of sseMessages(body)) messages.push(m);
    expect(messages).toEqual([
      { event: 'events', id: '3', data: '[1,\n2]' },
      { event: 'end', data: '{}' },
    ]);
  });
});

describe('what the store refuses before sending anything', () => {
  it('a URL that is not http(s) or holds credentials, a token that is not a worker token', () => {
    expect(apiUrl('https://x.supabase.co/functions/v1/ops-api/')).toBe('https://x.supabase.co/functions/v1/ops-api');
    expect(() => apiUrl('x.supabase.co')).toThrow(/is not a URL/);
    expect(() => apiUrl('https://u:p@x.supabase.co/functions/v1/ops-api')).toThrow(/must not hold credentials/);
    expect(() => checkWorkerToken('eyJhbGciOi.x.y')).toThrow(/not a worker token/);
    expect(checkWorkerToken(` ocrw_${'a'.repeat(64)} `)).toBe(`ocrw_${'a'.repeat(64)}`);
  });

  it('a worker call before the worker registered', async () => {
    const store = new HttpWorkerStore({ url: 'http://127.0.0.1:9/functions/v1/ops-api', token: `ocrw_${'a'.repeat(64)}` });
    await expect(store.heartbeat('w', [])).rejects.toMatchObject({ code: 'not_authorized', message: 'worker w was not registered through this store' });
    await expect(store.listSessions()).rejects.toMatchObject({ code: 'not_authorized' });
    // nothing listens: the API is unreachable, which the worker retries
    await expect(store.recoverExpired()).rejects.toMatchObject({ code: 'db_unreachable' });
    await store.close();
  });
});
