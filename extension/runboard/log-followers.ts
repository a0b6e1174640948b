// The logs the Runboard page pulls: one follower per run it asked for, each reading the run's events from the store
// after the last line the page has and posting them until the run has ended and every line is read.
import type { RunEvent } from '../../domain';
import { followRun } from '../../worker/runs/follow-run';
import type { Store } from '../../worker/store/store';
import { hostNotification, logBatches, type HostMessage } from '../../webview/protocol';
import type { Log } from '../log';

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
    const post = async (batch: RunEvent[]) => {
      for (const message of logBatches(runId, batch)) {
        if (signal.aborted) return;
        await this.post(message);
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
