// What the page knows about the shown session: the snapshot the host sent last, with its deltas applied. A delta for
// another session, or an older version of a run than the one held, is ignored: the board never goes back in time.
import type { Run, RunStatus, RunStep, Session, SessionConflicts, ExecutorOption } from '../domain';
import type { ArtifactInfo, DiffInfo, HostNotification } from './protocol';
import { runStatuses } from '../domain';
import type { LanePorts } from '../domain';

export interface BoardState {
  /** false until the first snapshot */
  connected: boolean;
  sessions: readonly Session[];
  session: Session | null;
  runs: ReadonlyMap<string, Run>;
  diffs: ReadonlyMap<string, DiffInfo>;
  /** the steps of runbook runs, in order, by run */
  steps: ReadonlyMap<string, readonly RunStep[]>;
  /** the artifacts of finished runbook runs, by run */
  artifacts: ReadonlyMap<string, readonly ArtifactInfo[]>;
  executors: readonly ExecutorOption[];
  /** host clock minus page clock, in ms */
  clockOffsetMs: number;
  /** the port range of each lane that has one, by lane */
  lanePorts: ReadonlyMap<string, LanePorts>;
  /** the conflict radar's last look at the shown session's lanes; null until it has looked */
  conflicts: SessionConflicts | null;
}

const initial: BoardState = {
  connected: false,
  sessions: [],
  session: null,
  runs: new Map(),
  diffs: new Map(),
  steps: new Map(),
  artifacts: new Map(),
  executors: [],
  clockOffsetMs: 0,
  lanePorts: new Map(),
  conflicts: null,
};

const time = (s: string | null): number => (s === null ? Number.NEGATIVE_INFINITY : Date.parse(s));

export class BoardStore {
  private state: BoardState = initial;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly clock: () => number = Date.now) {}

  getState = (): BoardState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Applies a host notification; true when it changed the board. */
  apply(n: HostNotification): boolean {
    const s = this.state;
    switch (n.method) {
      case 'snapshot': {
        const p = n.params;
        return this.set({
          connected: true,
          sessions: p.sessions,
          session: p.session,
          runs: new Map(p.session ? p.runs.filter((r) => r.session_id === p.session!.id).map((r) => [r.id, r]) : []),
          diffs: new Map(p.diffs.map((d) => [d.run_id, d])),
          steps: groupByRun(p.steps, (a, b) => a.idx - b.idx),
          artifacts: groupByRun(p.artifacts),
          executors: p.executors,
          clockOffsetMs: Date.parse(p.now) - this.clock(),
          lanePorts: portsByLane(p.session ? (p.ports ?? []).filter((x) => x.session_id === p.session!.id) : []),
          conflicts: null,
        });
      }
      case 'sessions': {
        const shown = s.session && n.params.sessions.find((x) => x.id === s.session!.id);
        return this.set({ ...s, sessions: n.params.sessions, session: shown ?? s.session });
      }
      case 'session': {
        const next = n.params.session;
        if (!s.connected || next.id !== s.session?.id) return false;
        return this.set({ ...s, session: next, sessions: s.sessions.map((x) => (x.id === next.id ? next : x)) });
      }
      case 'runs': {
        if (!s.connected || n.params.session_id !== s.session?.id) return false;
        let runs: Map<string, Run> | undefined;
        for (const run of n.params.runs) {
          if (run.session_id !== s.session.id) continue;
          const held = (runs ?? s.runs).get(run.id);
          if (held && time(held.updated_at) > time(run.updated_at)) continue;
          runs ??= new Map(s.runs);
          runs.set(run.id, run);
        }
        const clockOffsetMs = n.params.now ? Date.parse(n.params.now) - this.clock() : s.clockOffsetMs;
        if (!runs && clockOffsetMs === s.clockOffsetMs) return false;
        return this.set({ ...s, runs: runs ?? s.runs, clockOffsetMs });
      }
      case 'diff': {
        const d = n.params.diff;
        if (!s.connected || !s.runs.has(d.run_id)) return false;
        return this.set({ ...s, diffs: new Map(s.diffs).set(d.run_id, d) });
      }
      case 'steps': {
        const { run_id, steps } = n.params;
        if (!s.connected || !s.runs.has(run_id)) return false;
        return this.set({ ...s, steps: new Map(s.steps).set(run_id, [...steps].sort((a, b) => a.idx - b.idx)) });
      }
      case 'conflicts': {
        if (!s.connected || n.params.session_id !== s.session?.id) return false;
        return this.set({ ...s, conflicts: n.params });
      }
      case 'ports': {
        if (!s.connected || n.params.session_id !== s.session?.id) return false;
        return this.set({ ...s, lanePorts: portsByLane(n.params.ports) });
      }
      case 'artifacts': {
        const { run_id, artifacts } = n.params;
        if (!s.connected || !s.runs.has(run_id)) return false;
        return this.set({ ...s, artifacts: new Map(s.artifacts).set(run_id, artifacts) });
      }
      default:
        return false;
    }
  }

  private set(next: BoardState): true {
    this.state = next;
    for (const listener of [...this.listeners]) listener();
    return true;
  }
}

const portsByLane = (ports: readonly LanePorts[]): Map<string, LanePorts> => new Map(ports.map((p) => [p.lane, p]));

function groupByRun<T extends { run_id: string }>(rows: readonly T[], order?: (a: T, b: T) => number): Map<string, T[]> {
  const byRun = new Map<string, T[]>();
  for (const row of rows) {
    const list = byRun.get(row.run_id);
    if (list) list.push(row);
    else byRun.set(row.run_id, [row]);
  }
  if (order) for (const list of byRun.values()) list.sort(order);
  return byRun;
}

// ---- what the session header shows of the board -------------------------------------------------------------------

export type StatusCounts = Record<RunStatus, number>;

export function countByStatus(runs: Iterable<Run>): StatusCounts {
  const counts = Object.fromEntries(runStatuses.map((s) => [s, 0])) as StatusCounts;
  for (const run of runs) counts[run.status]++;
  return counts;
}

const summaryOrder: readonly RunStatus[] = ['running', 'queued', 'succeeded', 'failed', 'canceled'];

/** "2 running · 3 queued · 5 succeeded · 1 failed · 0 canceled" */
export function summaryText(counts: StatusCounts): string {
  return summaryOrder.map((s) => `${counts[s]} ${s}`).join(' · ');
}

/** Where the session's work happens, for people. */
export function repositoryLabel(session: Session): string | null {
  return session.repo_url ?? session.repo_path ?? session.repo_id;
}

/** The sessions the picker offers: active ones, archived ones too when asked, and always the shown one. */
export function pickableSessions(sessions: readonly Session[], showArchived: boolean, shownId: string | null): Session[] {
  return sessions.filter((s) => showArchived || s.status === 'active' || s.id === shownId);
}
