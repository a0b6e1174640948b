// The scenarios, each one function of (settings, system) → one result row. Every number comes from the handlers'
// start and end events (the harness's ledger), plus the database's count of unfinished jobs to know a drain is over.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config, ScenarioName } from './config';
import { now } from './protocol';
import { Fleet, type FleetOptions, type Target } from './runner';
import { findOverlaps, type Overlap, percentiles } from './stats';
import type { Capabilities, Job, Profile, Work } from './systems/types';

export interface Result {
  scenario: ScenarioName;
  system: Target['system'] | 'pgbench';
  version: string;
  node: string | null;
  /** the system's settings: see the capabilities' profiles */
  profile: Profile | null;
  runs_per_sec: number | null;
  overlaps: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  lost: number | null;
  twice: number | null;
  note: string | null;
}

export function emptyResult(scenario: ScenarioName, target: Target, note: string | null, profile: Profile | null = 'tuned'): Result {
  return {
    scenario,
    system: target.system,
    version: target.version,
    node: target.node,
    profile,
    runs_per_sec: null,
    overlaps: null,
    p50_ms: null,
    p95_ms: null,
    p99_ms: null,
    lost: null,
    twice: null,
    note,
  };
}

async function withFleet<T>(options: FleetOptions, f: (fleet: Fleet) => Promise<T>): Promise<T> {
  const fleet = await Fleet.open(options);
  try {
    const result = await f(fleet);
    // a process that died on the way makes every number of this run suspect
    if (fleet.failure) throw new Error(fleet.failure);
    return result;
  } finally {
    await fleet.close();
  }
}

const jobsOf = (n: number, lane: (k: number) => number, work: Work): Job[] =>
  Array.from({ length: n }, (_, key) => ({ key, lane: lane(key), work }));

const describeOverlap = (o: Overlap): string => {
  const at = (x: number) => (Number.isFinite(x) ? `${(x - o.first.start).toFixed(2)} ms` : 'never');
  return `lane ${o.lane}: run ${o.second.key} started on worker ${o.second.w} ${at(o.second.start)} after run ${o.first.key} started on worker ${o.first.w}, which ended at ${at(o.first.end)}`;
};

/** How long past the lease the crash scenario waits for the runs to move before it calls them lost. */
export const CRASH_GRACE_MS = 10_000;

const round = (x: number | null, digits = 1): number | null => (x === null ? null : Number(x.toFixed(digits)));

/**
 * Queues every run first, then starts the workers; the clock runs from the first run's start to the moment the
 * database holds no unfinished run. A run that has not finished by the cap is reported as lost.
 */
async function throughput(
  cfg: Config,
  target: Target,
  scenario: ScenarioName,
  profile: Profile,
  n: number,
  lanes: number,
  exclusive: boolean,
  work: Work,
): Promise<Result> {
  const laneOf = exclusive ? (k: number) => k % lanes : (k: number) => k;
  const plan = { lanes: exclusive ? lanes : n, exclusive, cancellable: false };
  return withFleet({ target, plan, profile, concurrency: cfg.concurrency, leaseSeconds: null }, async (fleet) => {
    await fleet.enqueue(jobsOf(n, laneOf, work));
    await fleet.addWorkers(cfg.workers);
    const capAt = now() + cfg.capSeconds * 1000;
    await fleet.go();
    const allEnded = await fleet.until(() => fleet.ledger.ended >= n, capAt - now());
    // the handlers are done; the drain is over when the database has recorded it
    let unfinished = await fleet.unfinished();
    while (allEnded && unfinished > 0 && now() < capAt) {
      await sleep(5);
      unfinished = await fleet.unfinished();
    }
    const end = now();
    const firstStart = Math.min(...[...fleet.ledger.starts.values()].map((s) => s[0]!.at));
    const done = fleet.ledger.ended;
    const seconds = (end - firstStart) / 1000;
    const r = emptyResult(scenario, target, null, profile);
    r.runs_per_sec = round(done / seconds, 0);
    const capped = !allEnded || unfinished > 0;
    // a run the cap cut off is not lost, only not waited for
    r.lost = capped ? null : fleet.ledger.lost(n);
    r.twice = fleet.ledger.twice();
    const overlaps = exclusive ? findOverlaps(fleet.ledger.intervals(laneOf)) : [];
    if (exclusive) r.overlaps = overlaps.length;
    const notes = [
      capped
        ? `stopped at the ${cfg.capSeconds} s cap with ${done.toLocaleString('en')} of ${n.toLocaleString('en')} runs done (rate over those)`
        : `${n.toLocaleString('en')} runs in ${seconds.toFixed(2)} s`,
    ];
    if (overlaps.length > 0) notes.push(`overlaps, e.g. ${overlaps.slice(0, 3).map(describeOverlap).join('; ')}`);
    const stats = await fleet.workerStats();
    if (stats) notes.push(stats);
    r.note = notes.join('; ');
    return r;
  });
}

