// The suite's markdown: the setup, the faults as they happened, a summary per phase, and the checks (one row each,
// with the counts per phase), then the runs and problems behind any count that is not what it should be.
import type { Config } from './config';
import type { PhaseResult } from './phase';
import type { Violation } from './checks';
import { script } from './workload';

export interface Check {
  name: string;
  ok: boolean;
  cells: string[];
  note: string;
}

export interface Machine {
  cores: number;
  cpu: string;
  postgres: string;
  node: string;
  busyPercent: number;
  load: { min: number; max: number; mean: number };
  others: Array<{ label: string; cpuSeconds: number }>;
}

const n = (x: number) => x.toLocaleString('en');
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mark = (ok: boolean) => (ok ? '✓' : '✗ FAIL');

export function checks(results: PhaseResult[], errors: Map<string, string>): Check[] {
  const per = (f: (r: PhaseResult) => string) => results.map(f);
  const all = <T>(f: (r: PhaseResult) => T[]) => results.flatMap(f);
  const planned = (r: PhaseResult) => r.config.kills + (r.config.restart ? 1 : 0) + (r.config.partition ? 1 : 0);
  return [
    {
      name: 'every run finished exactly once',
      ok: all((r) => r.notFinishedOnce).length === 0,
      cells: per((r) => `${n(r.byStatus.succeeded ?? 0)} succeeded, ${r.failedByFaults.length} failed by faults, ${r.notFinishedOnce.length} wrong`),
      note: 'succeeded; or failed with "lease expired" once the faults used up its attempts (listed below); a worker reported at most one recorded end',
    },
    {
      name: 'two running runs in one lane',
      ok: all((r) => r.monitor.violations).length === 0,
      cells: per((r) => `${r.monitor.violations.length} in ${n(r.monitor.samples)} samples (${n(Math.round(r.monitor.perSecond))}/s, longest gap ${s(r.monitor.longestGapMs)}); ${r.monitor.indexRefusals.length} claims refused by the index`),
      note: 'a connection of its own polls `… where status = \'running\' group by session_id, lane having count(*) > 1` back to back; the unique index runs_one_running_per_lane forbids such a row, so this checks the index as much as the claim code (the refusals column counts worker statements the index stopped)',
    },
    {
      name: 'log lines lost / duplicated',
      ok: results.every((r) => r.logs.lost === 0 && r.logs.duplicated === 0 && r.logs.problems.length === 0),
      cells: per((r) => `${r.logs.lost} / ${r.logs.duplicated} of ${n(r.logs.lines)} lines in ${n(r.logs.attempts)} attempts (${n(r.logs.cutOff)} cut off by a fault, a prefix each)`),
      note: "each attempt's lines in order and at most once; the attempt that finished the run has all of them, an attempt a fault cut off a prefix",
    },
    {
      name: 'orphaned processes',
      ok: all((r) => r.orphans).length === 0,
      cells: per((r) => `${r.orphans.length}`),
      note: "after every worker exited: no process with a run's OCR_RUN_ID in /proc/*/environ, none in a process group a run printed",
    },
    {
      name: 'runs stuck (queued or running at the end)',
      ok: all((r) => r.stuck).length === 0,
      cells: per((r) => {
        const last = [...r.faults].sort((x, y) => x.end - y.end).pop();
        const after = r.lastFinishedAt !== null && last ? s(Math.max(0, r.lastFinishedAt - last.end)) : '—';
        const left = last ? ` (${n(Math.round(r.runs * (1 - last.progress)))} runs were unfinished when it began)` : '';
        return `${r.stuck.length}; the last run finished ${after} after the last fault${left}`;
      }),
      note: "the last fault: a kill, the partition healed, or the database answering again; the faults' own rows say when the runs each one took from a worker had all finished",
    },
    {
      name: 'fencing held',
      ok: results.every((r) => r.fencing.problems.length === 0 && r.fencing.stale === 0),
      cells: per((r) => `${r.fencing.problems.length} violations in ${n(r.fencing.checked)} ends; ${r.fencing.refusedEnds} stale ends refused, ${r.fencing.lostRuns} attempts given up by their workers, ${r.fencing.stale} stale log writes`),
      note: "each end is logged (`exited <code> in …`) under the attempt and worker the run names (claimed_by, attempt); no line of an older attempt after a newer claim; every end a worker had recorded is its holder's",
    },
    {
      name: 'workers that exited by themselves',
      ok: all((r) => r.unexpectedExits).length === 0,
      cells: per((r) => `${r.unexpectedExits.length} of ${r.workerProcesses} processes`),
      note: 'only the suite ends a worker (SIGKILL as a fault, SIGTERM at the end)',
    },
    {
      name: 'faults injected as planned',
      ok: results.every((r) => r.missedFaults.length === 0 && r.faults.length === planned(r)) && errors.size === 0,
      cells: per((r) => `${r.faults.length} of ${planned(r)}${errors.has(r.config.name) ? ` (phase failed: ${errors.get(r.config.name)})` : ''}`),
      note: 'each while runs were still queued',
    },
  ];
}

