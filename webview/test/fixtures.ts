// Rows as the host would post them: the database's field names, valid by the protocol's schemas.
import type { Run, RunStep, Session, ExecutorOption } from '../../domain';
import { type ArtifactInfo, type DiffInfo, type LogBatch, type LogEvent, logBatches, type Snapshot } from '../protocol';

const at = (ms: number): string => new Date(Date.UTC(2025, 0, 1) + ms).toISOString();
export const t0 = Date.UTC(2025, 0, 1);

export function session(overrides: Partial<Session> = {}): Session {
  return {
    id: crypto.randomUUID(),
    title: 'Fix flaky tests',
    intent: 'make CI green',
    status: 'active',
    lanes: ['A', 'B', 'C', 'D'],
    repo_id: 'a1b2c3',
    repo_url: 'git@example.com:team/app.git',
    repo_path: null,
    base_ref: 'main',
    created_by: null,
    created_at: at(0),
    archived_at: null,
    ...overrides,
  };
}

let seq = 0;

export function run(s: Session, overrides: Partial<Run> = {}): Run {
  seq++;
  const status = overrides.status ?? 'queued';
  const started = status === 'queued' ? null : at(1000);
  const finished = status === 'queued' || status === 'running' ? null : at(61_000);
  return {
    id: crypto.randomUUID(),
    seq,
    session_id: s.id,
    lane: 'A',
    intent: `echo run ${seq}`,
    executor: 'shell',
    spec: {},
    priority: 100,
    status,
    attempt: 1,
    max_attempts: 3,
    claimed_by: status === 'running' ? 'worker-1' : null,
    claimed_at: started,
    heartbeat_at: status === 'running' ? at(50_000) : null,
    lease_expires_at: status === 'running' ? at(80_000) : null,
    cancel_requested_at: null,
    created_at: at(0),
    started_at: started,
    finished_at: finished,
    exit_code: status === 'succeeded' ? 0 : status === 'failed' ? 1 : null,
    error: null,
    retry_of: null,
    run_after: null,
    approval: null,
    agent: null,
    group_id: null,
    updated_at: at(seq),
    ...overrides,
  };
}

export const executors: ExecutorOption[] = [
  { id: 'shell', label: 'shell', run_with: { executor: 'shell' } },
  { id: 'agent:claude', label: 'claude', run_with: { executor: 'agent', profile: 'claude' } },
];

export function snapshot(s: Session | null, runs: Run[] = [], more: Partial<Snapshot> = {}): Snapshot {
  return { sessions: s ? [s] : [], session: s, runs, diffs: [], steps: [], artifacts: [], executors, now: at(60_000), ...more };
}

/** Events as Store.followRun yields them. */
export function lines(from: number, count: number, text = (seq: number) => `line ${seq}`, stream: LogEvent['stream'] = 'stdout'): LogEvent[] {
  return Array.from({ length: count }, (_, i) => ({ seq: from + i, stream, level: 'info' as const, text: text(from + i) }));
}

/** The `log` notification's params for consecutive events, as the host builds them. */
export function logOf(runId: string, events: LogEvent[]): LogBatch {
  const [only, ...more] = logBatches(runId, events);
  if (!only || more.length > 0) throw new Error('logOf takes consecutive events');
  return only.params;
}

export function diff(r: Run, overrides: Partial<DiffInfo> = {}): DiffInfo {
  return {
    run_id: r.id,
    artifact_id: crypto.randomUUID(),
    name: `lane-${r.lane}.patch`,
    size: 120,
    base: 'main',
    files: 2,
    insertions: 7,
    deletions: 3,
    binary_files: 0,
    entries: [
      { path: 'src/app.ts', status: 'modified', insertions: 5, deletions: 3, binary: false },
      { path: 'src/new.ts', status: 'added', insertions: 2, deletions: 0, binary: false },
    ],
    omitted: false,
    ...overrides,
  };
}

/** The steps of a runbook run, in order: `plan` is [step id, status] pairs, the rest as a worker leaves them. */
export function steps(r: Run, plan: Array<[string, RunStep['status']]>, overrides: Record<string, Partial<RunStep>> = {}): RunStep[] {
  return plan.map(([step_id, status], idx) => {
    const started = status === 'queued' || status === 'skipped' ? null : at(2000 + idx * 10_000);
    const finished = started && status !== 'running' && status !== 'waiting' ? at(2000 + idx * 10_000 + 4_500) : null;
    return {
      run_id: r.id,
      idx,
      step_id,
      title: step_id,
      kind: 'shell',
      status,
      tries: started ? 1 : 0,
      started_at: started,
      finished_at: finished,
      exit_code: status === 'succeeded' ? 0 : status === 'failed' ? 1 : null,
      error: status === 'failed' ? 'exited 1' : null,
      ...overrides[step_id],
    };
  });
}

export function artifact(r: Run, kind: ArtifactInfo['kind'], name: string, size = 100): ArtifactInfo {
  return { run_id: r.id, artifact_id: crypto.randomUUID(), kind, name, mime: kind === 'manifest' ? 'application/json' : 'text/plain', size, created_at: at(70_000) };
}
