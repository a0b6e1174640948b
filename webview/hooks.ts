// React's view of the page's stores.
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { Runboard } from './runboard';
import type { BoardState } from './board-store';
import type { ViewState } from './view-state';

export const RunboardContext = createContext<Runboard | null>(null);

export function useRunboard(): Runboard {
  const runboard = useContext(RunboardContext);
  if (!runboard) throw new Error('useRunboard outside <RunboardContext>');
  return runboard;
}

export function useBoard(): BoardState {
  const { board } = useRunboard();
  return useSyncExternalStore(board.subscribe, board.getState);
}

export function useViewState(): ViewState {
  const { view } = useRunboard();
  return useSyncExternalStore(view.subscribe, view.getState);
}

/** A number that changes when the run's log has new lines; at most once per animation frame. */
export function useLogVersion(runId: string): number {
  const { logs } = useRunboard();
  return useSyncExternalStore(
    (listener) => logs.subscribe(runId, listener),
    () => logs.version(runId),
  );
}

/** The host's clock, ticking every `everyMs` while `active`. */
export function useHostNow(active: boolean, everyMs = 1000): number {
  const { clockOffsetMs } = useBoard();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [active, everyMs]);
  return now + clockOffsetMs;
}

/** Runs an action of the user's, keeping its error (a sentence) until the next try. */
export function useAction(): { busy: boolean; error: string | null; run: (action: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return {
    busy,
    error,
    clear: () => setError(null),
    run: async (action) => {
      setBusy(true);
      setError(null);
      try {
        await action();
        return true;
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
        return false;
      } finally {
        setBusy(false);
      }
    },
  };
}
