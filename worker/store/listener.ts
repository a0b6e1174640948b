// One dedicated LISTEN connection per store: reconnects with backoff, and tells subscribers when it has, so they
// can catch up on whatever was notified while it was down.
//
// Behind a transaction-mode pooler there is no LISTEN: a pooler of that kind lends each statement whichever server
// connection is free, so the LISTEN is forgotten as soon as it returns and notifications go to connections nobody
// reads. Unless told (see pooler.ts), the first connection finds out with a probe: it LISTENs on a channel of its own
// and the store's pool sends a notification there from another connection; one that has not arrived within probeMs,
// nor before the answer to a next statement on the LISTEN connection, means polling, said once in the log. A polling Listener tells its "look again" subscribers (onReconnect) every
// pollMs, and sends the cancel and session hints itself, from what the tables say.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { isTransient } from './errors';
import type { Notifications, NotificationMode } from './pooler';

export type NotificationHandler = (payload: string) => void;

export const channels = ['ops_queue', 'ops_runs', 'ops_events', 'ops_cancel', 'ops_sessions'] as const;
export type Channel = (typeof channels)[number];

export interface ListenerOptions extends Partial<Notifications> {
  log?: (message: string) => void;
  /** where it connects, as shown to the user */
  where?: string;
  /** a statement on one of the store's other connections: the probe's notification, and the polls */
  query?: (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;
}

const DEFAULT_POLL_MS = 1000;
const DEFAULT_PROBE_MS = 1000;

export class Listener {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly handlers = new Map<Channel, Set<NotificationHandler>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private closed = false;
  private backoffMs = 100;
  private retryTimer: NodeJS.Timeout | undefined;
  private mode: NotificationMode;
  private readonly log: (message: string) => void;
  private readonly pollMs: number;
  private readonly probeMs: number;
  /** the probe's channel while a probe waits, and what to call when its notification comes */
  private probing: { channel: string; arrived: () => void } | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private pollFailing = false;
  /** running runs asked to cancel, as last seen by a poll: each is told once */
  private cancelsSeen = new Set<string>();
  private sessionsSeen: string | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly options: ListenerOptions = {},
  ) {
    this.log = options.log ?? (() => undefined);
    this.mode = options.mode ?? 'auto';
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.probeMs = options.probeMs ?? DEFAULT_PROBE_MS;
  }

  /** 'listen' or 'poll' once known; undefined while a probe has yet to decide. */
  get notifications(): 'listen' | 'poll' | undefined {
    return this.mode === 'auto' ? undefined : this.mode;
  }

  on(channel: Channel, handler: NotificationHandler): () => void {
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    this.ensureConnected();
    return () => set.delete(handler);
  }

  /**
   * Called after every successful (re)connection: notifications sent while down are lost, so look again. A polling
   * Listener calls it at every poll.
   */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  /** For tests and diagnostics: the backend pid of the LISTEN connection. */
  get backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  /** Resolves once the LISTEN connection is up (so a notification sent after this is not missed), or polling is. */
  ready(): Promise<void> {
    this.ensureConnected();
    return this.connecting ?? Promise.resolve();
  }

