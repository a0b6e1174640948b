// A runbook run waiting at an approval gate: what the gate asks, and Approve or Reject (the editor asks why).
import type { Run } from '../../domain';
import { useAction, useRunboard } from '../hooks';
import { Icon } from './icon';

export function ApprovalGate({ run }: { run: Run }) {
  const runboard = useRunboard();
  const approve = useAction();
  const reject = useAction();
  const gate = run.approval;
  if (run.status !== 'waiting' || !gate) return null;
  const busy = approve.busy || reject.busy;
  const error = approve.error ?? reject.error;
  return (
    <div className="approval-gate" role="group" aria-label={`Approval of run #${run.seq}`}>
      <p className="approval-message">
        <Icon name="debug-pause" /> Waiting for approval at step <code>{gate.step_id}</code>
        {gate.message ? <>: {gate.message}</> : '.'}
      </p>
      {gate.approvers.length > 0 && <p className="approval-approvers">Approvers: {gate.approvers.join(', ')}</p>}
      <div className="approval-actions">
        <vscode-button icon="check" aria-label={`Approve run #${run.seq}`} disabled={busy} onClick={() => void approve.run(() => runboard.approve(run.id))}>
          Approve
        </vscode-button>
        <vscode-button secondary icon="close" aria-label={`Reject run #${run.seq}`} disabled={busy} onClick={() => void reject.run(() => runboard.reject(run.id))}>
          Reject…
        </vscode-button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
