// The page's side of the protocol: requests that resolve with their response, notifications both ways, and a check of
// every incoming message. A message that fails the check is dropped, logged, and reported to the host.
//
// Incoming messages wait in an inbox that is worked off in animation frames, a few milliseconds' worth per frame.
// A flood of log batches (a build printing at full speed) then cannot starve rendering: a browser runs queued message
// tasks before it draws, and reading a message's data is where its cost lies, so the message task itself only queues.
import { type HostNotification, parseHostMessage, parseResult, type RequestMethod, type RequestParams, type RequestResult, type ResponseMessage, webviewNotification, type WebviewNotificationMethod, type WebviewNotificationParams } from './protocol';
import { RunboardError } from './errors';
import type { WebviewApi } from './vscode';

/** Where host messages arrive: the page's window, as VS Code delivers them. */
export interface MessageSource {
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

interface Pending {
  method: RequestMethod;
  resolve(result: unknown): void;
  reject(error: RunboardError): void;
  timer: ReturnType<typeof setTimeout>;
}

// Long enough for a host that asks the user first (Apply shows a confirmation), short enough to never hang a button.
const defaultTimeoutMs = 10 * 60 * 1000;

export interface HostClientOptions {
  console?: Pick<Console, 'warn'>;
  /** runs the inbox later (the next animation frame); without it each message is handled as it arrives */
  schedule?: (drain: () => void) => void;
  /** inbox work per drain, in ms; at least one message is handled each time */
  budgetMs?: number;
}

export class HostClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(notification: HostNotification) => void>();
  private readonly inbox: MessageEvent[] = [];
  private draining = false;
  private readonly console: Pick<Console, 'warn'>;
  private readonly onWindowMessage = (event: MessageEvent) => {
    if (!this.options.schedule) {
      this.receive(event.data);
      return;
    }
    // not event.data: reading it is what deserializes the message
    this.inbox.push(event);
    if (!this.draining) {
      this.draining = true;
      this.options.schedule(this.drain);
    }
  };

  constructor(
    private readonly api: WebviewApi,
    private readonly source: MessageSource,
    private readonly options: HostClientOptions = {},
  ) {
    this.console = options.console ?? globalThis.console;
    source.addEventListener('message', this.onWindowMessage);
  }

  private readonly drain = () => {
    const deadline = performance.now() + (this.options.budgetMs ?? 8);
    do {
      const event = this.inbox.shift();
      if (event) this.receive(event.data);
    } while (this.inbox.length > 0 && performance.now() < deadline);
    if (this.inbox.length > 0) this.options.schedule!(this.drain);
    else this.draining = false;
  };

  request<M extends RequestMethod>(method: M, params: RequestParams<M>, timeoutMs = defaultTimeoutMs): Promise<RequestResult<M>> {
    const id = this.nextId++;
    return new Promise<RequestResult<M>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new RunboardError('timeout', `the editor did not answer "${method}" within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject, timer });
      this.api.postMessage({ kind: 'request', id, method, params });
    });
  }

  notify<M extends WebviewNotificationMethod>(method: M, params: WebviewNotificationParams<M>): void {
    this.api.postMessage(webviewNotification(method, params));
  }

  onNotification(listener: (notification: HostNotification) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One message as the window received it. */
  receive(raw: unknown): void {
    const parsed = parseHostMessage(raw);
    if (!parsed.ok) {
      this.drop(raw, parsed.reason);
      return;
    }
    const message = parsed.message;
    if (message.kind === 'response') this.settle(message);
    else for (const listener of [...this.listeners]) listener(message);
  }

  dispose(): void {
    this.source.removeEventListener('message', this.onWindowMessage);
    this.inbox.length = 0;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RunboardError('disposed', `"${p.method}" was not answered before the Runboard closed`));
      this.pending.delete(id);
    }
    this.listeners.clear();
  }

  private settle(message: ResponseMessage): void {
    const p = this.pending.get(message.id);
    if (!p) {
      this.drop(message, `a response to request ${message.id}, which is not waiting`);
      return;
    }
    this.pending.delete(message.id);
    clearTimeout(p.timer);
    if (!message.ok) {
      p.reject(new RunboardError('request_failed', message.error.message, message.error.code));
      return;
    }
    const result = parseResult(p.method, message.result);
    if (result.ok) p.resolve(result.message);
    else {
      this.report(result.reason);
      p.reject(new RunboardError('invalid_message', result.reason));
    }
  }

  private drop(raw: unknown, reason: string): void {
    // Other parts of the page (and browser extensions in the dev harness) post to the same window: only report what
    // claims to be ours.
    const ours = typeof raw === 'object' && raw !== null && 'kind' in raw;
    if (!ours) return;
    this.report(`dropped a message from the editor: ${reason}`);
  }

  private report(message: string): void {
    this.console.warn(`[runboard] ${message}`);
    this.notify('problem', { message });
  }
}
