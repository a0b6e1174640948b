// A stand-in for the Runboard page, for tests of its host: it keeps every message it is posted, each checked the way the
// page checks it (parseHostMessage, after the structured clone that crosses to a webview), and refuses what fails.
import type { Run } from '../../domain';
import {
  type HostMessage,
  type HostNotificationMethod,
  type HostNotificationParams,
  parseHostMessage,
  type ResponseMessage,
  type Snapshot,
} from '../../webview/protocol';
import type { RunboardPage } from './runboard-host';

/** The page, reduced to what it receives: every message checked as the page checks it, kept in order. */
export class RecordingPage implements RunboardPage {
  visible = true;
  readonly messages: HostMessage[] = [];
  readonly refused: string[] = [];

  post(message: HostMessage): Promise<boolean> {
    // what crosses to a webview is a structured clone
    const parsed = parseHostMessage(structuredClone(message));
    if (parsed.ok) this.messages.push(parsed.message);
    else this.refused.push(parsed.reason);
    return Promise.resolve(true);
  }

  notifications<M extends HostNotificationMethod>(method: M): Array<HostNotificationParams<M>> {
    return this.messages.flatMap((m) => (m.kind === 'notify' && m.method === method ? [m.params as HostNotificationParams<M>] : []));
  }

  get snapshots(): Snapshot[] {
    return this.notifications('snapshot');
  }

  response(id: number): ResponseMessage | undefined {
    return this.messages.find((m): m is ResponseMessage => m.kind === 'response' && m.id === id);
  }

  /** Every version of the run the page was posted, in order. */
  runSeen(runId: string): Run[] {
    return this.messages.flatMap((m) => {
      if (m.kind !== 'notify') return [];
      if (m.method === 'snapshot' || m.method === 'runs') return m.params.runs.filter((r) => r.id === runId);
      return [];
    });
  }

  /** The messages in order, as "response 3" or the notification's method. */
  order(): string[] {
    return this.messages.map((m) => (m.kind === 'response' ? `response ${m.id}` : m.method));
  }
}
