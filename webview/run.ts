// How a run reads on the Runboard: its status icon, whether its worker is still alive, what can be done with it, its
// steps and artifacts. Durations and status labels are the domain's.
import { type ArtifactKind, isFinal, type Run, type RunStatus, type RunStep, type StepStatus } from '../domain';

export const statusIcons: Record<RunStatus, string> = {
  queued: 'clock',
  running: 'sync',
  waiting: 'debug-pause',
  succeeded: 'pass',
  failed: 'error',
  canceled: 'circle-slash',
};

export type Liveness = 'live' | 'expiring' | 'none';

/**
 * A running run's worker is `live` while its lease is comfortably ahead of the clock, `expiring` once less than a third
 * of the lease is left (heartbeats have stopped arriving for a while), `none` when the run holds no lease.
 */
export function liveness(run: Run, hostNow: number): Liveness {
  if (run.status !== 'running' || !run.lease_expires_at) return 'none';
  const expires = Date.parse(run.lease_expires_at);
  const renewed = Date.parse(run.heartbeat_at ?? run.started_at ?? run.updated_at);
  const lease = Math.max(expires - renewed, 1000);
  return expires - hostNow < lease / 3 ? 'expiring' : 'live';
}

export function canCancel(run: Run): boolean {
  return !isFinal(run.status) && !run.cancel_requested_at;
}

export function canRetry(run: Run): boolean {
  return run.status === 'failed' || run.status === 'canceled';
}

/** The executor as the picker names it: "shell", or the agent profile. */
export function executorLabel(run: Run): string {
  const profile = run.spec['profile'];
  return run.executor === 'agent' && typeof profile === 'string' ? profile : run.executor;
}

export const stepIcons: Record<StepStatus, string> = {
  queued: 'circle-large-outline',
  running: 'sync',
  waiting: 'debug-pause',
  succeeded: 'pass',
  failed: 'error',
  canceled: 'circle-slash',
  skipped: 'debug-step-over',
};

/** How long a step has taken: until now while it runs or waits, until it finished once it has; null before it started. */
export function stepDurationMs(step: Pick<RunStep, 'status' | 'started_at' | 'finished_at'>, now: number): number | null {
  if (!step.started_at) return null;
  const end = step.finished_at ? Date.parse(step.finished_at) : step.status === 'running' || step.status === 'waiting' ? now : null;
  return end === null ? null : Math.max(0, end - Date.parse(step.started_at));
}

export const artifactIcons: Record<ArtifactKind, string> = {
  diff: 'diff',
  file: 'file',
  link: 'link-external',
  log: 'output',
  manifest: 'json',
};

