// The diff summaries the Runboard shows, one per finished run. A run's diff artifact is written before the run ends and
// never changes afterwards, so each is looked up once per panel.
import type { Store } from '../../worker/store/store';
import { isFinal, type Run } from '../../domain';
import { diffInfo, type DiffInfo } from '../../webview/protocol';

// Parallel lookups for a snapshot of a long session: enough to hide the round trips, few enough to leave the pool to
// the worker.
const parallel = 4;

export class DiffInfos {
  /** null: the run has no diff (it ended without a repository, or before the diff was taken) */
  private readonly known = new Map<string, DiffInfo | null>();

  async of(store: Store, runId: string): Promise<DiffInfo | undefined> {
    const known = this.known.get(runId);
    if (known !== undefined) return known ?? undefined;
    const artifact = await store.getArtifact(runId, 'diff');
    const info = (artifact && diffInfo(artifact)) ?? null;
    this.known.set(runId, info);
    return info ?? undefined;
  }

  /** The summaries of the finished runs among `runs`. */
  async ofRuns(store: Store, runs: readonly Run[]): Promise<DiffInfo[]> {
    const finished = runs.filter((r) => isFinal(r.status));
    const found: DiffInfo[] = [];
    let next = 0;
    const lookUp = async () => {
      while (next < finished.length) {
        const info = await this.of(store, finished[next++]!.id);
        if (info) found.push(info);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, finished.length) }, lookUp));
    return found;
  }

  /** Whether the run's diff was already looked up. */
  has(runId: string): boolean {
    return this.known.has(runId);
  }

  clear(): void {
    this.known.clear();
  }
}
