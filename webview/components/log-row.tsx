// One line of a run's log: colors from its ANSI escapes, its stream and level as classes, search matches marked, and a
// toggle that unfolds its JSON data in the rows under it (DataRow).
import { type CSSProperties, memo, type ReactNode } from 'react';
import type { EventLevel, EventStream } from '../../domain';
import { segments } from '../ansi';
import type { MatchRange } from '../log-search';

/** Every row is one line high: fixed heights make the position of any line arithmetic. */
export const rowHeight = 18;

interface RowProps {
  seq: number;
  text: string;
  stream: EventStream;
  level: EventLevel;
  ranges: MatchRange[];
  /** what the row compares instead of `ranges`, which is a new array on every render */
  rangesKey: string;
  /** the event's data, undefined when it has none */
  data?: unknown;
  /** its data is unfolded below */
  expanded?: boolean;
  onToggleData?(seq: number, data: unknown): void;
}

/** The key a row compares its matches by. */
export function rangesKey(ranges: MatchRange[]): string {
  return ranges.length === 0 ? '' : ranges.map((r) => `${r.start}${r.current ? '*' : ''}`).join(',');
}

export const LogRow = memo(
  function LogRow({ seq, text, stream, level, ranges, data, expanded = false, onToggleData }: RowProps) {
    const hasData = data !== undefined;
    return (
      <div className={`log-line ${stream} level-${level}${hasData ? ' has-data' : ''}`} data-seq={seq} data-level={level}>
        {hasData && (
          <button
            type="button"
            className="log-data-toggle"
            aria-expanded={expanded}
            aria-label={expanded ? 'Hide the data of this line' : 'Show the data of this line'}
            title={expanded ? 'Hide data' : 'Show data'}
            onClick={() => onToggleData?.(seq, data)}
          >
            <span className={`codicon codicon-${expanded ? 'chevron-down' : 'chevron-right'}`} aria-hidden="true" />
          </button>
        )}
        {renderLine(text, ranges)}
      </div>
    );
  },
  (a, b) =>
    a.seq === b.seq &&
    a.text === b.text &&
    a.stream === b.stream &&
    a.level === b.level &&
    a.rangesKey === b.rangesKey &&
    a.data === b.data &&
    a.expanded === b.expanded &&
    a.onToggleData === b.onToggleData,
);

/** One row of a line's data, as indented JSON with its keys, strings, numbers and literals told apart. */
export const DataRow = memo(function DataRow({ seq, text }: { seq: number; text: string }) {
  return (
    <div className="log-line log-data" data-data-of={seq}>
      {jsonTokens(text)}
    </div>
  );
});

const jsonToken = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

function jsonTokens(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let at = 0;
  let key = 0;
  for (const m of text.matchAll(jsonToken)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    const [whole, string, colon, literal, number] = m;
    if (string !== undefined) {
      out.push(
        <span key={key++} className={colon ? 'json-key' : 'json-string'}>
          {string}
        </span>,
      );
      if (colon) out.push(colon);
    } else if (literal !== undefined) {
      out.push(
        <span key={key++} className="json-literal">
          {literal}
        </span>,
      );
    } else if (number !== undefined) {
      out.push(
        <span key={key++} className="json-number">
          {number}
        </span>,
      );
    }
    at = m.index + whole.length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

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
