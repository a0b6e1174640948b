// What one `npm run bench:peers` measures, read from the environment (and `--key=value` flags) with zod, so a typo is
// an error that names the setting instead of a silently different benchmark.
import os from 'node:os';
import { z } from 'zod';

export const scenarioNames = ['drain-default', 'drain-tuned', 'lanes', 'latency', 'cancel', 'crash', 'pgbench'] as const;
export type ScenarioName = (typeof scenarioNames)[number];
export const systemNames = ['ocr', 'graphile-worker', 'pg-boss'] as const;
export type SystemName = (typeof systemNames)[number];

const list = <T extends string>(values: readonly [T, ...T[]]) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(values)).min(1));

const flag = z
  .enum(['0', '1', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const Settings = z.object({
  /** comma list of systems; default all */
  BENCH_PEERS_SYSTEMS: list(systemNames).optional(),
  /** comma list of scenarios; default all */
  BENCH_PEERS_SCENARIOS: list(scenarioNames).optional(),
  /** multiplies every run count (0.05 for a quick look); the table says when it was not 1 */
  BENCH_PEERS_SCALE: z.coerce.number().gt(0).max(10).default(1),
  BENCH_PEERS_WORKERS: z.coerce.number().int().min(1).max(16).default(4),
  BENCH_PEERS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** the short lease every system that has one gets in the crash scenario */
  BENCH_PEERS_LEASE_SECONDS: z.coerce.number().int().min(1).max(60).default(5),
  /** also run the newest peer releases under a Node 22 binary from the npm registry (they need Node 22) */
  BENCH_PEERS_LATEST: flag.default(true),
  BENCH_PEERS_PGBENCH_SECONDS: z.coerce.number().int().min(1).max(120).default(10),
  /** no single (system, scenario) may take longer than this; what is left undone is reported, not waited for */
  BENCH_PEERS_CAP_SECONDS: z.coerce.number().int().min(5).max(900).default(45),
  BENCH_PEERS_OUT: z.string().min(1).default('bench/out'),
});

export interface Config {
  systems: SystemName[];
  scenarios: ScenarioName[];
  scale: number;
  workers: number;
  concurrency: number;
  leaseSeconds: number;
  latest: boolean;
  pgbenchSeconds: number;
  capSeconds: number;
  outDir: string;
  counts: {
    drain: number;
    lanesRuns: number;
    lanes: number;
    lanesSleepMs: number;
    latency: number;
    cancel: number;
    crash: number;
    crashWorkMs: number;
  };
}

/** `--scale=0.1` on the command line is the same as BENCH_PEERS_SCALE=0.1. */
function flagsToEnv(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${JSON.stringify(arg)}: use --name=value, e.g. --scale=0.1 --systems=ocr,pg-boss`);
    out[`BENCH_PEERS_${m[1]!.toUpperCase().replace(/-/g, '_')}`] = m[2]!;
  }
  return out;
}

export function readConfig(env: NodeJS.ProcessEnv, argv: string[]): Config {
  const merged = { ...pick(env), ...flagsToEnv(argv) };
  const known = new Set(Object.keys(Settings.shape));
  for (const k of Object.keys(merged)) {
    if (!known.has(k)) throw new Error(`${k}: not a setting of this benchmark; known: ${[...known].join(', ')}`);
  }
  const r = Settings.safeParse(merged);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${issue.path.join('.') || 'settings'}: ${issue.message}`);
  }
  const s = r.data;
  const scaled = (n: number, min: number) => Math.max(min, Math.round(n * s.BENCH_PEERS_SCALE));
  return {
    systems: s.BENCH_PEERS_SYSTEMS ?? [...systemNames],
    scenarios: s.BENCH_PEERS_SCENARIOS ?? [...scenarioNames],
    scale: s.BENCH_PEERS_SCALE,
    workers: s.BENCH_PEERS_WORKERS,
    concurrency: s.BENCH_PEERS_CONCURRENCY,
    leaseSeconds: s.BENCH_PEERS_LEASE_SECONDS,
    latest: s.BENCH_PEERS_LATEST,
    pgbenchSeconds: s.BENCH_PEERS_PGBENCH_SECONDS,
    capSeconds: s.BENCH_PEERS_CAP_SECONDS,
    outDir: s.BENCH_PEERS_OUT,
    counts: {
      drain: scaled(20_000, 100),
      lanesRuns: scaled(10_000, 100),
      lanes: 100,
      lanesSleepMs: 2,
      latency: scaled(1_000, 20),
      cancel: 50,
      crash: 8,
      crashWorkMs: 3_000,
    },
  };
}

function pick(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('BENCH_PEERS_') && v !== undefined && v !== '') out[k] = v;
  return out;
}

export const cores = (): number => os.cpus().length;
