// Where a run starts: an intent, an executor, Run. Enter runs; Ctrl/Cmd+Enter runs it before what is queued.
import { useState } from 'react';
import { useAction, useBoard, useRunboard } from '../hooks';
import type { Session } from '../../domain';
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

  const submit = async (first: boolean) => {
    const text = intent.trim();
    if (!text || !executor || action.busy) return;
    if (await action.run(() => runboard.run(lane, text, executor, { first }))) {
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