export function drain(cfg: Config, target: Target, profile: Profile): Promise<Result> {
  const scenario = profile === 'default' ? 'drain-default' : 'drain-tuned';
  return throughput(cfg, target, scenario, profile, cfg.counts.drain, cfg.counts.drain, false, { kind: 'noop' });
}

/**
 * Lanes with each system's tuned settings; where those let runs of one lane overlap, once more with its defaults,
 * so the system is also measured in the configuration that keeps its promise.
 */
export async function lanes(cfg: Config, target: Target): Promise<Result[]> {
  const c = cfg.counts;
  const run = (profile: Profile) => throughput(cfg, target, 'lanes', profile, c.lanesRuns, c.lanes, true, { kind: 'sleep', ms: c.lanesSleepMs });
  const tuned = await run('tuned');
  return tuned.overlaps ? [tuned, await run('default')] : [tuned];
}

/** One run at a time into idle workers: from just before the enqueue call to the handler's start. */
export async function latency(cfg: Config, target: Target): Promise<Result> {
  const n = cfg.counts.latency;
  const plan = { lanes: n, exclusive: false, cancellable: false };
  return withFleet({ target, plan, profile: 'tuned', concurrency: cfg.concurrency, leaseSeconds: null }, async (fleet) => {
    await fleet.addWorkers(cfg.workers);
    await fleet.go();
    await sleep(500); // listeners connected, first polls done: idle workers
    const capAt = now() + cfg.capSeconds * 1000;
    const samples: number[] = [];
    let lost = 0;
    let key = 0;
    for (; key < n && now() < capAt; key++) {
      const k = key;
      const at = await fleet.enqueueOne({ key: k, lane: k, work: { kind: 'noop' } });
      const started = await fleet.until(() => fleet.ledger.starts.has(k), 10_000);
      if (started) samples.push(fleet.ledger.starts.get(k)![0]!.at - at);
      else lost++;
      // a pause, so every run meets idle workers rather than a worker still finishing the last one
      await sleep(2 + Math.random() * 6);
    }
    await fleet.until(() => fleet.ledger.ended >= key - lost, 5000);
    const p = percentiles(samples);
    const r = emptyResult('latency', target, null);
    Object.assign(r, { p50_ms: round(p.p50), p95_ms: round(p.p95), p99_ms: round(p.p99), lost, twice: fleet.ledger.twice() });
    r.note = key < n ? `stopped at the ${cfg.capSeconds} s cap after ${key} of ${n} runs` : `${n} runs`;
    return r;
  });
}

