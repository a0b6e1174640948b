import { Board } from './board';
import { SessionHeader } from './session-header';
import { RunboardContext, useBoard, useViewState } from '../hooks';
import { CompareView } from './compare-view';
import type { Runboard } from '../runboard';

export function RunboardApp({ runboard }: { runboard: Runboard }) {
  return (
    <RunboardContext value={runboard}>
      <App />
    </RunboardContext>
  );
}

function App() {
  const board = useBoard();
  const view = useViewState();
  const compare = board.session && view.compare?.sessionId === board.session.id ? view.compare : null;
  return (
    <div className="runboard">
      <SessionHeader />
      {!board.connected ? (
        <p className="board-message" role="status">
          <vscode-progress-ring /> Connecting to Ops Control Room…
        </p>
      ) : board.session && compare ? (
        <CompareView session={board.session} groupId={compare.groupId} />
      ) : board.session ? (
        <Board session={board.session} />
      ) : (
        <p className="board-message">No session yet. A session is one intent on one repository, worked on in parallel lanes: start one with New Session.</p>
      )}
    </div>
  );
}
