// A lane's menu, behind the "…" of its header: what can be done in the lane besides running an intent — a runbook, and
// landing its work on the user's branch or starting it again from there (the editor asks the questions of each).
import { useState } from 'react';
import { useAction, useRunboard } from '../hooks';
import { PopupMenu } from './popup-menu';

export function LaneMenu({ lane }: { lane: string }) {
  const runboard = useRunboard();
  const action = useAction();
  // what the last item tried, for its error line
  const [tried, setTried] = useState('run a runbook');
  const item = (label: string, what: string, run: () => Promise<unknown>) => ({
    label,
    run: () => {
      setTried(what);
      void action.run(run);
    },
  });
  return (
    <>
      <PopupMenu
        className="lane-menu"
        icon="ellipsis"
        label={`Actions of lane ${lane}`}
        items={[
          item('Run Runbook…', 'run a runbook', () => runboard.runRunbook(lane)),
          item('Land Lane…', `land lane ${lane}`, () => runboard.landLane(lane)),
          item('Reset Lane', `reset lane ${lane}`, () => runboard.resetLane(lane)),
        ]}
      />
      {action.error && (
        <p className="error lane-menu-error" role="alert">
          Could not {tried}: {action.error}
        </p>
      )}
    </>
  );
}
