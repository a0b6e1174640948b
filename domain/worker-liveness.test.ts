import { describe, expect, it } from 'vitest';
import type { Run } from './run';
import type { WorkerRow } from './worker';
import { ageText, describeWorker, heartbeatText, isStale, repoNames, stateText, withRuns, workerLeaseSeconds } from './worker-liveness';

const t0 = Date.UTC(2026, 0, 1);
const at = (ms: number): string => new Date(t0 + ms).toISOString();

const worker = (over: Partial<WorkerRow> = {}): WorkerRow => ({
  id: 'build-box-1',
  host: 'build-box',
  pid: 4242,
  concurrency: 4,
  labels: { repos: ['a1b2c3d4e5f6a7b8c9d0'], agents: ['claude'], lease_seconds: 5 },
  version: '0.1.0',
  state: 'running',
  started_at: at(0),
  last_heartbeat: at(0),
  ...over,
});

const run = (id: string, lane: string, claimedBy: string | null, status: Run['status'] = 'running') =>
  ({ id, lane, claimed_by: claimedBy, status }) as Run;

describe('a worker as people read it', () => {
  it('is stale once its heartbeat is older than its own lease, never when stopped', () => {
    const w = worker();
    expect(isStale(w, t0 + 5_000)).toBe(false);
    expect(isStale(w, t0 + 5_001)).toBe(true);
    expect(isStale({ ...w, state: 'draining' }, t0 + 6_000)).toBe(true);
    expect(isStale({ ...w, state: 'stopped' }, t0 + 600_000)).toBe(false);
    // a worker that did not register its lease is judged by the default one
    const older = worker({ labels: {} });
    expect(workerLeaseSeconds(older)).toBe(30);
    expect(isStale(older, t0 + 29_000)).toBe(false);
    expect(isStale(older, t0 + 31_000)).toBe(true);
    expect(workerLeaseSeconds(worker({ labels: { lease_seconds: 'soon' } }))).toBe(30);
  });

  it('words its heartbeat, and says stale with the age', () => {
    expect(ageText(at(0), t0 + 400)).toBe('just now');
    expect(ageText(at(0), t0 + 3_900)).toBe('3 s ago');
    expect(ageText(at(0), t0 + 185_000)).toBe('3 min 05 s ago');
    expect(heartbeatText(worker(), t0 + 3_000)).toBe('last heartbeat 3 s ago');
    expect(heartbeatText(worker(), t0 + 42_000)).toBe('stale: last heartbeat 42 s ago');
    expect(heartbeatText(worker({ state: 'stopped' }), t0 + 302_000)).toBe('stopped 5 min 02 s ago');
    expect(stateText(worker(), t0 + 42_000)).toBe('running (stale)');
    expect(stateText(worker(), t0 + 1_000)).toBe('running');
  });

  it('describes host, version, state, slots and heartbeat on one line', () => {
    const w = worker();
    expect(describeWorker({ worker: w, runs: [run('r1', 'A', w.id)] }, t0 + 2_000)).toBe('build-box · v0.1.0 · running · 1/4 slots · last heartbeat 2 s ago');
    expect(describeWorker({ worker: w, runs: [] }, t0 + 9_000)).toBe('build-box · v0.1.0 · running · 0/4 slots · stale: last heartbeat 9 s ago');
    expect(describeWorker({ worker: worker({ state: 'stopped', version: null }), runs: [] }, t0 + 1_500)).toBe('build-box · stopped · stopped 1 s ago');
  });

  it('names repositories by the folder a session recorded, else by the id', () => {
    const w = worker({ labels: { repos: ['a1b2c3d4e5f6a7b8c9d0', 'ffff0000eeee1111'] } });
    expect(repoNames(w, [{ repo_id: 'a1b2c3d4e5f6a7b8c9d0', repo_path: '/home/ann/src/app/' }])).toEqual(['app', 'ffff0000']);
    expect(repoNames(worker({ labels: { repos: 'nope' } }), [])).toEqual([]);
  });

  it('gives each worker the running runs it holds, in lane order; live workers by id, stopped ones last', () => {
    const stopped = worker({ id: 'a-old', state: 'stopped' });
    const live = worker({ id: 'live' });
    const other = worker({ id: 'b-other', last_heartbeat: at(1) });
    const rows = withRuns([stopped, live, other], [run('r2', 'B', 'live'), run('r1', 'A', 'live'), run('r3', 'A', 'b-other'), run('r4', 'C', 'live', 'waiting')]);
    expect(rows.map((r) => [r.worker.id, r.runs.map((x) => x.id)])).toEqual([
      ['b-other', ['r3']],
      ['live', ['r1', 'r2']],
      ['a-old', []],
    ]);
  });
});
