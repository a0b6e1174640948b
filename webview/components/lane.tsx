// One lane: its menu, what its agent runs cost, its input, its queue, the run it shows with that run's log (for a
// runbook run, its steps, and the log of the step picked; for an agent run, its conversation), and its history.
import { useMemo, useRef } from 'react';
import { useBoard, useViewState } from '../hooks';
import { laneView, shownRun } from '../lane';
import { portRangeText } from '../../domain';
import { costSumText, laneConflictsOf, type Session, sumCost } from '../../domain';
import { Icon } from './icon';
import { AgentLog } from './agent-log';
import { LaneInput } from './lane-input';
import { LaneMenu } from './lane-menu';
import { LogView } from './log-view';
import { QueuedRuns } from './queued-runs';
import { RunCard } from './run-card';
import { RunHistory } from './run-history';

export function Lane({ session, name }: { session: Session; name: string }) {
  const board = useBoard();
  const view = useViewState();
  const lane = useMemo(() => laneView(name, board.runs.values()), [name, board.runs]);
  const laneState = view.lanes[session.id]?.[name];
  const selected = laneState?.selectedRunId ?? null;
  const shown = shownRun(lane, selected);
  const step = shown && laneState?.step?.runId === shown.id ? laneState.step.stepId : null;
  const picked = shown !== null && shown.id !== lane.current?.id;
  const ref = useRef<HTMLElement>(null);
  const running = lane.current?.status === 'running';
  const cost = useMemo(() => sumCost([...(lane.current ? [lane.current] : []), ...lane.history]), [lane]);
  const ports = board.lanePorts.get(name);
  const conflicts = useMemo(() => laneConflictsOf(name, board.conflicts?.conflicts ?? []), [name, board.conflicts]);

  return (
    <section
      ref={ref}
      className="lane"
      aria-label={`Lane ${name}`}
      data-lane={name}
      onKeyDown={(e) => {
        // Ctrl/Cmd+F searches the log of the lane the focus is in.
        if (e.key.toLowerCase() === 'f' && (e.ctrlKey || e.metaKey) && !e.shiftKey && !e.altKey) {
          const search = ref.current?.querySelector<HTMLElement>('.log-search');
          if (search) {
            e.preventDefault();
            search.focus();
          }
        }
      }}
    >
      <header className="lane-header">
        <h2>Lane {name}</h2>
        {running && <span className="lane-state running">running</span>}
        {ports && (
          <span className="lane-ports" title={`Its runs get OCR_PORT=${ports.port_base} and OCR_PORT_COUNT=${ports.port_count}; no other lane of this database has these ports`}>
            {portRangeText(ports)}
          </span>
        )}
        {cost && (
          <span className="lane-cost" title={costSumText(cost).title}>
            {costSumText(cost).text}
          </span>
        )}
        {conflicts.length > 0 && (
          <span
            className="lane-conflict"
            role="img"
            aria-label={`Lane ${name} conflicts with ${conflicts.map((c) => c.with).join(' and ')}`}
            title={conflicts.map((c) => `Conflicts with ${c.with} in ${c.files.join(', ')}`).join('\n')}
          >
            <Icon name="warning" /> conflicts
          </span>
        )}
        {lane.queued.length > 0 && (
          <vscode-badge variant="counter" title={`${lane.queued.length} queued`}>
            {lane.queued.length}
          </vscode-badge>
        )}
        <LaneMenu lane={name} />
      </header>
      <LaneInput session={session} lane={name} />
      {lane.queued.length > 0 && <QueuedRuns lane={name} queued={lane.queued} />}
      {shown ? (
        <>
          <RunCard
            run={shown}
            lane={name}
            picked={picked}
            diff={board.diffs.get(shown.id)}
            runbook={shown.executor === 'runbook' ? { steps: board.steps.get(shown.id), artifacts: board.artifacts.get(shown.id), step } : undefined}
          />
          {shown.executor === 'agent' ? (
            <AgentLog key={shown.id} run={shown} sessionId={session.id} lane={name} />
          ) : (
            <LogView key={`${shown.id}/${step ?? ''}`} run={shown} sessionId={session.id} lane={name} step={step} />
          )}
        </>
      ) : (
        <p className="lane-empty">{lane.queued.length > 0 ? 'Waiting for a worker to take the first run.' : `Nothing has run in lane ${name} yet.`}</p>
      )}
      {lane.history.length > 0 && <RunHistory lane={name} runs={lane.history} shownId={shown?.id ?? null} />}
    </section>
  );
}
