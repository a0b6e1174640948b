// A run's live log: only the rows in view exist in the DOM (smooth at hundreds of thousands of lines), colors from ANSI
// escapes, stdout/stderr/system told apart, follow-tail that lets go when the user scrolls up, search, copy, and the
// whole log as a document.
import { defaultRangeExtractor, observeElementOffset, type Range, useVirtualizer } from '@tanstack/react-virtual';
import { type CSSProperties, memo, type ReactNode, useCallback, useDeferredValue, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { segments } from '../ansi';
import { useAction, useLogVersion, useRunboard } from '../hooks';
import { type MatchRange, LogSearch } from '../log-search';
import type { EventLevel, EventStream, Run } from '../../domain';
import { modifierKey } from './icon';

/** Every row is one line high: fixed heights make the position of any line arithmetic. */
export const rowHeight = 18;
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

export function LogView({ run, sessionId, lane }: { run: Run; sessionId: string; lane: string }) {
  const runboard = useRunboard();
  const version = useLogVersion(run.id);
  const log = runboard.logs.get(run.id);
  const count = log?.length ?? 0;
  const scrollRef = useRef<HTMLDivElement>(null);

  // Where this lane's log was before a reload, if it was this run's.
  const [saved] = useState(() => {
    const s = runboard.view.lane(sessionId, lane).scroll;
    return s?.runId === run.id ? s : null;
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

  const rangeExtractor = useMemo(() => (follow ? tailRange : defaultRangeExtractor), [follow]);
  const blocks = Math.ceil(count / linesPerBlock);
  const virtualizer = useVirtualizer({
    count: blocks,
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

  // Captured on the element itself, so it runs before the virtualizer's own listener reads the range.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const onScroll = () => {
      const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight <= rowHeight;
      if (restoreLine.current === null && atEnd !== followRef.current) setFollowing(atEnd);
      runboard.view.updateLane(sessionId, lane, { scroll: { runId: run.id, topLine: Math.floor(el.scrollTop / rowHeight), follow: followRef.current } }, { quiet: true });
    };
    el.addEventListener('scroll', onScroll, { capture: true, passive: true });
    return () => el.removeEventListener('scroll', onScroll, { capture: true });
  }, [runboard, sessionId, lane, run.id, setFollowing]);

  // After each frame's rows are in the DOM: restore a saved position once its line exists, else keep to the end.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    if (restoreLine.current !== null) {
      if (count > restoreLine.current || log?.ended) {
        el.scrollTop = restoreLine.current * rowHeight;
        restoreLine.current = null;
      }
      return;
    }
    if (followRef.current) el.scrollTop = el.scrollHeight;
  }, [version, count, follow, log]);

  // ---- search -------------------------------------------------------------------------------------------------

  const [query, setQuery] = useState('');
  const needle = useDeferredValue(query);
  const search = useMemo(() => (log ? new LogSearch(log) : null), [log]);
  const [current, setCurrent] = useState(-1);
  const matches = useMemo(() => {
    search?.update(needle);
    return search?.count ?? 0;
    // `version` is in the list because the log grew: search its new lines
  }, [search, needle, version]);

  const reveal = useCallback(
    (line: number) => {
      const el = scrollRef.current;
      if (!el) return;
      setFollowing(false);
      restoreLine.current = null;
      el.scrollTop = Math.max(0, line * rowHeight - Math.floor(el.clientHeight / 2));
    },
    [setFollowing],
  );

  const topLine = () => Math.floor((scrollRef.current?.scrollTop ?? 0) / rowHeight);

  // A new query moves to its first match from where the user is looking.
  useEffect(() => {
    if (!search || !needle) {
      setCurrent(-1);
      return;
    }
    const first = search.firstFrom(topLine());
    setCurrent(first);
    if (first >= 0) reveal(search.lines[first]!);
    // only on a new query, not as lines arrive
  }, [needle, search]);

  const step = (delta: 1 | -1) => {
    if (!search || matches === 0) return;
    const next = current < 0 ? (delta > 0 ? search.firstFrom(topLine()) : matches - 1) : (current + delta + matches) % matches;
    setCurrent(next);
    reveal(search.lines[next]!);
  };

  const jumpToEnd = () => {
    setFollowing(true);
    restoreLine.current = null;
    const el = scrollRef.current;
    if (el) {
      el.scrollTop = el.scrollHeight;
      el.focus();
    }
  };

  const copy = useAction();
  const open = useAction();
  const [copied, setCopied] = useState<number | null>(null);

  // ---- rows ---------------------------------------------------------------------------------------------------

  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const rows: ReactNode[] = [];
  if (log && first) {
    const from = first.index * linesPerBlock;
    const to = Math.min(log.length, (items[items.length - 1]!.index + 1) * linesPerBlock);
    for (let i = from; i < to; i++) {
      const ranges = search && needle && matches > 0 ? search.rangesOn(i, current) : noRanges;
      const seq = log.seqAt(i);
      rows.push(
        <LogRow
          key={seq}
          seq={seq}
          text={log.text[i]!}
          stream={log.stream(i)}
          level={log.level(i)}
          ranges={ranges}
          rangesKey={ranges === noRanges ? '' : ranges.map((r) => `${r.start}${r.current ? '*' : ''}`).join(',')}
        />,
      );
    }
  }

  const countText = !needle ? '' : matches === 0 ? 'No results' : `${current >= 0 ? current + 1 : '?'} of ${matches}${search?.capped ? '+' : ''}`;

  return (
    <div className="log" data-follow={follow}>
      <div className="log-toolbar" role="toolbar" aria-label={`Log of run #${run.seq}`}>
        <vscode-textfield
          className="log-search"
          label="Search the log"
          placeholder={`Search log (${modifierKey}+F)`}
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === 'F3') {
              e.preventDefault();
              step(e.shiftKey ? -1 : 1);
            } else if (e.key === 'Escape') {
              e.preventDefault();
              setQuery('');
              scrollRef.current?.focus();
            }
          }}
        />
        <span className="log-count" role="status" aria-live="polite">
          {countText}
        </span>
        <vscode-toolbar-button icon="arrow-up" label="Previous match (Shift+Enter)" title="Previous match (Shift+Enter)" onClick={() => step(-1)} />
        <vscode-toolbar-button icon="arrow-down" label="Next match (Enter)" title="Next match (Enter)" onClick={() => step(1)} />
        <span className="toolbar-gap" />
        <vscode-toolbar-button
          icon="copy"
          label="Copy log"
          title="Copy log"
          onClick={() =>
            void copy.run(async () => {
              setCopied(await runboard.copyLog(run.id));
            })
          }
        />
        <vscode-toolbar-button icon="go-to-file" label="Open as document" title="Open as document" onClick={() => void open.run(() => runboard.openLog(run.id))} />
        {follow ? (
          <span className="log-following" title="New lines scroll into view; scroll up to stop">
            following
          </span>
        ) : (
          <vscode-button secondary icon="fold-down" className="log-jump" onClick={jumpToEnd}>
            Jump to end
          </vscode-button>
        )}
      </div>
      {(copy.error ?? open.error) && (
        <p className="error" role="alert">
          {copy.error ?? open.error}
        </p>
      )}
      {copied !== null && !copy.error && (
        <p className="log-note" role="status">
          Copied {copied} {copied === 1 ? 'line' : 'lines'}.
        </p>
      )}
      {log && log.dropped > 0 && (
        <p className="log-note">{log.dropped.toLocaleString()} earlier lines are not kept here: Open as document shows the whole log.</p>
      )}
      <div
        ref={scrollRef}
        className="log-scroll"
        role="log"
        aria-label={`Output of run #${run.seq}`}
        tabIndex={0}
        onKeyDown={(e) => {
          if (e.key === 'End' && (e.ctrlKey || e.metaKey || !e.shiftKey)) jumpToEnd();
        }}
      >
        <div className="log-sizer" style={{ height: virtualizer.getTotalSize() }}>
          <div className="log-rows" style={{ transform: `translateY(${first?.start ?? 0}px)` }}>
            {rows}
          </div>
        </div>
        {count === 0 && <p className="log-empty">{run.status === 'running' ? 'Waiting for output…' : log?.ended ? 'No output.' : 'Loading the log…'}</p>}
      </div>
    </div>
  );
}

