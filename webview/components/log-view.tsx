// A run's live log: only the rows in view exist in the DOM (smooth at hundreds of thousands of lines), colors from ANSI
// escapes, stdout/stderr/system told apart, follow-tail that lets go when the user scrolls up, search, copy, and the
// whole log as a document. The parts: useFollowTail, useLogSearch, LogToolbar, LogNotes and LogLines.
import { useRef, useState } from 'react';
import type { Run } from '../../domain';
import { useAction, useLogVersion, useRunboard } from '../hooks';
import { LogLines } from './log-lines';
import { LogNotes } from './log-notes';
import { LogToolbar } from './log-toolbar';
import { useFollowTail } from './use-follow-tail';
import { useLogSearch } from './use-log-search';

export function LogView({ run, sessionId, lane }: { run: Run; sessionId: string; lane: string }) {
  const runboard = useRunboard();
  const version = useLogVersion(run.id);
  const log = runboard.logs.get(run.id);
  const scrollRef = useRef<HTMLDivElement>(null);
  const tail = useFollowTail(scrollRef, { runId: run.id, sessionId, lane }, log, version);
  const search = useLogSearch(log, version, tail);
  const copy = useAction();
  const open = useAction();
  const [copied, setCopied] = useState<number | null>(null);

  return (
    <div className="log" data-follow={tail.follow}>
      <LogToolbar
        run={run}
        search={search}
        follow={tail.follow}
        onSearchEscape={() => scrollRef.current?.focus()}
        onCopy={() =>
          void copy.run(async () => {
            setCopied(await runboard.copyLog(run.id));
          })
        }
        onOpen={() => void open.run(() => runboard.openLog(run.id))}
        onJumpToEnd={tail.jumpToEnd}
      />
      <LogNotes error={copy.error ?? open.error} copied={copy.error ? null : copied} dropped={log?.dropped ?? 0} />
      <LogLines
        scrollRef={scrollRef}
        run={run}
        log={log}
        follow={tail.follow}
        followRef={tail.followRef}
        rangesOn={search.rangesOn}
        onJumpToEnd={tail.jumpToEnd}
      />
    </div>
  );
}
