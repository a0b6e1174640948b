// A run's live log: only the rows in view exist in the DOM (smooth at hundreds of thousands of lines), colors from ANSI
// escapes and from each line's level, stdout/stderr/system told apart, a line's JSON data unfolded inline, the lines of
// one runbook step when one is picked, follow-tail that lets go when the user scrolls up, search, counts by level, copy,
// export, and the whole log as a document. The parts: useFollowTail, useLogSearch, LogHeader, LogToolbar, LogNotes and
// LogLines.
import { useCallback, useMemo, useRef, useState } from 'react';
import type { Run } from '../../domain';
import { useAction, useLogVersion, useRunboard } from '../hooks';
import { dataRows, LogRows } from '../log-rows';
import { type LineSource, StepLines } from '../run-lines';
import { LogHeader } from './log-header';
import { LogLines } from './log-lines';
import { LogNotes } from './log-notes';
import { LogToolbar } from './log-toolbar';
import { useFollowTail } from './use-follow-tail';
import { useLogSearch } from './use-log-search';

const noExpansions: ReadonlyMap<number, string[]> = new Map();

export function LogView({ run, sessionId, lane, step = null }: { run: Run; sessionId: string; lane: string; step?: string | null }) {
  const runboard = useRunboard();
  const version = useLogVersion(run.id);
  const log = runboard.logs.get(run.id);
  const stepLines = useMemo(() => (log && step !== null ? new StepLines(log, step) : undefined), [log, step]);
  stepLines?.sync(); // the lines that arrived since the last render: each is looked at once
  const lines: LineSource | undefined = stepLines ?? log;
  const [expanded, setExpanded] = useState(noExpansions);
  const rows = useMemo(() => (lines ? new LogRows(lines, expanded) : undefined), [lines, expanded, version]);
  const scrollRef = useRef<HTMLDivElement>(null);
  const tail = useFollowTail(scrollRef, { runId: run.id, sessionId, lane, step }, { count: rows?.count ?? 0, ended: lines?.ended ?? false }, version);
  const search = useLogSearch(lines, version, {
    reveal: (line) => tail.reveal(rows ? rows.rowOf(line) : line),
    topLine: () => (rows ? rows.lineOf(tail.topLine()) : tail.topLine()),
  });
  const copy = useAction();
  const open = useAction();
  const exporting = useAction();
  const [copied, setCopied] = useState<number | null>(null);
  const [exported, setExported] = useState<{ lines: number; name: string | null } | null>(null);

  const toggleData = useCallback(
    (seq: number, data: unknown) =>
      setExpanded((before) => {
        const next = new Map(before);
        if (next.has(seq)) next.delete(seq);
        else next.set(seq, dataRows(data));
        return next;
      }),
    [],
  );

  const exportAs = (format: 'text' | 'json') =>
    void exporting.run(async () => {
      setExported(null);
      const result = await runboard.exportLog(run.id, format, step);
      if (result.saved) setExported({ lines: result.lines, name: result.name });
    });

  return (
    <div className="log" data-follow={tail.follow} data-step={step ?? undefined}>
      <LogHeader run={run} lane={lane} step={step} counts={lines?.counts} />
      <LogToolbar
        run={run}
        search={search}
        follow={tail.follow}
        onSearchEscape={() => scrollRef.current?.focus()}
        onCopy={() =>
          void copy.run(async () => {
            setCopied(await runboard.copyLog(run.id, step));
          })
        }
        onOpen={() => void open.run(() => runboard.openLog(run.id))}
        onExport={exportAs}
        onJumpToEnd={tail.jumpToEnd}
      />
      <LogNotes
        error={copy.error ?? open.error ?? exporting.error}
        copied={copy.error ? null : copied}
        exported={exporting.error ? null : exported}
        dropped={log?.dropped ?? 0}
      />
      <LogLines
        scrollRef={scrollRef}
        run={run}
        rows={rows}
        step={step}
        expanded={expanded}
        follow={tail.follow}
        followRef={tail.followRef}
        rangesOn={search.rangesOn}
        onToggleData={toggleData}
        onJumpToEnd={tail.jumpToEnd}
      />
    </div>
  );
}
