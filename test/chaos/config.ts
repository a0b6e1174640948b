// What one `npm run test:chaos` does: the full suite, or with --short the same faults over fewer runs (for CI).
// `--runs N` sets the total number of runs (split between the phases) for a quick look; the table says so.

export type PhaseName = 'machine' | 'embedded';

export interface PhaseConfig {
  name: PhaseName;
  /** where the queue lives in this phase */
  description: string;
  runs: number;
  kills: number;
  /** restart the phase's PostgreSQL once (the machine's server, or the embedded one) */
  restart: boolean;
  /** partition one worker from the database for longer than its lease (the machine phase only) */
  partition: boolean;
}

export interface Config {
  mode: 'full' | 'short';
  phases: PhaseConfig[];
  sessions: number;
  lanesPerSession: number;
  workers: number;
  /** slots per worker: workers × concurrency = sessions × lanes, so every lane can run at once */
  concurrency: number;
  leaseSeconds: number;
  /** between TERM and KILL when a draining worker cancels what is left (only at the end of a phase) */
  graceSeconds: number;
  maxAttempts: number;
  /** the lines each run prints, and the pause after each */
  linesPerRun: number;
  sleepMs: number;
  /** a killed worker's replacement starts this long after the kill */
  replaceAfterMs: number;
  /** the partition lasts the lease plus this */
  partitionExtraSeconds: number;
  /** the share of a phase's runs held back, queued while faults are still to come and the queue runs low */
  reserve: number;
  /** faults are spread over this stretch of a phase's progress (finished runs ÷ runs) */
  faultWindow: [number, number];
  /** the least time between two faults */
  faultGapMs: number;
  /** a phase gives up waiting for its runs this long after its last fault (or after no run finished for this long) */
  settleTimeoutMs: number;
}

export function readConfig(args: string[]): Config {
  const short = args.includes('--short');
  const runsArg = valueOf(args, '--runs');
  const unknown = args.filter((a, i) => !['--short', '--runs'].includes(a) && args[i - 1] !== '--runs');
  if (unknown.length > 0) throw new Error(`unknown argument(s): ${unknown.join(' ')} (use --short, --runs N)`);
  const total = runsArg !== undefined ? Number(runsArg) : short ? 2000 : 10_000;
  if (!Number.isInteger(total) || total < 80) throw new Error('--runs: give a whole number of at least 80');
  const kills = 20;
  const machineRuns = Math.round(total / 2);
  return {
    mode: short ? 'short' : 'full',
    phases: [
      { name: 'machine', description: "the machine's PostgreSQL", runs: machineRuns, kills: kills / 2, restart: true, partition: true },
      { name: 'embedded', description: 'an embedded database in a temporary data folder', runs: total - machineRuns, kills: kills / 2, restart: true, partition: false },
    ],
    sessions: 5,
    lanesPerSession: 8,
    workers: 8,
    concurrency: 5,
    leaseSeconds: 5,
    graceSeconds: 10,
    maxAttempts: 10,
    linesPerRun: 5,
    sleepMs: 30,
    replaceAfterMs: 500,
    partitionExtraSeconds: 4,
    reserve: 0.25,
    faultWindow: short ? [0.03, 0.7] : [0.05, 0.7],
    faultGapMs: short ? 700 : 1500,
    settleTimeoutMs: 120_000,
  };
}

function valueOf(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const v = args[i + 1];
  if (v === undefined) throw new Error(`${name} needs a value`);
  return v;
}
