// Search in the log a lane shows (the lines of its step, when one is picked): the query, its matches (kept up to date
// while lines arrive), which one is current, and moving to the next or previous one, which reveals its line (and so
// stops following the tail).
import { useDeferredValue, useEffect, useMemo, useState } from 'react';
import { LogSearch, type MatchRange } from '../log-search';
import type { LineSource } from '../run-lines';
import type { FollowTail } from './use-follow-tail';

export interface LogSearchState {
  query: string;
  setQuery(query: string): void;
  /** the query the matches are of: it lags behind typing */
  needle: string;
  matches: number;
  /** the index of the current match, -1 for none */
  current: number;
  /** there are more matches than counted */
  capped: boolean;
  step(delta: 1 | -1): void;
  /** the matches on a line, the current one marked */
  rangesOn(line: number): MatchRange[];
}

const noRanges: MatchRange[] = [];

export function useLogSearch(log: LineSource | undefined, version: number, view: Pick<FollowTail, 'reveal' | 'topLine'>): LogSearchState {
  const [query, setQuery] = useState('');
  const needle = useDeferredValue(query);
  const search = useMemo(() => (log ? new LogSearch(log) : null), [log]);
  const [current, setCurrent] = useState(-1);
  const matches = useMemo(() => {
    search?.update(needle);
    return search?.count ?? 0;
    // `version` is in the list because the log grew: search its new lines
  }, [search, needle, version]);

  // A new query moves to its first match from where the user is looking.
  useEffect(() => {
    if (!search || !needle) {
      setCurrent(-1);
      return;
    }
    const first = search.firstFrom(view.topLine());
    setCurrent(first);
    if (first >= 0) view.reveal(search.lines[first]!);
    // only on a new query, not as lines arrive
  }, [needle, search]);

  const step = (delta: 1 | -1) => {
    if (!search || matches === 0) return;
    const next = current < 0 ? (delta > 0 ? search.firstFrom(view.topLine()) : matches - 1) : (current + delta + matches) % matches;
    setCurrent(next);
    view.reveal(search.lines[next]!);
  };

  const rangesOn = (line: number) => (search && needle && matches > 0 ? search.rangesOn(line, current) : noRanges);

  return { query, setQuery, needle, matches, current, capped: search?.capped ?? false, step, rangesOn };
}
