// A run's lines, virtualized: only the rows in view exist in the DOM, so a log of hundreds of thousands of lines
// scrolls and streams smoothly. While following, the last rows are drawn whatever the scroll position says. The rows
// are LogRows': the lines shown, and under a line whose data is unfolded, that data's rows.
import { defaultRangeExtractor, observeElementOffset, type Range, useVirtualizer } from '@tanstack/react-virtual';
import { type ReactNode, type RefObject, useMemo } from 'react';
import type { Run } from '../../domain';
import type { MatchRange } from '../log-search';
import type { LogRows } from '../log-rows';
import { DataRow, LogRow, rangesKey, rowHeight } from './log-row';

/**
 * The virtualizer places blocks of this many lines, not single lines: it keeps a measurement per item and redoes them
 * all when the count changes, which at 200,000 single lines streaming in cost more than the rendering itself.
 */
const linesPerBlock = 32;
const overscan = 1;

/** While following, the blocks to draw are the last ones whatever the scroll position says: the scroll to the end
 * happens in the same frame, and drawing the old range first would flash. */
function tailRange(range: Range): number[] {
  const visible = Math.max(1, range.endIndex - range.startIndex + 1);
  const start = Math.max(0, range.count - visible - overscan);
  return Array.from({ length: range.count - start }, (_, i) => start + i);
}

interface LogLinesProps {
  scrollRef: RefObject<HTMLDivElement | null>;
  run: Run;
  rows: LogRows | undefined;
  /** the step whose lines these are, null for all */
  step: string | null;
  /** the lines whose data is unfolded, by seq */
  expanded: ReadonlyMap<number, string[]>;
  follow: boolean;
  /** `follow` as of now, for the scroll listener */
  followRef: RefObject<boolean>;
  rangesOn(line: number): MatchRange[];
  onToggleData(seq: number, data: unknown): void;
  onJumpToEnd(): void;
}

export function LogLines({ scrollRef, run, rows: model, step, expanded, follow, followRef, rangesOn, onToggleData, onJumpToEnd }: LogLinesProps) {
  const count = model?.count ?? 0;
  const rangeExtractor = useMemo(() => (follow ? tailRange : defaultRangeExtractor), [follow]);
  const virtualizer = useVirtualizer({
    count: Math.ceil(count / linesPerBlock),
    getScrollElement: () => scrollRef.current,
    estimateSize: (block) => Math.min(linesPerBlock, count - block * linesPerBlock) * rowHeight,
    overscan,
    rangeExtractor,
    // While following, the rows drawn do not depend on the scroll position, and the scroll to the end that each frame
    // makes would cost a second render in the next frame: the virtualizer hears of scrolling only when not following.
    observeElementOffset: (instance, onOffset) =>
      observeElementOffset(instance, (offset, isScrolling) => {
        if (!followRef.current) onOffset(offset, isScrolling);
      }),
  });

  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const rows: ReactNode[] = [];
  if (model && first) {
    const lines = model.lines;
    const to = Math.min(count, (items[items.length - 1]!.index + 1) * linesPerBlock);
    for (let r = first.index * linesPerBlock; r < to; r++) {
      const row = model.at(r);
      const seq = lines.seqAt(row.line);
      if (row.sub >= 0) {
        rows.push(<DataRow key={`${seq}:${row.sub}`} seq={seq} text={model.dataRow(row)} />);
        continue;
      }
      const ranges = rangesOn(row.line);
      const data = lines.dataAt(row.line);
      rows.push(
        <LogRow
          key={seq}
          seq={seq}
          text={lines.textAt(row.line)}
          stream={lines.stream(row.line)}
          level={lines.level(row.line)}
          ranges={ranges}
          rangesKey={rangesKey(ranges)}
          data={data}
          expanded={data !== undefined && expanded.has(seq)}
          onToggleData={onToggleData}
        />,
      );
    }
  }

  return (
    <div
      ref={scrollRef}
      className="log-scroll"
      role="log"
      aria-label={`Output of run #${run.seq}`}
      tabIndex={0}
      onKeyDown={(e) => {
        if (e.key === 'End' && (e.ctrlKey || e.metaKey || !e.shiftKey)) onJumpToEnd();
      }}
    >
      <div className="log-sizer" style={{ height: virtualizer.getTotalSize() }}>
        <div className="log-rows" style={{ transform: `translateY(${first?.start ?? 0}px)` }}>
          {rows}
        </div>
      </div>
      {count === 0 && <p className="log-empty">{emptyText(run, model, step)}</p>}
    </div>
  );
}

function emptyText(run: Run, rows: LogRows | undefined, step: string | null): string {
  const ended = rows?.lines.ended ?? false;
  if (step !== null) return ended || run.status !== 'running' ? `Step ${step} has no lines${ended ? '' : ' yet'}.` : `Waiting for the lines of step ${step}…`;
  return run.status === 'running' ? 'Waiting for output…' : ended ? 'No output.' : 'Loading the log…';
}
