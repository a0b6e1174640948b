// Renders the Runboard as VS Code would run it: messages from the host arrive as window 'message' events, messages to
// the host go through the page's WebviewApi (here in memory), and animation frames run when the test says so.
import { act, render } from '@testing-library/react';
import { RunboardApp } from '../components/app';
import { hostNotification, type HostNotificationMethod, type HostNotificationParams, parseWebviewMessage, type RequestMessage, type RequestMethod, type RequestResult, type WebviewMessage } from '../protocol';
import { Runboard } from '../runboard';
import { memoryWebviewApi } from '../vscode';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

export function mountRunboard(options: { state?: unknown } = {}) {
  const sent: WebviewMessage[] = [];
  const answered = new Set<number>();
  const api = memoryWebviewApi({
    state: options.state,
    onMessage(raw) {
      const parsed = parseWebviewMessage(raw);
      if (!parsed.ok) throw new Error(`the page sent an invalid message: ${parsed.reason}`);
      sent.push(parsed.message);
    },
  });
  const frames: Array<() => void> = [];
  const warnings: string[] = [];
  const runboard = new Runboard(api, window, {
    requestFrame: (cb) => frames.push(cb),
    console: { warn: (m: string) => void warnings.push(m) },
  });
  const view = render(<RunboardApp runboard={runboard} />);
  runboard.start();

  /** Posts like VS Code: a structured clone, delivered later as a window message event. */
  async function post(message: unknown, { frame = true } = {}): Promise<void> {
    await act(async () => {
      window.postMessage(structuredClone(message), '*');
      await tick();
    });
    if (frame) await runFrames();
  }

  async function runFrames(): Promise<number> {
    let ran = 0;
    await act(async () => {
      while (frames.length > 0) {
        frames.shift()!();
        ran++;
      }
      await tick();
    });
    return ran;
  }

  const host = {
    sent,
    warnings,
    post,
    runFrames,
    pendingFrames: () => frames.length,
    notify<M extends HostNotificationMethod>(method: M, params: HostNotificationParams<M>, options?: { frame?: boolean }): Promise<void> {
      return post(hostNotification(method, params), options);
    },
    notifications(method: string) {
      return sent.filter((m) => m.kind === 'notify' && m.method === method).map((m) => m.params);
    },
    /** The oldest unanswered request of this method; fails if there is none. */
    request<M extends RequestMethod>(method: M): Extract<RequestMessage, { method: M }> {
      const found = sent.find((m): m is Extract<RequestMessage, { method: M }> => m.kind === 'request' && m.method === method && !answered.has(m.id));
      if (!found) throw new Error(`the page sent no "${method}" request; it sent: ${sent.map((m) => m.method).join(', ')}`);
      return found;
    },
    async answer<M extends RequestMethod>(request: Extract<RequestMessage, { method: M }>, result: RequestResult<M>): Promise<void> {
      answered.add(request.id);
      await post({ kind: 'response', id: request.id, ok: true, result });
    },
    async fail(request: RequestMessage, code: string, message: string): Promise<void> {
      answered.add(request.id);
      await post({ kind: 'response', id: request.id, ok: false, error: { code, message } });
    },
  };
  return { ...view, runboard, api, host };
}
