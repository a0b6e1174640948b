// One phase: a database (the machine's PostgreSQL, or an embedded one), its runs queued, its workers started, its
// faults injected while the runs drain, then the workers stopped and everything checked. Whatever the phase created is
// removed before it returns, whether it passed, failed or threw.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { onCleanup } from './cleanup';
import type { Config, PhaseConfig } from './config';
import { embeddedTarget, machineTarget, type Target } from './database';
import { Fleet, type Placement, type Slot } from './fleet';
import { analyzeRun, checkReportedEnds, holders, type EventRow, type RunAnalysis, type RunRow, type Violation } from './checks';
import { LaneMonitor, Progress } from './monitor';
import { Partitionable, startProxy } from './network';
import { findOrphans, type Orphan } from './orphans';
import { keyOfIntent, prepareRuns, queue } from './workload';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Fault {
  kind: 'kill' | 'partition' | 'restart';
  /** when it began and when it was over (the kill itself; the link up again; the server answering again) */
  at: number;
  end: number;
  /** progress (finished ÷ runs) when it began */
  progress: number;
  detail: string;
  /** the worker it struck, and the runs that worker held then */
  worker?: string;
  held?: string[];
}

export interface PhaseResult {
  config: PhaseConfig;
  database: string;
  startedAt: number;
  endedAt: number;
  /** the first worker started: the runs start flowing */
  workersAt: number;
  faults: Fault[];
  /** planned faults that could not be injected (the queue drained first) */
  missedFaults: string[];
  runs: number;
  byStatus: Record<string, number>;
  attempts: number;
  retried: number;
  workerProcesses: number;
  lastFinishedAt: number | null;
  // checks
  notFinishedOnce: Violation[];
  failedByFaults: Array<{ key: string; run: string; error: string; holders: string }>;
  monitor: { samples: number; perSecond: number; failed: number; longestGapMs: number; violations: string[]; indexRefusals: string[] };
  logs: { lines: number; attempts: number; complete: number; cutOff: number; lost: number; duplicated: number; problems: Violation[] };
  orphans: Orphan[];
  stuck: Array<{ key: string; run: string; status: string; claimed_by: string | null }>;
  fencing: { checked: number; refusedEnds: number; lostRuns: number; stale: number; problems: Violation[] };
  unexpectedExits: string[];
  /** workers that had stopped but did not exit after SIGTERM at the end of the phase */
  slowExits: string[];
  workerLog: Array<[string, number]>;
  logDir: string;
}

/** The fault plan: the kills, with the partition and the restart among them, spread over the phase's progress. */
function plan(phase: PhaseConfig, cfg: Config): Array<{ kind: Fault['kind']; at: number }> {
  const kinds: Array<Fault['kind']> = Array.from({ length: phase.kills }, () => 'kill');
  const n = phase.kills + (phase.partition ? 1 : 0) + (phase.restart ? 1 : 0);
  if (phase.partition) kinds.splice(Math.floor(n * 0.2), 0, 'partition');
  if (phase.restart) kinds.splice(Math.floor(n * 0.55), 0, 'restart');
  const [from, to] = cfg.faultWindow;
  return kinds.map((kind, i) => ({ kind, at: from + ((to - from) * i) / Math.max(1, n - 1) }));
}

