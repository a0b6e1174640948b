// The top of a run's card: its status and intent, then how long it has taken, how it runs, which worker holds it and
// whether that worker is alive, its attempt, and what can be done with it.
import type { ReactNode } from 'react';
import { formatDuration, type Run, statusLabel } from '../../domain';
import { executorLabel, statusIcons } from '../run';
import { Icon } from './icon';
import { LivenessDot } from './liveness-dot';

export function RunTitle({ run }: { run: Run }) {
  return (
    <div className="run-title">
      <Icon name={statusIcons[run.status]} spin={run.status === 'running'} />
      <span className="run-status">{statusLabel(run)}</span>
      <span className="run-seq">#{run.seq}</span>
      <span className="run-intent" title={run.intent}>
        {run.intent}
      </span>
    </div>
  );
}

/** `children`: the run's actions, last in the row. */
export function RunMeta({ run, now, duration, children }: { run: Run; now: number; duration: number | null; children: ReactNode }) {
  const running = run.status === 'running';
  return (
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
      <LivenessDot run={run} now={now} />
      {run.attempt > 1 && (
        <span title="Attempt">
          attempt {run.attempt} of {run.max_attempts}
        </span>
      )}
      {children}
    </div>
  );
}