  private ensureConnected(): void {
    if (this.closed) return;
    if (this.mode === 'poll') return this.startPolling();
    if (this.client || this.connecting || this.retryTimer) return;
    this.connecting = this.connect().finally(() => (this.connecting = undefined));
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    let ended = false;
    client.on('error', (e) => {
      this.log(`listen connection error: ${e.message}`);
      this.drop(client);
    });
    client.on('end', () => {
      ended = true;
      this.drop(client);
    });
    client.on('notification', (n) => {
      if (n.channel === this.probing?.channel) return this.probing.arrived();
      const set = this.handlers.get(n.channel as Channel);
      if (!set) return;
      for (const h of [...set]) {
        try {
          h(n.payload ?? '');
        } catch (e) {
          this.log(`notification handler failed: ${(e as Error).message}`);
        }
      }
    });
    try {
      await client.connect();
      if (this.mode === 'auto') {
        const missing = await this.probe(client, () => ended);
        if (missing !== undefined) {
          await client.end().catch(() => undefined);
          this.mode = 'poll';
          this.log(
            `polling for changes every ${seconds(this.pollMs)}: LISTEN does not deliver notifications through ` +
              `${this.options.where ?? 'this connection'} (${missing}), as behind a transaction-mode pooler such as ` +
              `Supabase's port 6543; a session-mode pooler or a direct connection keeps LISTEN, and ?pooler=transaction in ` +
              `the URL skips this check`,
          );
          this.startPolling(false);
          return;
        }
        this.mode = 'listen';
      }
      await client.query(channels.map((c) => `listen ${c}`).join(';'));
    } catch (e) {
      this.log(`listen connection failed: ${(e as Error).message}; retrying in ${this.backoffMs} ms`);
      client.end().catch(() => undefined);
      this.scheduleRetry();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoffMs = 100;
    for (const h of [...this.reconnectHandlers]) h();
  }

  /**
   * Whether a notification sent on another connection reaches this one: undefined when it does, else why not. A
   * connection or a database that fails meanwhile throws (the caller tries again later); a LISTEN the server or a
   * pooler refuses is an answer.
   */
  private async probe(client: pg.Client, ended: () => boolean): Promise<string | undefined> {
    const query = this.options.query;
    if (!query) return undefined;
    const channel = `ops_probe_${randomBytes(6).toString('hex')}`;
    let delivered = false;
    let arrived: () => void = () => undefined;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    this.probing = { channel, arrived: () => ((delivered = true), arrived()) };
    let timer: NodeJS.Timeout | undefined;
    try {
      try {
        await client.query(`listen ${channel}`);
      } catch (e) {
        if (isTransient(e) || ended()) throw e;
        return `LISTEN was refused: ${(e as Error).message.split('\n')[0]}`;
      }
      // committed once this returns: from now on the notification is on its way to every session that LISTENs
      await query('select pg_notify($1, $2)', [channel, '']);
      await Promise.race([arrival, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.probeMs)))]);
      // A session that LISTENs has sent what it was notified before it answers its next statement: an answer without
      // the notification is a real no, and a connection that stalled meanwhile fails here and is tried again.
      if (!delivered) await client.query('select 1');
      if (ended()) throw new Error('the connection closed during the LISTEN check');
      if (delivered) {
        await client.query(`unlisten ${channel}`);
        return undefined;
      }
      // the server connection that ran the LISTEN, most likely the next one lent to this client, stops listening
      await client.query('unlisten *').catch(() => undefined);
      return `a notification sent from another connection did not arrive within ${this.probeMs} ms`;
    } finally {
      clearTimeout(timer);
      this.probing = undefined;
    }
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (!this.closed) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 5000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.ensureConnected();
    }, delay);
    this.retryTimer.unref();
  }

  // polling ----------------------------------------------------------------------------------------------------------

  /** Polls from now on; `announce`: say so (the probe has said it already). */
  private startPolling(announce = true): void {
    if (this.closed || this.pollTimer) return;
    if (announce) {
      this.log(
        `polling for changes every ${seconds(this.pollMs)}: ${this.options.because ?? 'told to'} ` +
          `(a transaction-mode pooler delivers no LISTEN notifications)`,
      );
    }
    this.pollTimer = setInterval(() => void this.poll(), this.pollMs);
    this.pollTimer.unref();
    void this.poll();
  }

  /** One look: subscribers look again, and the cancel and session hints a notification would have carried are sent. */
  private async poll(): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      for (const h of [...this.reconnectHandlers]) h();
      await this.pollCancels();
      await this.pollSessions();
      if (this.pollFailing) this.log('polling for changes works again');
      this.pollFailing = false;
    } catch (e) {
      // said once per outage, not at every poll
      if (!this.pollFailing) this.log(`polling for changes failed: ${(e as Error).message}`);
      this.pollFailing = true;
    } finally {
      this.polling = false;
    }
  }

  private async pollCancels(): Promise<void> {
    if (!this.options.query || !this.handlers.get('ops_cancel')?.size) return;
    const rows = await this.options.query(
      `select id, claimed_by from ops.runs where status = 'running' and cancel_requested_at is not null`,
    );
    const seen = new Set<string>();
    for (const row of rows) {
      const id = String(row.id);
      seen.add(id);
      if (!this.cancelsSeen.has(id)) this.emit('ops_cancel', JSON.stringify({ run_id: id, worker_id: row.claimed_by ?? null }));
    }
    this.cancelsSeen = seen;
  }

  private async pollSessions(): Promise<void> {
    if (!this.options.query || !this.handlers.get('ops_sessions')?.size) return;
    // sessions are created and archived, nothing else: these four numbers change with every such change
    const [row] = await this.options.query(
      `select count(*) as n, count(*) filter (where status = 'archived') as archived,
              max(created_at) as created, max(archived_at) as archived_at from ops.sessions`,
    );
    const key = JSON.stringify(row);
    if (key === this.sessionsSeen) return;
    this.sessionsSeen = key;
    this.emit('ops_sessions', '');
  }

  private emit(channel: Channel, payload: string): void {
    for (const h of [...(this.handlers.get(channel) ?? [])]) {
      try {
        h(payload);
      } catch (e) {
        this.log(`notification handler failed: ${(e as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}

const seconds = (ms: number): string => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);
