// The top of the Runboard: which session, a new one, what it is about, how its runs stand and what its agents cost.
import { useMemo, useState } from 'react';
import { useAction, useBoard, useRunboard, useViewState } from '../hooks';
import { countByStatus, pickableSessions, repositoryLabel, summaryText } from '../board-store';
import { conflictTitle, costSumText, sumCost } from '../../domain';
import { Icon } from './icon';
import { NewSessionForm } from './new-session';
import { comparisonGroups } from './compare-view';
import { listenTo, type ValueElement } from '../elements';

export function SessionHeader() {
  const runboard = useRunboard();
  const board = useBoard();
  const view = useViewState();
  const [creating, setCreating] = useState(false);
  const select = useAction();
  const shown = board.session;
  const sessions = pickableSessions(board.sessions, view.showArchived, shown?.id ?? null);
  const counts = useMemo(() => countByStatus(board.runs.values()), [board.runs]);
  const cost = useMemo(() => sumCost(board.runs.values()), [board.runs]);
  const repo = shown ? repositoryLabel(shown) : null;
  const groups = useMemo(() => comparisonGroups(board.runs.values()), [board.runs]);
  const comparing = shown !== null && view.compare?.sessionId === shown.id;
  const compareAsk = useAction();

  return (
    <header className="session-header">
      <div className="session-bar">
        <vscode-single-select
          className="session-picker"
          label="Session"
          value={shown?.id ?? ''}
          disabled={sessions.length === 0}
          ref={listenTo<ValueElement>('change', (element) => {
            const id = element.value;
            if (id && id !== shown?.id) void select.run(() => runboard.selectSession(id));
          })}
        >
          {sessions.map((s) => (
            <vscode-option key={s.id} value={s.id} description={s.intent}>
              {s.status === 'archived' ? `${s.title} (archived)` : s.title}
            </vscode-option>
          ))}
        </vscode-single-select>
        <vscode-checkbox label="Show archived" checked={view.showArchived} onChange={(e) => runboard.view.setShowArchived(e.currentTarget.checked)} />
        <vscode-button icon="add" onClick={() => setCreating(true)} disabled={creating}>
          New Session
        </vscode-button>
      </div>
      {select.error && (
        <p className="error" role="alert">
          Could not switch sessions: {select.error}
        </p>
      )}
      {creating && <NewSessionForm onDone={() => setCreating(false)} />}
      {shown && (
        <div className="session-info">
          <h1 className="session-title">
            {shown.title}
            {shown.status === 'archived' && <span className="archived-tag">archived</span>}
          </h1>
          {shown.intent && <p className="session-intent">{shown.intent}</p>}
          <p className="session-repo">
            {repo && (
              <span title="Repository">
                <Icon name="repo" /> {repo}
              </span>
            )}
            {shown.base_ref && (
              <span title="Base">
                <Icon name="git-branch" /> {shown.base_ref}
              </span>
            )}
          </p>
          <p className="session-summary" role="status" aria-label="Runs by status">
            {summaryText(counts)}
          </p>
          {cost && (
            <p className="session-cost" aria-label="Agent cost" title={costSumText(cost).title}>
              <Icon name="credit-card" /> {costSumText(cost).text}
            </p>
          )}
          {shown.status === 'active' && (
            <div className="session-actions">
              {shown.lanes.length >= 2 && (
                <vscode-button icon="versions" secondary disabled={compareAsk.busy || undefined} onClick={() => void compareAsk.run(() => runboard.compareInLanes(shown.id))}>
                  Compare in Lanes…
                </vscode-button>
              )}
              {groups.length > 0 && !comparing && (
                <vscode-button icon="table" secondary onClick={() => runboard.view.setCompare({ sessionId: shown.id, groupId: groups[0]!.groupId })}>
                  Compare view
                </vscode-button>
              )}
            </div>
          )}
          {board.conflicts && board.conflicts.conflicts.length > 0 && (
            <div className="session-conflicts" role="alert" aria-label="Lane conflicts">
              <Icon name="warning" /> If merged now:
              <ul>
                {board.conflicts.conflicts.map((c) => (
                  <li key={`${c.a}/${c.b}`}>
                    {conflictTitle(c, board.conflicts!.user_branch)}: <span className="conflict-files">{c.files.join(', ')}</span>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {compareAsk.error && (
            <p className="error" role="alert">
              Could not start the comparison: {compareAsk.error}
            </p>
          )}
        </div>
      )}
    </header>
  );
}
