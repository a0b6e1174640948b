// Where a run starts: an intent, an executor, Run. Enter runs; Ctrl/Cmd+Enter runs it before what is queued. When the
// lane's last agent conversation can go on with the chosen agent, "Follow up" (on by default) continues it.
import { useMemo, useState } from 'react';
import { useAction, useBoard, useRunboard } from '../hooks';
import { type ExecutorOption, lastConversation, type Run, type Session, shortId } from '../../domain';
import { listenTo, type ValueElement } from '../elements';
import { modifierKey } from './icon';

export function LaneInput({ session, lane }: { session: Session; lane: string }) {
  const runboard = useRunboard();
  const board = useBoard();
  const saved = runboard.view.lane(session.id, lane);
  const [intent, setIntent] = useState(saved.draft);
  const [executorId, setExecutorId] = useState(saved.executorId);
  const executor = board.executors.find((x) => x.id === executorId) ?? board.executors[0];
  const action = useAction();
  const conversation = useMemo(() => lastConversation([...board.runs.values()].filter((r) => r.lane === lane && r.session_id === session.id)), [board.runs, lane, session.id]);
  const continues = conversation && executor && canContinue(conversation, executor) ? conversation : undefined;
  const [followUp, setFollowUp] = useState(true);

  const submit = async (first: boolean) => {
    const text = intent.trim();
    if (!text || !executor || action.busy) return;
    if (await action.run(() => runboard.run(lane, text, executor, { first, followUp: continues !== undefined && followUp }))) {
      setIntent('');
      runboard.view.updateLane(session.id, lane, { draft: '' }, { quiet: true });
      // the user wants to see what they just started, not an old run they had picked
      if (runboard.view.lane(session.id, lane).selectedRunId) runboard.pickRun(lane, null);
    }
  };

  return (
    <div className="lane-input">
      <vscode-textfield
        className="lane-intent"
        label={`Intent for lane ${lane}`}
        placeholder={`Intent for lane ${lane} — Enter runs, ${modifierKey}+Enter runs first`}
        value={intent}
        onInput={(e) => {
          const value = e.currentTarget.value;
          setIntent(value);
          runboard.view.updateLane(session.id, lane, { draft: value }, { quiet: true });
        }}
        onKeyDown={(e) => {
          if (e.key !== 'Enter' || e.nativeEvent.isComposing) return;
          e.preventDefault();
          void submit(e.ctrlKey || e.metaKey);
        }}
      />
      <vscode-single-select
        className="lane-executor"
        label={`Executor for lane ${lane}`}
        value={executor?.id ?? ''}
        ref={listenTo<ValueElement>('change', (element) => {
          const id = element.value;
          setExecutorId(id);
          runboard.view.updateLane(session.id, lane, { executorId: id }, { quiet: true });
        })}
      >
        {board.executors.map((x) => (
          <vscode-option key={x.id} value={x.id}>
            {x.label}
          </vscode-option>
        ))}
      </vscode-single-select>
      {continues && (
        <vscode-checkbox
          className="lane-follow-up"
          label="Follow up"
          title={`Continue the ${continues.agent!.profile} conversation of run ${shortId(continues.id)} (off: a new conversation)`}
          checked={followUp}
          onChange={(e) => setFollowUp(e.currentTarget.checked)}
        />
      )}
      <vscode-button
        className="lane-run"
        icon="play"
        title={`Run (Enter); ${modifierKey}+Enter runs it first`}
        disabled={!intent.trim() || action.busy || !executor}
        onClick={() => void submit(false)}
      >
        Run
      </vscode-button>
      {action.error && (
        <p className="error" role="alert">
          Could not run: {action.error}
        </p>
      )}
    </div>
  );
}

/** A conversation goes on only with the agent that had it: the chosen profile, or the worker's default agent (any). */
function canContinue(run: Pick<Run, 'agent'>, executor: ExecutorOption): boolean {
  if (executor.run_with.executor !== 'agent') return false;
  return executor.run_with.profile === undefined || executor.run_with.profile === run.agent?.profile;
}
