// The checks of a phase, from what the database holds at the end (runs, their logs) and what the workers said (the
// ledger). Pure functions over that data; selfTest() feeds them logs with each kind of fault in them first, so a
// clean table means the checks ran and could have failed.
import type { Ledger } from './fleet';
import { keyOfIntent, parseLine } from './workload';

export interface RunRow {
  id: string;
  intent: string;
  status: string;
  attempt: number;
  max_attempts: number;
  claimed_by: string | null;
  error: string | null;
  exit_code: number | null;
  finished_ms: number | null;
}

export interface EventRow {
  run_id: string;
  seq: number;
  stream: string;
  text: string;
  ts_ms: number;
}

export interface Violation {
  key: string;
  run: string;
  what: string;
}

/** One attempt's part of a run's log: from its `claimed by` line to the next one. */
interface Segment {
  worker: string;
  attempt: number;
  exits: Array<{ code: number; text: string }>;
}

export interface RunAnalysis {
  /** the lines' numbers per attempt (from the lines' own attempt field), in log order */
  lines: Map<number, number[]>;
  /** where each of those lines is in the log: `seq N at <time>`, in the same order */
  where: Map<number, string[]>;
  segments: Segment[];
  /** process groups the run's attempts printed, with the time of the attempt's last event */
  groups: Map<number, number>;
  logProblems: string[];
  fencingProblems: string[];
  lost: number;
  duplicated: number;
  stale: number;
  completeAttempts: number;
  cutOffAttempts: number;
}

const claimedLine = /^claimed by (.+) \(attempt (\d+) of (\d+)\)$/;
const exitLine = /(?:^|: )exited (\d+)(?: \([A-Z0-9]+\))? in /;

/** Reads one run's log: which attempt wrote what, whether its lines are whole, and who logged its exit. */
export function analyzeRun(run: RunRow, events: EventRow[], linesPerRun: number, at: (ms: number) => string = (ms) => new Date(ms).toISOString()): RunAnalysis {
  const key = keyOfIntent(run.intent);
  const a: RunAnalysis = { lines: new Map(), where: new Map(), segments: [], groups: new Map(), logProblems: [], fencingProblems: [], lost: 0, duplicated: 0, stale: 0, completeAttempts: 0, cutOffAttempts: 0 };
  let seg: Segment | undefined;
  let lastSeq = 0;
  for (const e of events) {
    if (e.seq <= lastSeq) a.logProblems.push(`event seq ${e.seq} after ${lastSeq}`);
    lastSeq = e.seq;
    if (e.stream === 'system') {
      const claim = claimedLine.exec(e.text);
      if (claim) {
        const attempt = Number(claim[2]);
        if (a.segments.some((s) => s.attempt === attempt)) a.fencingProblems.push(`attempt ${attempt} was claimed twice (second time by ${claim[1]})`);
        seg = { worker: claim[1]!, attempt, exits: [] };
        a.segments.push(seg);
        continue;
      }
      const exit = exitLine.exec(e.text);
      if (exit) {
        if (!seg) a.fencingProblems.push(`an exit line before any claim: ${e.text}`);
        else seg.exits.push({ code: Number(exit[1]), text: e.text });
      }
      continue;
    }
    const line = e.stream === 'stdout' ? parseLine(e.text) : undefined;
    if (!line) {
      a.logProblems.push(`unexpected ${e.stream} line: ${JSON.stringify(e.text.slice(0, 80))}`);
      continue;
    }
    if (line.key !== key) {
      a.logProblems.push(`a line of run ${line.key} in the log of ${key}`);
      continue;
    }
    if (!seg) {
      a.logProblems.push(`a line before any claim: ${e.text}`);
    } else if (line.attempt !== seg.attempt) {
      // printed by attempt N, written after attempt M's claim: written by a worker that no longer held the run
      a.stale++;
      a.fencingProblems.push(`attempt ${line.attempt}'s line ${line.n} was written after attempt ${seg.attempt}'s claim`);
    }
    const ns = a.lines.get(line.attempt) ?? [];
    ns.push(line.n);
    a.lines.set(line.attempt, ns);
    const where = a.where.get(line.attempt) ?? [];
    where.push(`seq ${e.seq} at ${at(e.ts_ms)}`);
    a.where.set(line.attempt, where);
    a.groups.set(line.group, Math.max(a.groups.get(line.group) ?? 0, e.ts_ms));
  }
  // the attempt that finished the run printed every line; any other printed a prefix of them
  const completed = run.status === 'succeeded' ? run.attempt : undefined;
  for (const [attempt, ns] of a.lines) {
    const seen = new Set<number>();
    const where = a.where.get(attempt)!;
    let previous = 0;
    for (const [i, n] of ns.entries()) {
      if (seen.has(n)) {
        a.duplicated++;
        a.logProblems.push(`attempt ${attempt}: line ${n} twice (${where[ns.indexOf(n)]}, again ${where[i]})`);
        continue;
      }
      if (n < previous) a.logProblems.push(`attempt ${attempt}: line ${n} after line ${previous} (${where[i]})`);
      seen.add(n);
      previous = Math.max(previous, n);
    }
    const expected = attempt === completed ? linesPerRun : Math.max(...seen);
    const missing = Array.from({ length: expected }, (_, i) => i + 1).filter((n) => !seen.has(n));
    if (missing.length > 0) {
      a.lost += missing.length;
      a.logProblems.push(`attempt ${attempt}${attempt === completed ? ' (the one that finished the run)' : ''}: line(s) ${missing.join(', ')} missing`);
    }
    if (seen.size === linesPerRun) a.completeAttempts++;
    else a.cutOffAttempts++;
  }
  if (completed !== undefined && !a.lines.has(completed)) {
    a.lost += linesPerRun;
    a.logProblems.push(`attempt ${completed} finished the run but none of its lines is in the log`);
  }
  // fencing: the end the database holds was logged by the worker that held the run at that attempt
  const final = a.segments.find((s) => s.attempt === run.attempt);
  const endedByWorker = run.status === 'succeeded' || ((run.status === 'failed' || run.status === 'canceled') && run.exit_code !== null);
  if (endedByWorker) {
    if (!final) {
      a.fencingProblems.push(`${run.status} at attempt ${run.attempt}, but no claim of that attempt is in the log`);
    } else {
      if (final.worker !== run.claimed_by) a.fencingProblems.push(`attempt ${run.attempt} was claimed by ${final.worker} in the log, but the run says ${run.claimed_by}`);
      const exit = final.exits[final.exits.length - 1];
      if (!exit) a.fencingProblems.push(`${run.status} at attempt ${run.attempt} by ${run.claimed_by}, which logged no exit line`);
      else if (exit.code !== run.exit_code) a.fencingProblems.push(`the run's exit code is ${run.exit_code}, its holder logged "${exit.text}"`);
    }
    const later = a.segments.filter((s) => s.attempt > run.attempt);
    if (later.length > 0) a.fencingProblems.push(`claimed again after its end: ${later.map((s) => `attempt ${s.attempt} by ${s.worker}`).join(', ')}`);
  }
  return a;
}

