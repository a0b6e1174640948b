// A finished run's result: its exit code and duration, its error, and what it changed.
import { formatDuration, type Run } from '../../domain';
import type { DiffInfo } from '../protocol';
import { RunDiff } from './run-diff';

export function RunResult({ run, duration, diff }: { run: Run; duration: number | null; diff: DiffInfo | undefined }) {
  return (
    <div className="run-result">
      <p className="run-outcome">
        {run.exit_code !== null && (
          <span className="exit-code" data-exit={run.exit_code}>
            exit code {run.exit_code}
          </span>
        )}
        {duration !== null && <span>took {formatDuration(duration)}</span>}
      </p>
      {run.error && <pre className="run-error">{run.error}</pre>}
      {diff ? <RunDiff diff={diff} /> : <p className="diff-none">No changes recorded.</p>}
    </div>
  );
}