const noRanges: MatchRange[] = [];

interface RowProps {
  seq: number;
  text: string;
  stream: EventStream;
  level: EventLevel;
  ranges: MatchRange[];
  rangesKey: string;
}

const LogRow = memo(
  function LogRow({ seq, text, stream, level, ranges }: RowProps) {
    return (
      <div className={`log-line ${stream} level-${level}`} data-seq={seq}>
        {renderLine(text, ranges)}
      </div>
    );
  },
  (a, b) => a.seq === b.seq && a.text === b.text && a.stream === b.stream && a.level === b.level && a.rangesKey === b.rangesKey,
);

function styleOf(color?: string, background?: string): CSSProperties | undefined {
  if (!color && !background) return undefined;
  return { color, backgroundColor: background };
}

/** The line's segments, with search matches cut out of them and marked. */
function renderLine(text: string, ranges: MatchRange[]): ReactNode {
  const segs = segments(text);
  if (ranges.length === 0) {
    if (segs.length === 1 && !segs[0]!.className && !segs[0]!.color && !segs[0]!.background) return segs[0]!.text;
    return segs.map((s, i) => (
      <span key={i} className={s.className || undefined} style={styleOf(s.color, s.background)}>
        {s.text}
      </span>
    ));
  }
  const out: ReactNode[] = [];
  let offset = 0;
  let r = 0;
  let key = 0;
  for (const s of segs) {
    const end = offset + s.text.length;
    let at = offset;
    while (at < end) {
      while (r < ranges.length && ranges[r]!.end <= at) r++;
      const range = ranges[r];
      let cut: number;
      let mark: MatchRange | undefined;
      if (range && range.start <= at) {
        cut = Math.min(end, range.end);
        mark = range;
      } else cut = Math.min(end, range ? range.start : end);
      const piece = s.text.slice(at - offset, cut - offset);
      const span = (
        <span key={key++} className={s.className || undefined} style={styleOf(s.color, s.background)}>
          {piece}
        </span>
      );
      out.push(
        mark ? (
          <mark key={key++} className={mark.current ? 'match current' : 'match'}>
            {span}
          </mark>
        ) : (
          span
        ),
      );
      at = cut;
    }
    offset = end;
  }
  return out;
}
