// The Compare view: the attempts of one comparison group side by side (status, time, exit code, what each changed, the
// verify command's checks, tokens and cost), each attempt's diff one click away, and Pick to land the one to keep.
// The table is the host's (compareGroup, what `ocr compare` prints); it is asked again whenever a run of the group
// changes.
import { useEffect, useMemo, useState } from 'react';
import { type AttemptRow, type Comparison, describeChecks, describeDiff, formatDuration, formatUsd, isFinal, type Run, type Session } from '../../domain';
import { useAction, useBoard, useRunboard } from '../hooks';
import { listenTo, type ValueElement } from '../elements';

/** The session's comparison groups, newest first, from the runs the board holds. */
export function comparisonGroups(runs: Iterable<Run>): Array<{ groupId: string; intent: string; seq: number }> {
  const groups = new Map<string, { groupId: string; intent: string; seq: number }>();
  for (const run of runs) {
    if (!run.group_id || run.spec.role === 'verify') continue;
    const held = groups.get(run.group_id);
    if (!held || run.seq < held.seq) groups.set(run.group_id, { groupId: run.group_id, intent: run.intent, seq: run.seq });
  }
  return [...groups.values()].sort((a, b) => b.seq - a.seq);
}

export function CompareView({ session, groupId }: { session: Session; groupId: string }) {
  const runboard = useRunboard();
  const board = useBoard();
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [picked, setPicked] = useState<string | null>(null);
  const [pickMessage, setPickMessage] = useState<string | null>(null);
  const pick = useAction();
  const groups = useMemo(() => comparisonGroups(board.runs.values()), [board.runs]);
  // what the table depends on: the group's runs as they are now, and which of them have a diff
  const version = useMemo(
    () =>
      JSON.stringify(
        [...board.runs.values()].filter((r) => r.group_id === groupId).map((r) => [r.id, r.status, r.updated_at, board.diffs.has(r.id)]),
      ),
    [board.runs, board.diffs, groupId],
  );

  useEffect(() => {
    let current = true;
    runboard.compare(groupId).then(
      (c) => {
        if (!current) return;
        setComparison(c);
        setError(null);
      },
      (e: unknown) => current && setError((e as Error).message),
    );
    return () => {
      current = false;
    };
  }, [runboard, groupId, version]);

  const shown = comparison?.groupId === groupId ? comparison : null;
  return (
    <main className="compare-view" aria-label="Compare attempts">
      <div className="compare-bar">
        <vscode-button icon="arrow-left" secondary onClick={() => runboard.view.setCompare(null)}>
          Lanes
        </vscode-button>
        <vscode-single-select
          className="compare-picker"
          label="Comparison"
          value={groupId}
          ref={listenTo<ValueElement>('change', (element) => {
            if (element.value && element.value !== groupId) runboard.view.setCompare({ sessionId: session.id, groupId: element.value });
          })}
        >
          {groups.map((g) => (
            <vscode-option key={g.groupId} value={g.groupId}>
              {g.intent}
            </vscode-option>
          ))}
        </vscode-single-select>
        {shown && <span className="compare-state" role="status">{shown.done ? 'All attempts ended' : 'Attempts running…'}</span>}
      </div>
      {shown && <h2 className="compare-intent">{shown.intent}</h2>}
      {error && (
        <p className="error" role="alert">
          Could not read the comparison: {error}
        </p>
      )}
      {!shown && !error && (
        <p className="board-message" role="status">
          <vscode-progress-ring /> Reading the comparison…
        </p>
      )}
      {shown && (
        <table className="compare-table">
          <thead>
            <tr>
              <th scope="col">Lane</th>
              <th scope="col">How</th>
              <th scope="col">Status</th>
              <th scope="col">Time</th>
              <th scope="col">Exit</th>
              <th scope="col">Changes</th>
              <th scope="col">Checks</th>
              <th scope="col">Tokens</th>
              <th scope="col">Cost</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.attempts.map((a) => (
              <AttemptLine
                key={a.runId}
                attempt={a}
                picked={picked === a.runId}
                busy={pick.busy}
                onDiff={() => void runboard.openDiff(a.runId)}
                onPick={() =>
                  void pick.run(async () => {
                    const answer = await runboard.pickAttempt(a.runId);
                    if (answer.picked) setPicked(a.runId);
                    setPickMessage(answer.message);
                  })
                }
              />
            ))}
          </tbody>
        </table>
      )}
      {pick.error && (
        <p className="error" role="alert">
          Pick failed: {pick.error}
        </p>
      )}
      {pickMessage && (
        <p className="compare-picked" role="status">
          {pickMessage}
        </p>
      )}
    </main>
  );
}

function AttemptLine({ attempt: a, picked, busy, onDiff, onPick }: { attempt: AttemptRow; picked: boolean; busy: boolean; onDiff: () => void; onPick: () => void }) {
  const checks = describeChecks(a.checks);
  return (
    <tr className="attempt" data-lane={a.lane} data-status={a.status} data-picked={picked || undefined}>
      <th scope="row">{a.lane}</th>
      <td>{a.executor}</td>
      <td className="attempt-status" data-status={a.status}>
        {a.status}
      </td>
      <td>{a.durationMs === undefined ? '—' : formatDuration(a.durationMs)}</td>
      <td>{a.exitCode === null ? '—' : a.exitCode}</td>
      <td className="attempt-changes">{a.diff ? describeDiff(a.diff) : '—'}</td>
      <td className="attempt-checks" data-checks={a.checks.state} title={a.checks.counts?.line}>
        {checks}
      </td>
      <td>{a.tokens ? `${a.tokens.input.toLocaleString()} in / ${a.tokens.output.toLocaleString()} out` : '—'}</td>
      <td>{a.costUsd === undefined ? '—' : `$${formatUsd(a.costUsd)}`}</td>
      <td>
        <div className="attempt-actions">
          <vscode-button secondary icon="diff" disabled={!a.diff || undefined} onClick={onDiff} aria-label={`Diff of lane ${a.lane}`}>
            Diff
          </vscode-button>
          <vscode-button icon="check" disabled={!isFinal(a.status) || busy || undefined} onClick={onPick} aria-label={`Pick lane ${a.lane}`}>
            {picked ? 'Picked' : 'Pick'}
          </vscode-button>
        </div>
      </td>
    </tr>
  );
}
