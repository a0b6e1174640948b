// A lane's earlier runs; picking one shows its log and diff in the lane.
import { memo } from 'react';
import { useAction, useRunboard } from '../hooks';
import type { Run } from '../../domain';
import { formatDuration, runDurationMs } from '../../domain';
import { canRetry, statusIcons } from '../run';
import { Icon } from './icon';

export function RunHistory({ lane, runs, shownId }: { lane: string; runs: Run[]; shownId: string | null }) {
  return (
    <details className="history" open>
      <summary>
        History <span className="count">{runs.length}</span>
      </summary>
      <ul aria-label={`Earlier runs in lane ${lane}`}>
        {runs.map((run) => (
          <HistoryItem key={run.id} lane={lane} run={run} shown={run.id === shownId} />
        ))}
      </ul>
    </details>
  );
}

// Memoised: a lane's history grows with every run, and the board renders again at every change of any run; an earlier
// run's row changes only when that run does (the store keeps the object of a run that did not change).
const HistoryItem = memo(function HistoryItem({ lane, run, shown }: { lane: string; run: Run; shown: boolean }) {
  const runboard = useRunboard();
  const retry = useAction();
  const duration = runDurationMs(run, Date.now());
  return (
    <li className={`history-run status-${run.status}${shown ? ' shown' : ''}`} data-run={run.id}>
      <button type="button" className="history-pick" aria-current={shown} onClick={() => runboard.pickRun(lane, shown ? null : run.id)}>
        <Icon name={statusIcons[run.status]} />
        <span className="run-seq">#{run.seq}</span>
        <span className="run-intent">{run.intent}</span>
        <span className="history-meta">
          {run.status}
          {duration !== null && ` · ${formatDuration(duration)}`}
        </span>
      </button>
      {canRetry(run) && (
        <vscode-button secondary icon="refresh" aria-label={`Retry run #${run.seq}`} disabled={retry.busy} onClick={() => void retry.run(() => runboard.retry(run.id))}>
          Retry
        </vscode-button>
      )}
    </li>
  );
});
