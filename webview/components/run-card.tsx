// The run a lane shows: status, time, the worker that holds it and whether that worker is alive; once finished, its
// result and diff.
import { useAction, useHostNow, useRunboard } from '../hooks';
import { formatDuration, isFinal, type Run, runDurationMs, statusLabel } from '../../domain';
import type { DiffInfo } from '../protocol';
import { canCancel, canRetry, executorLabel, liveness, statusIcons } from '../run';
import { RunDiff } from './run-diff';
import { Icon } from './icon';

export function RunCard({ run, lane, picked, diff }: { run: Run; lane: string; picked: boolean; diff: DiffInfo | undefined }) {
  const runboard = useRunboard();
  const running = run.status === 'running';
  const now = useHostNow(running);
  const duration = runDurationMs(run, now);
  const live = liveness(run, now);
  const cancel = useAction();
  const retry = useAction();
  const error = cancel.error ?? retry.error;

  return (
    <div className={`run-card status-${run.status}`} data-run={run.id} data-status={run.status}>
      {picked && (
        <div className="picked-run">
          <span>Showing earlier run #{run.seq}.</span>
          <vscode-button secondary icon="arrow-left" onClick={() => runboard.pickRun(lane, null)}>
            Back to latest
          </vscode-button>
        </div>
      )}
      <div className="run-title">
        <Icon name={statusIcons[run.status]} spin={running} />
        <span className="run-status">{statusLabel(run)}</span>
        <span className="run-seq">#{run.seq}</span>
        <span className="run-intent" title={run.intent}>
          {run.intent}
        </span>
      </div>
      <div className="run-meta">
        {duration !== null && (
          <span className="run-duration" title={running ? 'Elapsed' : 'Duration'}>
            <Icon name="watch" /> {formatDuration(duration)}
          </span>
        )}
        <span title="Executor">
          <Icon name={run.executor === 'agent' ? 'hubot' : run.executor === 'runbook' ? 'checklist' : 'terminal'} /> {executorLabel(run)}
        </span>
        {running && run.claimed_by && (
          <span className="run-worker" title="The worker that holds this run">
            <Icon name="server" /> {run.claimed_by}
          </span>
        )}
        {live !== 'none' && (
          <span
            className={`liveness ${live}`}
            role="img"
            aria-label={live === 'live' ? 'Heartbeats arriving' : 'No heartbeat: the lease is about to expire'}
            title={live === 'live' ? 'Heartbeats arriving' : 'No heartbeat: the lease is about to expire'}
          >
            {/* a new key per heartbeat restarts the pulse */}
            <span key={run.heartbeat_at ?? ''} className="liveness-dot" />
          </span>
        )}
        {run.attempt > 1 && (
          <span title="Attempt">
            attempt {run.attempt} of {run.max_attempts}
          </span>
        )}
        <span className="run-actions">
          {canCancel(run) && (
            <vscode-button secondary icon="debug-stop" aria-label={`Cancel run #${run.seq}`} disabled={cancel.busy} onClick={() => void cancel.run(() => runboard.cancel(run.id))}>
              Cancel
            </vscode-button>
          )}
          {canRetry(run) && (
            <vscode-button secondary icon="refresh" aria-label={`Retry run #${run.seq}`} disabled={retry.busy} onClick={() => void retry.run(() => runboard.retry(run.id))}>
              Retry
            </vscode-button>
          )}
        </span>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {isFinal(run.status) && (
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
      )}
    </div>
  );
}
