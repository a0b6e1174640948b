// A lane's menu, behind the "…" of its header: what can be started in the lane besides an intent.
import { useAction, useRunboard } from '../hooks';
import { PopupMenu } from './popup-menu';

export function LaneMenu({ lane }: { lane: string }) {
  const runboard = useRunboard();
  const action = useAction();
  return (
    <>
      <PopupMenu
        className="lane-menu"
        icon="ellipsis"
        label={`Actions of lane ${lane}`}
        items={[{ label: 'Run Runbook…', run: () => void action.run(() => runboard.runRunbook(lane)) }]}
      />
      {action.error && (
        <p className="error lane-menu-error" role="alert">
          Could not run a runbook: {action.error}
        </p>
      )}
    </>
  );
}
