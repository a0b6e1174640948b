// The lanes, side by side: 1, 2 or 4 columns as the panel's width allows. DOM order is lane order, so Tab walks the
// lanes one after the other.
import { type CSSProperties, useEffect, useMemo, useRef, useState } from 'react';
import { useBoard } from '../hooks';
import { columnsFor, laneNames } from '../lane';
import type { Session } from '../../domain';
import { Lane } from './lane';

function useWidth(ref: React.RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(() => (typeof window === 'undefined' ? 1024 : window.innerWidth));
  useEffect(() => {
    const element = ref.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width;
      if (w) setWidth(w);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

export function Board({ session }: { session: Session }) {
  const board = useBoard();
  const names = useMemo(() => laneNames(session, board.runs.values()), [session, board.runs]);
  const ref = useRef<HTMLElement>(null);
  const columns = columnsFor(useWidth(ref), names.length);
  const rows = Math.ceil(names.length / columns);
  const style = { '--columns': columns, '--rows': rows } as CSSProperties;
  return (
    <main ref={ref} className="board" data-columns={columns} data-rows={rows} style={style}>
      {names.map((name) => (
        <Lane key={`${session.id}/${name}`} session={session} name={name} />
      ))}
    </main>
  );
}
