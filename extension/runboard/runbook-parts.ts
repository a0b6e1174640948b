// What the Runboard shows of runbook runs besides the run rows: each run's steps (store.listSteps) and, once it has
// finished, what it left (store.listArtifacts, posted without content). A finished run's steps and artifacts never
// change again, so each is read once per panel; a live run's steps are read whenever they may have moved.
import type { Store } from '../../worker/store/store';
import { isFinal, type Run, type RunStep } from '../../domain';
import { artifactInfo, type ArtifactInfo } from '../../webview/protocol';

// Parallel reads for a snapshot of a long session: enough to hide the round trips, few enough to leave the pool to
// the worker.
const parallel = 4;

/** Whether a run may have steps: a runbook run a worker has taken at least once. */
export function hasSteps(run: Pick<Run, 'executor' | 'status' | 'attempt'>): boolean {
  return run.executor === 'runbook' && !(run.status === 'queued' && run.attempt === 0);
}

/** Whether a run may have artifacts to list: a finished runbook run (other runs leave only their diff). */
export function hasArtifacts(run: Pick<Run, 'executor' | 'status'>): boolean {
  return run.executor === 'runbook' && isFinal(run.status);
}

async function eachOf<T>(items: readonly T[], read: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await read(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

export class RunbookSteps {
  private readonly finished = new Map<string, RunStep[]>();

  /** The run's steps in order; a finished run's are read once. */
  async of(store: Store, run: Run): Promise<RunStep[]> {
    const known = this.finished.get(run.id);
    if (known) return known;
    const steps = await store.listSteps(run.id);
    if (isFinal(run.status)) this.finished.set(run.id, steps);
    return steps;
  }

  /** The steps of every run among `runs` that may have some, each row naming its run. */
  async ofRuns(store: Store, runs: readonly Run[]): Promise<RunStep[]> {
    const found: RunStep[] = [];
    await eachOf(runs.filter(hasSteps), async (run) => void found.push(...(await this.of(store, run))));
    return found;
  }

  clear(): void {
    this.finished.clear();
  }
}

export class RunbookArtifacts {
  private readonly known = new Map<string, ArtifactInfo[]>();

  /** The artifacts of a finished runbook run, without their content. */
  async of(store: Store, runId: string): Promise<ArtifactInfo[]> {
    const known = this.known.get(runId);
    if (known) return known;
    const infos = (await store.listArtifacts(runId)).flatMap((a) => artifactInfo(a) ?? []);
    this.known.set(runId, infos);
    return infos;
  }

  async ofRuns(store: Store, runs: readonly Run[]): Promise<ArtifactInfo[]> {
    const found: ArtifactInfo[] = [];
    await eachOf(runs.filter(hasArtifacts), async (run) => void found.push(...(await this.of(store, run.id))));
    return found;
  }

  has(runId: string): boolean {
    return this.known.has(runId);
  }

  clear(): void {
    this.known.clear();
  }
}
