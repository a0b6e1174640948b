// A run as the tools answer it: small, the fields a model acts on, times as ISO text and the duration in words.
import { plainOneLine, type Run, runDuration, runDurationMs, statusLabel } from '../../domain';

export function runSummary(run: Run): Record<string, unknown> {
  const profile = typeof run.spec.profile === 'string' ? run.spec.profile : undefined;
  return {
    run_id: run.id,
    session_id: run.session_id,
    lane: run.lane,
    intent: plainOneLine(run.intent),
    executor: run.executor,
    ...(profile ? { profile } : {}),
    status: run.status,
    // "canceling", "queued (attempt 2 of 3)": what the editor shows
    ...(statusLabel(run) !== run.status ? { status_detail: statusLabel(run) } : {}),
    exit_code: run.exit_code,
    error: run.error === null ? null : plainOneLine(run.error),
    attempt: run.attempt,
    worker: run.claimed_by,
    created_at: run.created_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    duration_ms: runDurationMs(run),
    duration: runDuration(run) || null,
    ...(run.status === 'waiting' && run.approval ? { waiting_for: plainOneLine(run.approval.message ?? `approval of step ${run.approval.step_id}`) } : {}),
  };
}
