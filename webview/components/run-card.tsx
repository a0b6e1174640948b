// The run a lane shows: status, time, the worker that holds it and whether that worker is alive; for a runbook run its
// steps and, at a gate, Approve and Reject; for a coding agent's run its tokens, cost, budget and whether it needs
// input (AgentTotals); once finished, its result, diff and artifacts. The parts: RunTitle and
// RunMeta (run-header.tsx), RunActions, ApprovalGate, RunSteps, RunResult, RunArtifacts.
import { isFinal, type Run, runDurationMs, type RunStep } from '../../domain';
import { useAction, useHostNow, useRunboard } from '../hooks';
import type { ArtifactInfo, DiffInfo } from '../protocol';
import { canCancel, canRetry } from '../run';
import { AgentTotals } from './agent-totals';
import { ApprovalGate } from './approval-gate';
import { RunArtifacts } from './run-artifacts';
import { RunMeta, RunTitle } from './run-header';
import { RunResult } from './run-result';
import { RunSteps } from './run-steps';

export interface RunbookParts {
  steps: readonly RunStep[] | undefined;
  artifacts: readonly ArtifactInfo[] | undefined;
  /** the step whose lines the log shows */
  step: string | null;
}

type Action = ReturnType<typeof useAction>;

export function RunCard({ run, lane, picked, diff, runbook }: { run: Run; lane: string; picked: boolean; diff: DiffInfo | undefined; runbook?: RunbookParts }) {
  const runboard = useRunboard();
  const now = useHostNow(run.status === 'running');
  const duration = runDurationMs(run, now);
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
      <RunTitle run={run} />
      <RunMeta run={run} now={now} duration={duration}>
        <RunActions run={run} cancel={cancel} retry={retry} />
      </RunMeta>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {run.agent && <AgentTotals agent={run.agent} />}
      <ApprovalGate run={run} />
      {run.executor === 'runbook' && <RunSteps run={run} steps={runbook?.steps} lane={lane} selected={runbook?.step ?? null} />}
      {isFinal(run.status) && <RunResult run={run} duration={duration} diff={diff} />}
      {isFinal(run.status) && runbook?.artifacts && <RunArtifacts artifacts={runbook.artifacts} />}
    </div>
  );
}

/** Cancel while the run may still be stopped, Retry once it failed or was canceled. */
function RunActions({ run, cancel, retry }: { run: Run; cancel: Action; retry: Action }) {
  const runboard = useRunboard();
  return (
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
  );
}
