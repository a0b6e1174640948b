// Where a run's log is scrolled: at the end and following while new lines arrive, until the user scrolls up; back to
// following on "Jump to end"; elsewhere when search reveals a line. The position is kept per lane (for the run and the
// step it shows), so after a window reload the log reopens where it was. Positions are rows: lines and data rows.
import { type RefObject, useCallback, useLayoutEffect, useRef, useState } from 'react';
import { useRunboard } from '../hooks';
import { rowHeight } from './log-row';

export interface FollowTail {
  /** new lines scroll into view */
  follow: boolean;
  /** `follow` as of now: a state update may not have rendered yet when the next batch or scroll event arrives */
  followRef: RefObject<boolean>;
  /** follows again, from the last line, with the focus in the log */
  jumpToEnd(): void;
  /** stops following and brings row `row` to the middle of the view */
  reveal(row: number): void;
  /** the first row in view */
  topLine(): number;
}

export function useFollowTail(
  scrollRef: RefObject<HTMLDivElement | null>,
  { runId, sessionId, lane, step }: { runId: string; sessionId: string; lane: string; step: string | null },
  { count, ended }: { count: number; ended: boolean },
  version: number,
): FollowTail {
  const runboard = useRunboard();
  // Where this lane's log was before a reload, if it was this run's (and this step's).
  const [saved] = useState(() => {
    const s = runboard.view.lane(sessionId, lane).scroll;
    return s?.runId === runId && s.step === step ? s : null;
  });
  const [follow, setFollow] = useState(saved?.follow ?? true);
  // The scroll handler and the frame's layout effect read this, not the state: a state update may not have rendered
  // yet when the next batch arrives, and following on stale state would pull the user back down.
  const followRef = useRef(follow);
  const restoreLine = useRef<number | null>(saved && !saved.follow ? saved.topLine : null);

  const setFollowing = useCallback((on: boolean) => {
    followRef.current = on;
    setFollow(on);
  }, []);

  // Captured on the element itself, so it runs before the virtualizer's own listener reads the range.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const onScroll = () => {
      const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight <= rowHeight;
      if (restoreLine.current === null && atEnd !== followRef.current) setFollowing(atEnd);
      runboard.view.updateLane(sessionId, lane, { scroll: { runId, step, topLine: Math.floor(el.scrollTop / rowHeight), follow: followRef.current } }, { quiet: true });
    };
    el.addEventListener('scroll', onScroll, { capture: true, passive: true });
    return () => el.removeEventListener('scroll', onScroll, { capture: true });
  }, [runboard, sessionId, lane, runId, step, setFollowing]);

  // After each frame's rows are in the DOM: restore a saved position once its line exists, else keep to the end.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    if (restoreLine.current !== null) {
      if (count > restoreLine.current || ended) {
        el.scrollTop = restoreLine.current * rowHeight;
        restoreLine.current = null;
      }
      return;
    }
    if (followRef.current) el.scrollTop = el.scrollHeight;
  }, [version, count, follow, ended]);

  const reveal = useCallback(
    (row: number) => {
      const el = scrollRef.current;
      if (!el) return;
      setFollowing(false);
      restoreLine.current = null;
      el.scrollTop = Math.max(0, row * rowHeight - Math.floor(el.clientHeight / 2));
    },
    [setFollowing],
  );

  const jumpToEnd = () => {
    setFollowing(true);
    restoreLine.current = null;
    const el = scrollRef.current;
    if (el) {
      el.scrollTop = el.scrollHeight;
      el.focus();
    }
  };

  const topLine = () => Math.floor((scrollRef.current?.scrollTop ?? 0) / rowHeight);

  return { follow, followRef, jumpToEnd, reveal, topLine };
}