/** What the workers reported of a run's end, checked against the run: one recorded end, by the run's holder. */
export function checkReportedEnds(run: RunRow, ledger: Ledger): string[] {
  const problems: string[] = [];
  const recorded = (ledger.ends.get(run.id) ?? []).filter((e) => e.status !== 'lost');
  if (recorded.length > 1) problems.push(`ended ${recorded.length} times: ${recorded.map((e) => `${e.status} by ${e.worker}`).join(', ')}`);
  for (const e of recorded) {
    if (e.worker !== run.claimed_by) problems.push(`${e.worker} had its end (${e.status}) recorded, but the run was held by ${run.claimed_by} at attempt ${run.attempt}`);
    else if (e.status !== run.status) problems.push(`${e.worker} had ${e.status} recorded, but the run is ${run.status}`);
  }
  return problems;
}

/** The workers that held a run, attempt by attempt, from its log and from what they said. */
export function holders(run: RunRow, analysis: RunAnalysis, ledger: Ledger): string {
  const byAttempt = new Map<number, string>();
  for (const s of ledger.starts.get(run.id) ?? []) byAttempt.set(s.attempt, s.worker);
  for (const s of analysis.segments) byAttempt.set(s.attempt, s.worker);
  return [...byAttempt.entries()].sort((x, y) => x[0] - y[0]).map(([n, w]) => `${n}:${w}`).join(' ');
}

/** The checks checked: each kind of damage, put into a log on purpose, is found. Throws when one is not. */
export function selfTest(): void {
  const run: RunRow = { id: 'r', intent: 'chaos t00001', status: 'succeeded', attempt: 2, max_attempts: 10, claimed_by: 'w2', error: null, exit_code: 0, finished_ms: 0 };
  let seq = 0;
  const ev = (stream: string, text: string): EventRow => ({ run_id: 'r', seq: ++seq, stream, text, ts_ms: 0 });
  const claim = (w: string, n: number) => ev('system', `claimed by ${w} (attempt ${n} of 10)`);
  const out = (attempt: number, n: number) => ev('stdout', `t00001 ${attempt} ${n} 77`);
  const exit = (code: number) => ev('system', `exited ${code} in 0.2 s`);
  const good = () => {
    seq = 0;
    return [claim('w1', 1), out(1, 1), out(1, 2), claim('w2', 2), out(2, 1), out(2, 2), out(2, 3), exit(0)];
  };
  const expect = (what: string, events: EventRow[], check: (a: RunAnalysis) => boolean, r = run) => {
    const a = analyzeRun(r, events, 3);
    if (!check(a)) throw new Error(`the chaos checks missed ${what}: ${JSON.stringify({ log: a.logProblems, fencing: a.fencingProblems })}`);
  };
  expect('nothing wrong', good(), (a) => a.logProblems.length === 0 && a.fencingProblems.length === 0 && a.cutOffAttempts === 1 && a.completeAttempts === 1);
  expect('a lost line', good().filter((e) => e.text !== 't00001 2 2 77'), (a) => a.lost === 1);
  expect('a gap in a cut-off attempt', good().filter((e) => e.text !== 't00001 1 1 77'), (a) => a.lost === 1);
  expect('a duplicated line', [...good().slice(0, 7), out(2, 3), exit(0)], (a) => a.duplicated === 1);
  expect('lines out of order', (() => { const g = good(); [g[4], g[5]] = [g[5]!, g[4]!]; return g; })(), (a) => a.logProblems.some((p) => p.includes('after line')));
  expect('a stale write', [...good().slice(0, 7), out(1, 3), exit(0)], (a) => a.stale === 1);
  expect('an end logged by a worker that no longer held the run', good(), (a) => a.fencingProblems.length > 0, { ...run, claimed_by: 'w1' });
  expect('an end without an exit line', good().slice(0, 7), (a) => a.fencingProblems.length > 0);
  expect('a claim after the end', [...good(), claim('w3', 3)], (a) => a.fencingProblems.length > 0);
}
