// What waits in a lane, in the order the queue will take it.
import { useAction, useRunboard } from '../hooks';
import type { QueuedRun } from '../lane';
import { defaultPriority } from '../../domain';
import { executorLabel } from '../run';

export function QueuedRuns({ lane, queued }: { lane: string; queued: QueuedRun[] }) {
  return (
    <ol className="queued" aria-label={`Queued in lane ${lane}`}>
      {queued.map((q) => (
        <QueuedItem key={q.run.id} item={q} />
      ))}
    </ol>
  );
}

function QueuedItem({ item: { run, position } }: { item: QueuedRun }) {
  const runboard = useRunboard();
  const cancel = useAction();
  return (
    <li className="queued-run" data-run={run.id}>
      <span className="queue-position" title={`Position ${position} in the lane's queue`}>
        {position}
      </span>
      <span className="run-intent" title={run.intent}>
        {run.intent}
      </span>
      {run.priority < defaultPriority && <span className="tag">first</span>}
      <span className="tag">{executorLabel(run)}</span>
      <vscode-button
        secondary
        icon="close"
        aria-label={`Cancel queued run ${position}: ${run.intent}`}
        disabled={cancel.busy || run.cancel_requested_at !== null}
        onClick={() => void cancel.run(() => runboard.cancel(run.id))}
      >
        Cancel
      </vscode-button>
      {cancel.error && (
        <span className="error" role="alert">
          {cancel.error}
        </span>
      )}
    </li>
  );
}