export async function runPhase(cfg: Config, phase: PhaseConfig, root: string, say: (line: string) => void, since: (t: number) => string): Promise<PhaseResult> {
  const startedAt = Date.now();
  const dir = path.join(root, phase.name);
  mkdirSync(dir, { recursive: true });
  const undo: Array<() => Promise<void>> = [];
  let target: Target | undefined;
  let fleet: Fleet | undefined;
  let monitor: LaneMonitor | undefined;
  let progress: Progress | undefined;
  let slowExits: string[] = [];
  try {
    say(`${phase.name}: setting up ${phase.description}`);
    target = phase.name === 'machine' ? await machineTarget() : await embeddedTarget(say);
    undo.push(() => target!.dispose());
    const placements: Placement[] = [];
    let net: Partitionable | undefined;
    if (phase.partition) {
      if (!target.tcp) throw new Error('a partition needs a database reached over TCP');
      net = await Partitionable.create();
      undo.push(() => net!.destroy());
      const proxy = await startProxy(net.hostAddress, { host: target.tcp.host, port: target.tcp.port });
      const closeProxy = onCleanup(`proxy on ${proxy.host}:${proxy.port}`, () => proxy.close());
      undo.push(closeProxy);
      const db = `postgres://${encodeURIComponent(target.tcp.user)}@${proxy.host}:${proxy.port}/${target.tcp.database}`;
      placements.push({ db, wrap: (argv) => net!.wrap(argv), label: `in network namespace ${net.namespace} (${net.nsAddress}), through the proxy on ${proxy.host}:${proxy.port}` });
      say(`${phase.name}: network namespace ${net.namespace}: ${net.nsLink} ${net.nsAddress}/30 ⇄ ${net.hostLink} ${net.hostAddress}/30; proxy ${proxy.host}:${proxy.port} → ${target.tcp.host}:${target.tcp.port}`);
    }
    while (placements.length < cfg.workers) placements.push({ db: target.workerDb, label: 'on the host' });
    const t = target;

    // Most runs are queued now; a reserve is held back and queued in small batches whenever the queue runs low
    // while faults are still to come, so every fault meets runs to disturb however fast this machine drains them.
    // Once the last fault is in, the rest of the reserve is queued at once.
    const { runs: all } = await prepareRuns(target.store, cfg, phase.name, phase.runs);
    let queued = Math.ceil(phase.runs * (1 - cfg.reserve));
    await queue(target.store, all.slice(0, queued));
    say(`${phase.name}: queued ${queued} runs over ${cfg.sessions} sessions × ${cfg.lanesPerSession} lanes; ${phase.runs - queued} held back`);
    const lanes = cfg.sessions * cfg.lanesPerSession;
    let topping: Promise<void> | undefined;
    // The progress the fault being injected waits for (1 once every fault is in). While a fault waits for something
    // else (a restart waits for the partition to heal), the reserve is not queued past it, so a machine that drains
    // fast cannot finish every run before the faults still to come.
    let pendingAt = 1;
    const topUp = (everything: boolean) => {
      if (topping || queued >= all.length) return;
      const unfinished = queued - progress!.finished;
      if (!everything && unfinished >= 2 * lanes) return;
      const cap = Math.min(all.length, Math.ceil(phase.runs * pendingAt) + 2 * lanes);
      if (!everything && queued >= cap) return;
      const next = everything ? all.length : Math.min(cap, queued + lanes);
      topping = queue(t.store, all.slice(queued, next)).then(
        () => {
          queued = next;
        },
        () => undefined, // the database is away: the next tick tries again
      ).finally(() => (topping = undefined));
    };
    monitor = new LaneMonitor(target.connect);
    monitor.start();
    progress = new Progress(target.connect);
    progress.start();
    fleet = new Fleet(phase.name, cfg, placements, dir, say);
    const workersAt = Date.now();
    await fleet.startAll();
    say(`${phase.name}: ${cfg.workers} workers started (${fleet.slots.map((s) => s.current!.id).join(', ')})`);

    const faults: Fault[] = [];
    const missedFaults: string[] = [];
    const done = () => progress!.finished >= phase.runs;
    const fraction = () => progress!.finished / phase.runs;
    const f = fleet;
    // Kills do not wait for their replacement, and the partition goes on while the next faults come; a restart waits
    // for both, so it meets a full fleet and no worker that is starting up (whose store would start a stopped embedded
    // server on its own, before the reconnection of the running workers could).
    const replacements: Array<Promise<unknown>> = [];
    let partitioning: Promise<void> | undefined;
    let partitionActive = false;
    const injectAll = async () => {
      for (const step of plan(phase, cfg)) {
        pendingAt = step.at;
        while (fraction() < step.at && !done()) await progress!.next();
        if (step.kind === 'restart') await Promise.all([partitioning, ...replacements]);
        if (done()) {
          missedFaults.push(`${step.kind} planned at ${Math.round(step.at * 100)}%: every run had finished`);
          continue;
        }
        const at = Date.now();
        const p = fraction();
        if (step.kind === 'kill') {
          // a random worker among those holding runs (any live one when none does); never the one being cut off
          const live = f.live().filter((w) => !(partitionActive && w.slot === 0));
          const holding = live.filter((w) => f.ledger.held(w.id).length > 0);
          const candidates = holding.length > 0 ? holding : live;
          const victim = candidates[Math.floor(Math.random() * candidates.length)]!;
          const pid = victim.child.pid;
          const k = await f.kill(f.slots[victim.slot]!);
          const fault: Fault = { kind: 'kill', at, end: at, progress: p, detail: `SIGKILL ${k.worker} (pid ${pid}) holding ${k.held.length} run(s)`, worker: k.worker, held: k.held };
          faults.push(fault);
          replacements.push(k.replacement.then((id) => (fault.detail += `; replaced by ${id}`)));
          say(`${phase.name}: SIGKILL ${k.worker} holding ${k.held.length} run(s)`);
        } else if (step.kind === 'restart') {
          const r = await t.restart((line) => say(`${phase.name}: ${line}`), () => f.ledger.embeddedRestarts.find((x) => x.at >= at && /started again/.test(x.line))?.worker);
          faults.push({ kind: 'restart', at: r.downAt, end: r.upAt, progress: p, detail: `${r.how}; answering again after ${((r.upAt - r.downAt) / 1000).toFixed(1)} s, started by ${r.by}` });
          say(`${phase.name}: the database answers again (${((r.upAt - r.downAt) / 1000).toFixed(1)} s; ${r.by})`);
        } else {
          partitionActive = true;
          partitioning = partition(cfg, net!, f.slots[0]!, f, t, fraction, (line) => say(`${phase.name}: ${line}`)).then(
            (fault) => void faults.push(fault),
            (e: Error) => void missedFaults.push(`partition: ${e.message}`),
          ).finally(() => (partitionActive = false));
        }
        await sleep(cfg.faultGapMs);
      }
      pendingAt = 1;
      await Promise.all([partitioning, ...replacements]);
    };
    const faulting = injectAll();
    faulting.catch(() => undefined);
    // Wait for every run to finish; give up once the faults are over and nothing has finished for a while.
    let faultsOver = false;
    void faulting.finally(() => (faultsOver = true));
    let lastReport = 0;
    for (;;) {
      await Promise.race([progress.next(), sleep(1000)]);
      topUp(faultsOver);
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        const c = progress.latest;
        say(`${phase.name}: ${progress.finished}/${phase.runs} finished (${c.running} running, ${c.queued} queued), ${faults.length} fault(s), monitor ${monitor.samples} samples`);
      }
      if (faultsOver && done()) break;
      const lastFault = Math.max(0, ...faults.map((x) => x.end));
      if (faultsOver && Date.now() - Math.max(lastFault, progress.lastChangeAt) > cfg.settleTimeoutMs) {
        say(`${phase.name}: nothing finished for ${cfg.settleTimeoutMs / 1000} s after the last fault; checking what is there`);
        break;
      }
    }
    await faulting;
    say(`${phase.name}: stopping the workers`);
    const stops = await fleet.stopAll();
    slowExits = stops
      .filter((x) => x.killed)
      .map((x) => {
        const when = x.afterStoppedMs !== undefined ? `${(x.afterStoppedMs / 1000).toFixed(0)} s after it said it had stopped` : `${(x.exitMs / 1000).toFixed(0)} s after SIGTERM`;
        return `${x.worker} had not exited ${when}, and was SIGKILLed (its last line: ${fleet!.everyWorker.find((w) => w.id === x.worker)?.lastLines.slice(-1)[0] ?? '—'})`;
      });
    say(`${phase.name}: workers exited after SIGTERM in ${stops.map((x) => `${x.worker} ${(x.exitMs / 1000).toFixed(1)} s${x.killed ? ' (SIGKILLed)' : ''}`).join(', ')}`);
    await monitor.stop();
    await progress.stop();
    // every worker has exited; the watchers of SIGKILLed workers' runs acted at once, this is only for slow reaping
    await sleep(1000);

    say(`${phase.name}: every worker has exited; reading the runs and their logs`);
    const client = await t.connect();
    let rows: RunRow[];
    let events: EventRow[];
    try {
      rows = (
        await client.query<RunRow>(
          `select id, intent, status, attempt, max_attempts, claimed_by, error, exit_code,
                  (extract(epoch from finished_at) * 1000)::float8 as finished_ms from ops.runs order by seq`,
        )
      ).rows;
      events = (
        await client.query<EventRow>(
          `select run_id, seq::int as seq, stream, text, (extract(epoch from ts) * 1000)::float8 as ts_ms
             from ops.run_events order by run_id, seq`,
        )
      ).rows;
    } finally {
      await client.end();
    }
    const result = check(cfg, phase, rows, events, fleet, monitor, faults, missedFaults, since);
    say(`${phase.name}: checked ${rows.length} runs and ${events.length} log events`);
    return { ...result, slowExits, database: t.describe, startedAt, endedAt: Date.now(), workersAt, logDir: fleet.logDir };
  } finally {
    await monitor?.stop().catch(() => undefined);
    await progress?.stop().catch(() => undefined);
    await fleet?.stopAll().catch(() => undefined);
    const t0 = Date.now();
    for (const u of undo.reverse()) await u().catch((e: Error) => say(`cleanup: ${e.message}`));
    say(`${phase.name}: removed what the phase made (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

/** Cuts the namespace's link for the lease plus a few seconds while its worker holds runs, then heals it. */
async function partition(cfg: Config, net: Partitionable, slot: Slot, fleet: Fleet, target: Target, fraction: () => number, say: (line: string) => void): Promise<Fault> {
  // the partition is worth having only while the worker holds runs
  for (let i = 0; i < 100; i++) {
    const w = slot.current;
    if (w?.alive && w.isStarted && fleet.ledger.held(w.id).length > 0) break;
    await sleep(100);
  }
  const worker = slot.current!.id;
  const held = fleet.ledger.held(worker);
  const ms = (cfg.leaseSeconds + cfg.partitionExtraSeconds) * 1000;
  await net.cut();
  const at = Date.now();
  const p = fraction();
  say(`partition: ${net.hostLink} down (${await net.state()}), ${worker} holds ${held.length} run(s); healing in ${ms / 1000} s`);
  await sleep(ms);
  // evidence that the worker really was cut off: the age of its last heartbeat, as the database sees it
  let age = 'unknown';
  try {
    const c = await target.connect();
    const r = await c.query<{ age: number }>('select extract(epoch from now() - last_heartbeat)::float8 as age from ops.workers where id = $1', [worker]);
    await c.end();
    if (r.rows[0]) age = `${r.rows[0].age.toFixed(1)} s`;
  } catch {
    // left unknown
  }
  await net.heal();
  const end = Date.now();
  say(`partition healed: ${net.hostLink} ${await net.state()}; ${worker}'s last heartbeat was ${age} old`);
  return {
    kind: 'partition',
    at,
    end,
    progress: p,
    detail: `${net.hostLink} down for ${((end - at) / 1000).toFixed(1)} s (lease ${cfg.leaseSeconds} s) under ${worker}, which held ${held.length} run(s); its last heartbeat was ${age} old at the heal`,
    worker,
    held,
  };
}

function check(
  cfg: Config,
  phase: PhaseConfig,
  rows: RunRow[],
  events: EventRow[],
  fleet: Fleet,
  monitor: LaneMonitor,
  faults: Fault[],
  missedFaults: string[],
  since: (t: number) => string,
): Omit<PhaseResult, 'database' | 'startedAt' | 'endedAt' | 'workersAt' | 'logDir' | 'slowExits'> {
  const ledger = fleet.ledger;
  const byRun = new Map<string, EventRow[]>();
  for (const e of events) {
    const list = byRun.get(e.run_id);
    if (list) list.push(e);
    else byRun.set(e.run_id, [e]);
  }
  const byStatus: Record<string, number> = {};
  const notFinishedOnce: Violation[] = [];
  const failedByFaults: PhaseResult['failedByFaults'] = [];
  const logs = { lines: 0, attempts: 0, complete: 0, cutOff: 0, lost: 0, duplicated: 0, problems: [] as Violation[] };
  const fencing = { checked: 0, refusedEnds: 0, lostRuns: 0, stale: 0, problems: [] as Violation[] };
  const stuck: PhaseResult['stuck'] = [];
  const groups = new Map<number, number>();
  const analyses = new Map<string, RunAnalysis>();
  const seenKeys = new Map<string, number>();
  for (const run of rows) {
    const key = keyOfIntent(run.intent);
    seenKeys.set(key, (seenKeys.get(key) ?? 0) + 1);
    byStatus[run.status] = (byStatus[run.status] ?? 0) + 1;
    const a = analyzeRun(run, byRun.get(run.id) ?? [], cfg.linesPerRun, since);
    analyses.set(run.id, a);
    for (const [g, t] of a.groups) groups.set(g, Math.max(groups.get(g) ?? 0, t));
    logs.lines += [...a.lines.values()].reduce((n, ns) => n + ns.length, 0);
    logs.attempts += a.lines.size;
    logs.complete += a.completeAttempts;
    logs.cutOff += a.cutOffAttempts;
    logs.lost += a.lost;
    logs.duplicated += a.duplicated;
    for (const what of a.logProblems) logs.problems.push({ key, run: run.id, what });
    fencing.stale += a.stale;
    const reported = checkReportedEnds(run, ledger);
    for (const what of [...a.fencingProblems, ...reported]) fencing.problems.push({ key, run: run.id, what });
    if (run.status === 'succeeded' || run.exit_code !== null) fencing.checked++;
    // exactly once: succeeded, or failed because the faults used up its attempts
    if (run.status === 'queued' || run.status === 'running') {
      stuck.push({ key, run: run.id, status: run.status, claimed_by: run.claimed_by });
    } else if (run.status === 'failed' && run.error === 'lease expired' && run.attempt >= run.max_attempts) {
      failedByFaults.push({ key, run: run.id, error: run.error, holders: holders(run, a, ledger) });
    } else if (run.status !== 'succeeded') {
      // what its log says, without its own output: the claims, the command, the engine's errors
      const said = (byRun.get(run.id) ?? []).filter((e) => e.stream !== 'stdout').map((e) => `[${e.seq} ${since(e.ts_ms)}] ${e.text}`);
      notFinishedOnce.push({ key, run: run.id, what: `${run.status} at attempt ${run.attempt} of ${run.max_attempts}: ${run.error ?? `exit ${run.exit_code}`} (held by ${holders(run, a, ledger)}); its log: ${said.slice(-6).join(' | ')}` });
    }
    if (reported.some((p) => p.startsWith('ended '))) notFinishedOnce.push({ key, run: run.id, what: reported.find((p) => p.startsWith('ended '))! });
    for (const e of ledger.ends.get(run.id) ?? []) {
      if (e.status !== 'lost') continue;
      fencing.lostRuns++;
      if (e.error?.includes('was not recorded')) fencing.refusedEnds++;
    }
  }
  if (rows.length !== phase.runs) notFinishedOnce.push({ key: '-', run: '-', what: `${rows.length} runs in the database, ${phase.runs} queued` });
  for (const [key, n] of seenKeys) if (n > 1) notFinishedOnce.push({ key, run: '-', what: `${n} runs with this key` });
  const lastFinishedAt = rows.reduce<number | null>((m, r) => (r.finished_ms === null ? m : Math.max(m ?? 0, r.finished_ms)), null);
  const orphans = findOrphans(new Set(rows.map((r) => r.id)), groups);
  // the runs a fault took from a worker: how many another worker ran again, and when the last of them finished
  const finishedAt = new Map(rows.map((r) => [r.id, r.finished_ms]));
  for (const f of faults) {
    if (!f.held || f.held.length === 0) continue;
    const elsewhere = f.held.filter((id) => (ledger.starts.get(id) ?? []).some((s) => s.worker !== f.worker && s.at >= f.at)).length;
    const ends = f.held.map((id) => finishedAt.get(id));
    const last = ends.every((x) => typeof x === 'number') ? Math.max(...(ends as number[])) : undefined;
    f.detail += `; ${elsewhere} of ${f.held.length} ran again on other workers${last !== undefined ? `, all finished ${((last - f.at) / 1000).toFixed(1)} s after it` : ''}`;
  }
  return {
    config: phase,
    faults,
    missedFaults,
    runs: rows.length,
    byStatus,
    attempts: rows.reduce((n, r) => n + r.attempt, 0),
    retried: rows.filter((r) => r.attempt > 1).length,
    workerProcesses: fleet.everyWorker.length,
    lastFinishedAt,
    notFinishedOnce,
    failedByFaults,
    monitor: {
      samples: monitor.samples,
      perSecond: monitor.samplesPerSecond,
      failed: monitor.failedSamples,
      longestGapMs: monitor.longestGapMs,
      violations: monitor.violations.map((v) => `${new Date(v.at).toISOString()} session ${v.session} lane ${v.lane}`),
      indexRefusals: ledger.indexRefusals,
    },
    logs,
    orphans,
    stuck,
    fencing,
    unexpectedExits: ledger.unexpectedExits.map((x) => `${x.worker} exited (code ${x.code}, signal ${x.signal}): ${x.lastLines.slice(-3).join(' / ')}`),
    workerLog: [...ledger.logKinds.entries()].sort((a, b) => b[1] - a[1]),
  };
}
