// Following a run's log: every event from a seq on, in order and each once, until the run has ended and its last line
// is read, or the reader stops. The Runboard, the log document and `ocr logs --follow` all read a log through this.
import type { RunEvent } from '../../domain';
import type { Store } from '../store/store';

export type FollowEnd =
  /** the run has ended and every line was handed over */
  | { kind: 'finished'; lastSeq: number }
  /** the reader stopped (its signal was aborted) */
  | { kind: 'stopped'; lastSeq: number }
  /** reading failed: the database went away for longer than the store retries, say */
  | { kind: 'failed'; lastSeq: number; error: Error };

/**
 * Hands each batch of the run's events after `afterSeq` to `onEvents` (awaited: a slow reader slows the reading, so a
 * long log never piles up in memory) and says how the following ended. It never throws.
 */
export async function followRun(
  store: Store,
  runId: string,
  afterSeq: number,
  onEvents: (events: RunEvent[]) => void | Promise<void>,
  signal?: AbortSignal,
): Promise<FollowEnd> {
  let lastSeq = afterSeq;
  try {
    for await (const batch of store.followRun(runId, afterSeq, { signal })) {
      if (signal?.aborted) break;
      await onEvents(batch);
      lastSeq = batch[batch.length - 1]?.seq ?? lastSeq;
      if (signal?.aborted) break;
    }
    return signal?.aborted ? { kind: 'stopped', lastSeq } : { kind: 'finished', lastSeq };
  } catch (e) {
    if (signal?.aborted) return { kind: 'stopped', lastSeq };
    return { kind: 'failed', lastSeq, error: e instanceof Error ? e : new Error(String(e)) };
  }
}
