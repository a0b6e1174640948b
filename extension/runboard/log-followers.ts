// The logs the Runboard page pulls: one follower per run it asked for, each reading the run's events from the store
// after the last line the page has and posting them until the run has ended and every line is read.
import type { RunEvent } from '../../domain';
import { followRun } from '../../worker/runs/follow-run';
import type { Store } from '../../worker/store/store';
import { hostNotification, logBatches, type HostMessage } from '../../webview/protocol';
import type { Log } from '../log';

/** what may be on its way to the page of one run's log before its reading waits */
const inFlightChars = 1024 * 1024;

export class LogFollowers {
  private readonly followers = new Map<string, AbortController>();

  constructor(
    /** resolves once the message is handed to the page: waiting for it keeps a long log from piling up in memory */
    private readonly post: (message: HostMessage) => PromiseLike<unknown>,
    private readonly log: Log,
  ) {}

  get size(): number {
    return this.followers.size;
  }

  /** Follows the run from just after `afterSeq`; a follower of the same run is replaced. */
  follow(store: Store, runId: string, afterSeq: number): void {
    this.stop(runId);
    const controller = new AbortController();
    this.followers.set(runId, controller);
    const { signal } = controller;
    // Posts are not awaited one by one: the page's answer that a message arrived takes a round trip through the
    // workbench (tens of milliseconds while it is busy), and the next line would wait for it. Only when more than
    // `inFlightChars` are on their way does the reading wait, so a long log still never piles up in memory.
    let inFlight = 0;
    const post = async (batch: RunEvent[]) => {
      for (const message of logBatches(runId, batch)) {
        if (signal.aborted) return;
        const size = message.params.text.reduce((sum, text) => sum + text.length, 0) + 64;
        inFlight += size;
        const handed = Promise.resolve(this.post(message)).finally(() => (inFlight -= size));
        if (inFlight > inFlightChars) await handed;
        else handed.then(undefined, () => undefined);
      }
    };
    void followRun(store, runId, afterSeq, post, signal).then(async (end) => {
      if (this.followers.get(runId) === controller) this.followers.delete(runId);
      if (end.kind === 'finished') await this.post(hostNotification('logEnd', { run_id: runId }));
      // The page asks again after its next snapshot; the log line says why this one stopped.
      if (end.kind === 'failed') this.log.warn(`Runboard: stopped following the log of run ${runId}: ${end.error.message}`);
    });
  }

  stop(runId: string): void {
    this.followers.get(runId)?.abort();
    this.followers.delete(runId);
  }

  stopAll(): void {
    for (const controller of this.followers.values()) controller.abort();
    this.followers.clear();
  }
}
