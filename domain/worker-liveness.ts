// How a worker reads to a person, the same in `ocr workers` and the editor's Workers view: its slots, its heartbeat's
// age, whether it is stale (silent for longer than its lease, so its runs are about to be taken over), the
// repositories it serves.
import { z } from 'zod';
import { formatDuration, shortId } from './format';
import type { Run } from './run';
import type { Session } from './session';
import { defaultLeaseSeconds, type WorkerRow } from './worker';

/** A worker and the runs it holds now (running runs claimed by it). */
export interface WorkerWithRuns {
  worker: WorkerRow;
  runs: Run[];
}

const stringList = z.array(z.string()).catch([]);
const leaseLabel = z.number().int().positive().catch(defaultLeaseSeconds);

/** The lease the worker registered with (its `lease_seconds` label); a worker that did not say has the default. */
export function workerLeaseSeconds(w: Pick<WorkerRow, 'labels'>): number {
  return leaseLabel.parse(w.labels.lease_seconds);
}

/** The repo ids of the repositories the worker serves. */
export const workerRepoIds = (w: Pick<WorkerRow, 'labels'>): string[] => stringList.parse(w.labels.repos);

/** The agent CLIs the worker can run. */
export const workerAgents = (w: Pick<WorkerRow, 'labels'>): string[] => stringList.parse(w.labels.agents);

/** The lanes the worker serves, or undefined for every lane. */
export function workerLanes(w: Pick<WorkerRow, 'labels'>): string[] | undefined {
  const lanes = stringList.parse(w.labels.lanes);
  return lanes.length > 0 ? lanes : undefined;
}

/**
 * A worker that is not stopped and has sent no heartbeat for longer than its lease: it is gone or cut off, and the
 * runs it held go to other workers. A live worker beats several times per lease, so it is never stale.
 */
export function isStale(w: Pick<WorkerRow, 'state' | 'labels' | 'last_heartbeat'>, now: number = Date.now()): boolean {
  return w.state !== 'stopped' && now - Date.parse(w.last_heartbeat) > workerLeaseSeconds(w) * 1000;
}

/** "just now", "3 s ago", "3 min 05 s ago": whole seconds, as a heartbeat age is read. */
export function ageText(iso: string, now: number = Date.now()): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return 'just now';
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s ago`;
  return `${formatDuration(ms)} ago`;
}

/** "last heartbeat 3 s ago", "stale: last heartbeat 42 s ago", "stopped 5 min 02 s ago". */
export function heartbeatText(w: Pick<WorkerRow, 'state' | 'labels' | 'last_heartbeat'>, now: number = Date.now()): string {
  if (w.state === 'stopped') return `stopped ${ageText(w.last_heartbeat, now)}`;
  return `${isStale(w, now) ? 'stale: ' : ''}last heartbeat ${ageText(w.last_heartbeat, now)}`;
}

/** "1/4": runs held of the worker's slots. */
export const slotsText = ({ worker, runs }: WorkerWithRuns): string => `${runs.length}/${worker.concurrency}`;

/** The worker's state, and "(stale)" after it when it is. */
export const stateText = (w: Pick<WorkerRow, 'state' | 'labels' | 'last_heartbeat'>, now: number = Date.now()): string =>
  isStale(w, now) ? `${w.state} (stale)` : w.state;

/**
 * The repositories the worker serves, by the name people know them by: the folder a session on that repository was
 * started from, else the repo id's first characters.
 */
export function repoNames(w: Pick<WorkerRow, 'labels'>, sessions: readonly Pick<Session, 'repo_id' | 'repo_path'>[]): string[] {
  return workerRepoIds(w).map((id) => {
    const where = sessions.find((s) => s.repo_id === id && s.repo_path)?.repo_path;
    return where ? (where.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? where) : shortId(id);
  });
}

/**
 * Each worker with the running runs it holds: live ones first, stopped ones last, each group by id, so that rows keep
 * their places as heartbeats come in.
 */
export function withRuns(workers: readonly WorkerRow[], running: readonly Run[]): WorkerWithRuns[] {
  const rank = (w: WorkerRow) => (w.state === 'stopped' ? 1 : 0);
  return [...workers]
    .sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id))
    .map((worker) => ({ worker, runs: running.filter((r) => r.status === 'running' && r.claimed_by === worker.id).sort((a, b) => a.lane.localeCompare(b.lane)) }));
}

/** "build-box · v0.1.0 · running · 1/4 slots · last heartbeat 3 s ago": one line of what a worker is and does. */
export function describeWorker(entry: WorkerWithRuns, now: number = Date.now()): string {
  const w = entry.worker;
  return [w.host, w.version ? `v${w.version}` : '', w.state, w.state === 'stopped' ? '' : `${slotsText(entry)} slots`, heartbeatText(w, now)]
    .filter(Boolean)
    .join(' · ');
}
