// A lane as the user sees it: what waits in it (in the order the queue will take it), what runs or ran last, and what
// ran before. The order rule is the queue's: lower priority value first, then oldest first.
import type { Run, Session } from '../domain';

export interface QueuedRun {
  run: Run;
  /** 1 = next to run in this lane */
  position: number;
}

export interface LaneView {
  name: string;
  queued: QueuedRun[];
  /** the running run, else the newest run that has started or finished */
  current: Run | null;
  /** the lane's other runs that are not waiting, newest first */
  history: Run[];
}

const byQueueOrder = (a: Run, b: Run): number => a.priority - b.priority || a.seq - b.seq;
const newestFirst = (a: Run, b: Run): number => b.seq - a.seq;

export function laneView(name: string, runs: Iterable<Run>): LaneView {
  const queued: Run[] = [];
  const others: Run[] = [];
  let running: Run | null = null;
  for (const run of runs) {
    if (run.lane !== name) continue;
    if (run.status === 'queued') queued.push(run);
    else if (run.status === 'running' && (!running || run.seq > running.seq)) {
      // Two running runs in one lane cannot happen (the queue forbids it); a stale row stays visible in the history.
      if (running) others.push(running);
      running = run;
    } else others.push(run);
  }
  queued.sort(byQueueOrder);
  others.sort(newestFirst);
  const current = running ?? others[0] ?? null;
  return { name, queued: queued.map((run, i) => ({ run, position: i + 1 })), current, history: others.filter((r) => r !== current) };
}

/** The session's lanes, then any lane a run names that the session does not (runs queued from the command line). */
export function laneNames(session: Session, runs: Iterable<Run>): string[] {
  const names = [...session.lanes];
  const extra = new Set<string>();
  for (const run of runs) if (!names.includes(run.lane)) extra.add(run.lane);
  return [...names, ...[...extra].sort()];
}

/** 1, 2 or 4 columns for the board's width, never more than there are lanes. */
export function columnsFor(width: number, lanes: number): number {
  const fit = width >= 1200 ? 4 : width >= 640 ? 2 : 1;
  return Math.max(1, Math.min(fit, lanes));
}

/** The run a lane shows: the one the user picked from its history if it is still there, else the current one. */
export function shownRun(view: LaneView, selectedRunId: string | null): Run | null {
  if (selectedRunId) {
    const picked = view.history.find((r) => r.id === selectedRunId) ?? (view.current?.id === selectedRunId ? view.current : undefined);
    if (picked) return picked;
  }
  return view.current;
}