/** Runs that hold until told to stop, all running; each canceled in turn: from the cancel call to the handler's return. */
export async function cancel(cfg: Config, target: Target, caps: Capabilities): Promise<Result> {
  if (caps.cancelRunning) return emptyResult('cancel', target, caps.cancelRunning);
  const n = cfg.counts.cancel;
  const plan = { lanes: n, exclusive: false, cancellable: true };
  // every run must be running at once, so the slots are as many as the runs (the same for every system)
  const concurrency = Math.max(cfg.concurrency, Math.ceil(n / cfg.workers));
  return withFleet({ target, plan, profile: 'tuned', concurrency, leaseSeconds: null }, async (fleet) => {
    await fleet.enqueue(jobsOf(n, (k) => k, { kind: 'hold', maxMs: 120_000 }));
    await fleet.addWorkers(cfg.workers);
    await fleet.go();
    const allRunning = await fleet.until(() => fleet.ledger.starts.size >= n, 30_000);
    const running = [...fleet.ledger.starts.keys()];
    // one cancel every 20 ms, not waiting for the stop: a slow stop does not hold back the next cancel
    const asked: Array<Promise<number>> = [];
    for (const key of running) {
      asked.push(fleet.cancel(key));
      await sleep(20);
    }
    const at = await Promise.all(asked);
    const stopWindow = 30_000;
    await fleet.until(() => running.every((k) => fleet.ledger.ends.has(k)), stopWindow);
    const samples: number[] = [];
    let notStopped = 0;
    running.forEach((key, i) => {
      const end = fleet.ledger.ends.get(key)?.[0];
      if (end) samples.push(end.at - at[i]!);
      else notStopped++;
    });
    const p = percentiles(samples);
    const r = emptyResult('cancel', target, null);
    Object.assign(r, { p50_ms: round(p.p50), p95_ms: round(p.p95), p99_ms: round(p.p99), lost: notStopped, twice: fleet.ledger.twice() });
    const notes = [`${running.length} running runs canceled (${cfg.workers} workers × concurrency ${concurrency})`];
    if (!allRunning) notes.push(`only ${running.length} of ${n} were running after 30 s`);
    if (notStopped > 0) notes.push(`lost = runs still going ${stopWindow / 1000} s after their cancel`);
    r.note = notes.join('; ');
    return r;
  });
}

/**
 * One worker takes all the runs and is killed with SIGKILL while running them; the others were started after it took
 * them. Measures, per run, the time from the kill to its start on another worker: p99 is "all running elsewhere".
 */
export async function crash(cfg: Config, target: Target, caps: Capabilities): Promise<Result> {
  const n = cfg.counts.crash;
  const lease = caps.crashLeaseSeconds(cfg.leaseSeconds);
  const plan = { lanes: n, exclusive: false, cancellable: false };
  return withFleet({ target, plan, profile: 'tuned', concurrency: cfg.concurrency, leaseSeconds: lease }, async (fleet) => {
    const [victim] = await fleet.addWorkers(1);
    await fleet.go([victim!]);
    await fleet.enqueue(jobsOf(n, (k) => k, { kind: 'sleep', ms: cfg.counts.crashWorkMs }));
    const held = await fleet.until(() => fleet.ledger.starts.size >= n, 20_000);
    if (!held) return emptyResult('crash', target, `the first worker started only ${fleet.ledger.starts.size} of ${n} runs`);
    const survivors = await fleet.addWorkers(cfg.workers - 1);
    await fleet.go(survivors);
    const killedAt = now();
    victim!.kill();
    const elsewhere = (k: number) => fleet.ledger.starts.get(k)?.find((s) => s.w !== 0);
    const keys = Array.from({ length: n }, (_, k) => k);
    const window = (lease ?? cfg.leaseSeconds) * 1000 + CRASH_GRACE_MS;
    const allMoved = await fleet.until(() => keys.every((k) => elsewhere(k)), window);
    // the runs that did move get the time to finish there
    await fleet.until(() => keys.every((k) => !elsewhere(k) || fleet.ledger.ends.get(k)?.some((e) => e.w !== 0)), cfg.counts.crashWorkMs + 5000);
    const samples = keys.flatMap((k) => {
      const s = elsewhere(k);
      return s ? [s.at - killedAt] : [];
    });
    const finishedElsewhere = keys.filter((k) => fleet.ledger.ends.get(k)?.some((e) => e.w !== 0)).length;
    const endedTwice = keys.filter((k) => (fleet.ledger.ends.get(k)?.length ?? 0) > 1).length;
    const r = emptyResult('crash', target, null);
    const p = percentiles(samples);
    if (allMoved) Object.assign(r, { p50_ms: round(p.p50, 0), p95_ms: round(p.p95, 0), p99_ms: round(p.p99, 0) });
    r.lost = n - finishedElsewhere;
    r.twice = fleet.ledger.twice(new Set([0])) + endedTwice;
    const notes = [caps.leaseNote(cfg.leaseSeconds)];
    if (allMoved && lease !== null) {
      const budget = lease * 1000 + 2000;
      notes.push(`all ${n} running elsewhere ${p.p99! <= budget ? 'within' : 'later than'} lease + 2 s`);
    }
    if (!allMoved) notes.push(`${samples.length} of ${n} running elsewhere ${window / 1000} s after the kill`);
    r.note = notes.join('; ');
    return r;
  });
}