export function markdown(cfg: Config, machine: Machine, results: PhaseResult[], list: Check[], startedAt: number, endedAt: number, since: (t: number) => string, savedLogs: string | undefined): string {
  const lines: string[] = [];
  const ok = list.every((c) => c.ok);
  const total = cfg.phases.reduce((a, p) => a + p.runs, 0);
  const kills = cfg.phases.reduce((a, p) => a + p.kills, 0);
  lines.push(`## Chaos suite (${cfg.mode}): ${ok ? 'passed' : 'FAILED'}`, '');
  lines.push('| setting | value |', '|---|---|');
  lines.push(`| runs | ${n(total)}: ${cfg.phases.map((p) => `${p.name} ${n(p.runs)}`).join(', ')} |`);
  lines.push(`| lanes | ${cfg.sessions} sessions × ${cfg.lanesPerSession} lanes per phase (sessions without a repository: scratch folders) |`);
  lines.push(`| workers | ${cfg.workers} processes of \`ocr worker\` (dist/ocr.js), concurrency ${cfg.concurrency}, lease ${cfg.leaseSeconds} s, grace ${cfg.graceSeconds} s |`);
  lines.push(`| a run | \`${script('<key>', cfg.linesPerRun, cfg.sleepMs).replace(/\|/g, '\\|')}\`; max_attempts ${cfg.maxAttempts} |`);
  lines.push(`| faults | ${kills} SIGKILLs of workers (each replaced ${cfg.replaceAfterMs} ms later), ${cfg.phases.filter((p) => p.restart).length} PostgreSQL restarts, ${cfg.phases.filter((p) => p.partition).length} network partition of ${cfg.leaseSeconds + cfg.partitionExtraSeconds} s |`);
  lines.push(`| machine | ${machine.cores} cores (${machine.cpu}), PostgreSQL ${machine.postgres}, Node ${machine.node} |`);
  const others = machine.others.filter((o) => o.cpuSeconds >= 1).map((o) => `${o.label} ${o.cpuSeconds.toFixed(0)} s`).join(', ');
  lines.push(`| load | CPU ${machine.busyPercent.toFixed(0)}% busy, load average ${machine.load.min.toFixed(1)}–${machine.load.max.toFixed(1)} (mean ${machine.load.mean.toFixed(1)}); other work's CPU time: ${others || 'none to speak of'} |`);
  lines.push(`| duration | ${s(endedAt - startedAt)} |`, '');

  lines.push('| # | phase | at | kind | progress | what |', '|--:|---|--:|---|--:|---|');
  let i = 0;
  for (const r of results) {
    for (const f of [...r.faults].sort((x, y) => x.at - y.at)) lines.push(`| ${++i} | ${r.config.name} | ${since(f.at)} | ${f.kind} | ${Math.round(f.progress * 100)}% | ${f.detail} |`);
    for (const m of r.missedFaults) lines.push(`| – | ${r.config.name} | | missed | | ${m} |`);
  }
  lines.push('');

  lines.push('| phase | database | runs | succeeded | failed (faults) | attempts | retried | worker processes | duration | runs/s |', '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of results) {
    const ms = r.endedAt - r.workersAt;
    lines.push(`| ${r.config.name} | ${r.database} | ${n(r.runs)} | ${n(r.byStatus.succeeded ?? 0)} | ${r.failedByFaults.length} | ${n(r.attempts)} | ${n(r.retried)} | ${r.workerProcesses} | ${s(ms)} | ${((r.runs * 1000) / Math.max(1, (r.lastFinishedAt ?? r.endedAt) - r.workersAt)).toFixed(1)} |`);
  }
  lines.push('');

  lines.push(`| check | result | ${results.map((r) => r.config.name).join(' | ')} | what it means |`, `|---|---|${results.map(() => '---').join('|')}|---|`);
  for (const c of list) lines.push(`| ${c.name} | ${mark(c.ok)} | ${c.cells.join(' | ')} | ${c.note} |`);
  lines.push('');

  const listed = (title: string, items: string[], max = 25) => {
    if (items.length === 0) return;
    lines.push(`${title} (${items.length}):`, '', ...items.slice(0, max).map((x) => `- ${x}`));
    if (items.length > max) lines.push(`- … and ${items.length - max} more`);
    lines.push('');
  };
  const v = (r: PhaseResult, x: Violation) => `${r.config.name} ${x.key} (${x.run}): ${x.what}`;
  for (const r of results) {
    listed(`Runs the faults failed, ${r.config.name}`, r.failedByFaults.map((x) => `${x.key} (${x.run}): ${x.error}; held by attempt:worker ${x.holders}`));
  }
  listed('Not finished exactly once', results.flatMap((r) => r.notFinishedOnce.map((x) => v(r, x))));
  listed('Two running runs in one lane', results.flatMap((r) => r.monitor.violations.map((x) => `${r.config.name}: ${x}`)));
  listed('Claims the index refused', results.flatMap((r) => r.monitor.indexRefusals.map((x) => `${r.config.name}: ${x}`)), 10);
  listed('Log problems', results.flatMap((r) => r.logs.problems.map((x) => v(r, x))));
  listed('Orphaned processes', results.flatMap((r) => r.orphans.map((o) => `${r.config.name}: pid ${o.pid} (group ${o.group}) \`${o.command.slice(0, 100)}\`: ${o.why}`)));
  listed('Stuck runs', results.flatMap((r) => r.stuck.map((x) => `${r.config.name} ${x.key} (${x.run}): ${x.status}${x.claimed_by ? ` held by ${x.claimed_by}` : ''}`)));
  listed('Fencing problems', results.flatMap((r) => r.fencing.problems.map((x) => v(r, x))));
  listed('Workers that exited by themselves', results.flatMap((r) => r.unexpectedExits.map((x) => `${r.config.name}: ${x}`)));
  listed('Noticed, not a check: workers slow to exit at the end', results.flatMap((r) => r.slowExits.map((x) => `${r.config.name}: ${x}`)));
  lines.push(
    `The workers' own log, by kind: ${results.map((r) => `${r.config.name}: ${r.workerLog.slice(0, 8).map(([k, c]) => `${k} ×${c}`).join(', ') || 'nothing'}`).join('; ')}.`,
  );
  if (savedLogs) lines.push('', `The workers' logs are kept in ${savedLogs}.`);
  return lines.join('\n');
}
