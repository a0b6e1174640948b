// One markdown table (scenarios down, systems across) with the issue's targets checked, and the JSON file.
import type { Config } from './config';
import type { Target } from './runner';
import { CRASH_GRACE_MS, type Result } from './scenarios';
import type { Capabilities } from './systems/types';

export interface Machine {
  cores: number;
  cpu: string;
  postgres: string;
  node: string;
  peers: Record<string, string>;
}

export interface Column {
  target: Target;
  capabilities: Capabilities;
  /** the newest release under Node 22, beside the pinned one */
  latest: boolean;
}

const fmt = (x: number | null, digits = 0): string =>
  x === null ? '—' : x.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const columnLabel = (c: Column): string =>
  `${c.target.system} ${c.target.version}${c.latest ? ` (Node ${c.target.node.replace(/^v/, '').split('.')[0]})` : ''}`;

function extras(r: Result): string {
  const parts: string[] = [];
  if (r.lost) parts.push(`lost ${r.lost}`);
  if (r.twice) parts.push(`twice ${r.twice}`);
  return parts.length ? ` · ${parts.join(' · ')}` : '';
}

export function markdown(cfg: Config, machine: Machine, columns: Column[], results: Result[], date: string): string {
  const rowsOf = (scenario: string, c: Column) =>
    results.filter((r) => r.scenario === scenario && r.system === c.target.system && r.version === c.target.version && r.node === c.target.node);
  // where a system ran a scenario twice (lanes: tuned let runs overlap, so defaults too), its exact run counts
  const best = (scenario: string, c: Column | undefined) => {
    const rows = c ? rowsOf(scenario, c) : [];
    return rows.find((r) => !r.overlaps) ?? rows[0];
  };
  const ocr = columns.find((c) => c.target.system === 'ocr');
  const gw = columns.find((c) => c.target.system === 'graphile-worker' && !c.latest);
  const ratio = (scenario: string, pick: (r: Result) => number | null) => {
    const a = best(scenario, ocr);
    const b = best(scenario, gw);
    const x = a && pick(a);
    const y = b && pick(b);
    return x && y ? x / y : null;
  };
  const check = (ok: boolean) => (ok ? '✓' : '✗');
  const lines: string[] = [];
  const scaled = cfg.scale !== 1 ? `, run counts scaled by ${cfg.scale}` : '';
  lines.push(
    `Measured ${date} on ${machine.cores} cores (${machine.cpu}), PostgreSQL ${machine.postgres}, Node ${machine.node}; ` +
      `${cfg.workers} worker processes × concurrency ${cfg.concurrency} for every system${scaled}.`,
    '',
  );
  lines.push(`| scenario | measure | ${columns.map(columnLabel).join(' | ')} | target (ocr vs graphile-worker ${gw?.target.version ?? ''}) |`);
  lines.push(`|---|---|${columns.map(() => '--:').join('|')}|---|`);
  const row = (scenario: string, measure: string, cell: (r: Result) => string, target = '') => {
    if (!results.some((r) => r.scenario === scenario)) return;
    const cells = columns.map((c) => {
      const rs = rowsOf(scenario, c);
      return rs.length > 1 ? rs.map((r) => `${cell(r)} (${r.profile})`).join('; ') : rs[0] ? cell(rs[0]) : '';
    });
    lines.push(`| ${scenario} | ${measure} | ${cells.join(' | ')} | ${target} |`);
  };
  const rate = (r: Result) => (r.runs_per_sec === null ? 'n/a' : fmt(r.runs_per_sec) + extras(r));
  row('drain-default', 'runs/s', rate);
  const drainRatio = ratio('drain-tuned', (r) => r.runs_per_sec);
  row('drain-tuned', 'runs/s', rate, drainRatio === null ? '' : `≥ 1.5×: ${drainRatio.toFixed(2)}× ${check(drainRatio >= 1.5)}`);
  const lanesRatio = ratio('lanes', (r) => r.runs_per_sec);
  row('lanes', 'runs/s', rate, lanesRatio === null ? '' : `≥ 10× (vs its exact run): ${lanesRatio.toFixed(1)}× ${check(lanesRatio >= 10)}`);
  const ocrLanes = best('lanes', ocr);
  const everyoneExact = results.filter((r) => r.scenario === 'lanes').every((r) => !r.overlaps);
  row(
    'lanes',
    'overlaps',
    (r) => fmt(r.overlaps),
    `ocr 0: ${check(ocrLanes?.overlaps === 0)}; everyone 0: ${check(everyoneExact)}`,
  );
  const ocrLatency = best('latency', ocr);
  const latencyRatio = ratio('latency', (r) => r.p50_ms);
  row(
    'latency',
    'p50 / p95 / p99 ms',
    (r) => (r.p50_ms === null ? 'n/a' : `${fmt(r.p50_ms, 1)} / ${fmt(r.p95_ms, 1)} / ${fmt(r.p99_ms, 1)}${extras(r)}`),
    ocrLatency && latencyRatio !== null && ocrLatency.p99_ms !== null
      ? `p50 ≤ theirs: ${check(latencyRatio <= 1)}; p99 ≤ 25 ms: ${check(ocrLatency.p99_ms <= 25)}`
      : '',
  );
  row('cancel', 'p50 / p99 ms', (r) => (r.p50_ms === null ? (r.note?.startsWith('failed') ? 'failed' : 'cannot¹') : `${fmt(r.p50_ms, 1)} / ${fmt(r.p99_ms, 1)}${extras(r)}`));
  const ocrCrash = best('crash', ocr);
  const lease = cfg.leaseSeconds;
  row(
    'crash',
    `all ${cfg.counts.crash} running elsewhere, ms`,
    (r) => (r.p99_ms === null ? (r.note?.startsWith('failed') ? 'failed' : `not within ${lease + CRASH_GRACE_MS / 1000} s`) : fmt(r.p99_ms)),
    ocrCrash?.p99_ms != null
      ? `≤ lease + 2 s (${fmt(lease * 1000 + 2000)}), none lost: ${check(ocrCrash.p99_ms <= lease * 1000 + 2000 && ocrCrash.lost === 0)}`
      : '',
  );
  row('crash', 'lost / ran twice', (r) => `${fmt(r.lost)} / ${fmt(r.twice)}`);
  const pgb = results.find((r) => r.scenario === 'pgbench');
  if (pgb) {
    const ocrDrain = best('drain-tuned', ocr);
    const share = ocrDrain?.runs_per_sec && pgb.runs_per_sec ? ` (ocr drain-tuned = ${((100 * ocrDrain.runs_per_sec) / pgb.runs_per_sec).toFixed(0)}% of it)` : '';
    lines.push(
      `| pgbench ${pgb.version} | one-row UPDATE TPS, ${cfg.workers * cfg.concurrency} clients | ${[fmt(pgb.runs_per_sec), ...columns.slice(1).map(() => '')].join(' | ')} | reference${share} |`,
    );
  }
  lines.push('');
  const cannot = columns.filter((c) => c.capabilities.cancelRunning);
  if (cannot.length) lines.push(`¹ ${cannot.map((c) => `${columnLabel(c)}: ${c.capabilities.cancelRunning}`).join('; ')}.`, '');
  lines.push('Settings:', '');
  for (const c of columns) {
    lines.push(
      `- **${columnLabel(c)}** — default: ${c.capabilities.profiles.default}; tuned (also used for lanes, latency, cancel, crash): ${c.capabilities.profiles.tuned}; lanes: ${c.capabilities.lanes}; crash: ${c.capabilities.leaseNote(cfg.leaseSeconds)}.`,
    );
  }
  const noted = results.filter((r) => r.note);
  if (noted.length) {
    lines.push('', 'Per run:', '');
    for (const r of noted) {
      const node = r.node && r.system !== 'ocr' && r.node !== machine.node ? ` (Node ${r.node})` : '';
      lines.push(`- ${r.scenario}, ${r.system} ${r.version}${node}${r.profile ? `, ${r.profile}` : ''}: ${r.note}`);
    }
  }
  return lines.join('\n');
}

export function json(machine: Machine, results: Result[], cfg: Config, date: string): string {
  return `${JSON.stringify(
    {
      date,
      machine,
      settings: { workers: cfg.workers, concurrency: cfg.concurrency, scale: cfg.scale, crash_lease_seconds: cfg.leaseSeconds, counts: cfg.counts },
      results,
    },
    null,
    2,
  )}\n`;
}
