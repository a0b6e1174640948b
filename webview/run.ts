// How a run reads to a person: its status, how long it has taken, whether its worker is still alive.
import { isFinal, type RunInfo, type RunStatus } from './protocol';

export const statusIcons: Record<RunStatus, string> = {
  queued: 'clock',
  running: 'sync',
  succeeded: 'pass',
  failed: 'error',
  canceled: 'circle-slash',
};

/** "850 ms", "12 s", "3 m 05 s", "2 h 01 m" */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

/** Time since the run started (running), or how long it took (finished). Null before it started. */
export function runDuration(run: RunInfo, hostNow: number): number | null {
  if (!run.started_at) return null;
  const end = run.finished_at ? Date.parse(run.finished_at) : isFinal(run.status) ? Date.parse(run.updated_at) : hostNow;
  return Math.max(0, end - Date.parse(run.started_at));
}

export type Liveness = 'live' | 'expiring' | 'none';

/**
 * A running run's worker is `live` while its lease is comfortably ahead of the clock, `expiring` once less than a third
 * of the lease is left (heartbeats have stopped arriving for a while), `none` when the run holds no lease.
 */
export function liveness(run: RunInfo, hostNow: number): Liveness {
  if (run.status !== 'running' || !run.lease_expires_at) return 'none';
  const expires = Date.parse(run.lease_expires_at);
  const renewed = Date.parse(run.heartbeat_at ?? run.started_at ?? run.updated_at);
  const lease = Math.max(expires - renewed, 1000);
  return expires - hostNow < lease / 3 ? 'expiring' : 'live';
}

export function canCancel(run: RunInfo): boolean {
  return !isFinal(run.status) && !run.cancel_requested_at;
}

export function canRetry(run: RunInfo): boolean {
  return run.status === 'failed' || run.status === 'canceled';
}

/** The executor as the picker names it: "shell", or the agent profile. */
export function executorLabel(run: RunInfo): string {
  const profile = run.spec['profile'] ?? run.spec['agent'];
  return run.executor === 'agent' && typeof profile === 'string' ? profile : run.executor;
}

export function statusLabel(run: RunInfo): string {
  if (run.status === 'running' && run.cancel_requested_at) return 'canceling';
  if (run.status === 'queued' && run.attempt > 1) return `queued (attempt ${run.attempt} of ${run.max_attempts})`;
  return run.status;
}
