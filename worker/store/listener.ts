// One dedicated LISTEN connection per store: reconnects with backoff, and tells subscribers when it has, so they
// can catch up on whatever was notified while it was down.
import pg from 'pg';

export type NotificationHandler = (payload: string) => void;

export const channels = ['ops_queue', 'ops_runs', 'ops_events', 'ops_cancel', 'ops_sessions'] as const;
export type Channel = (typeof channels)[number];

export class Listener {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly handlers = new Map<Channel, Set<NotificationHandler>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private closed = false;
  private backoffMs = 100;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  on(channel: Channel, handler: NotificationHandler): () => void {
    let set = this.handlers.get(channel);
    if (!set) this.handlers.set(channel, (set = new Set()));
    set.add(handler);
    this.ensureConnected();
    return () => set.delete(handler);
  }

  /** Called after every successful (re)connection: notifications sent while down are lost, so look again. */
  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  /** For tests and diagnostics: the backend pid of the LISTEN connection. */
  get backendPid(): number | undefined {
    return (this.client as unknown as { processID?: number } | undefined)?.processID;
  }

  ready(): Promise<void> {
    this.ensureConnected();
    return this.connecting ?? Promise.resolve();
  }

  private ensureConnected(): void {
    if (this.closed || this.client || this.connecting || this.retryTimer) return;
    this.connecting = this.connect().finally(() => (this.connecting = undefined));
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('error', (e) => {
      this.log(`listen connection error: ${e.message}`);
      this.drop(client);
    });
    client.on('end', () => this.drop(client));
    client.on('notification', (n) => {
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

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
