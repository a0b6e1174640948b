// An executor that runs a JavaScript function for each claimed run instead of a process, with no worktree, no log and
// no diff: for the benchmarks and tests that measure the queue and the worker loop themselves. No queued run can ask
// for it (a run's `executor` field never selects it); only code that builds a Worker can give it one.
import type { Run } from '../../domain';
import type { RunEnd, RunExecution, RunExecutor, StopReason } from './execution';

export type InProcessWork = (run: Run, signal: AbortSignal) => Promise<void>;

export function inProcessExecutor(work: InProcessWork): RunExecutor {
  return (run) => new InProcessRun(run, work);
}

class InProcessRun implements RunExecution {
  private readonly abort = new AbortController();
  private stopReason: StopReason | undefined;
  private lostBecause: string | undefined;

  constructor(
    readonly run: Run,
    private readonly work: InProcessWork,
  ) {}

  get lost(): boolean {
    return this.lostBecause !== undefined;
  }

  get processGroup(): undefined {
    return undefined;
  }

  cancel(reason: StopReason): void {
    this.stopReason ??= reason;
    this.abort.abort();
  }

  loseLease(why: string): void {
    this.lostBecause ??= why;
    this.abort.abort();
  }

  async execute(): Promise<RunEnd> {
    // A stopped run ends when it is stopped, whether or not its function listens to the signal.
    const stopped = new Promise<void>((resolve) => this.abort.signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      await Promise.race([this.work(this.run, this.abort.signal), stopped]);
    } catch (e) {
      if (!this.abort.signal.aborted) return { status: 'failed', exitCode: null, error: (e as Error).message };
    }
    if (this.lostBecause) return { status: 'lost', error: this.lostBecause };
    if (this.stopReason) return { status: 'canceled', exitCode: null, error: null };
    return { status: 'succeeded', exitCode: 0, error: null };
  }
}
