// Our queue side by side with graphile-worker and pg-boss on one PostgreSQL, in one run: every scenario on every
// system, each on a fresh database, one after another. Prints one markdown table and writes bench/out/peers.json.
// Run with `npm run bench:peers`; settings (BENCH_PEERS_* or --flags) are in config.ts and bench/README.md.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { testServerUrl } from '../../worker/store/testing';
import { runChild } from './child';
import { type Config, readConfig, type ScenarioName } from './config';
import { latestRuntime } from './latest';
import { pgbench } from './pgbench';
import { type Column, columnLabel, json, type Machine, markdown } from './report';
import { cleanUpEverything } from './runner';
import { cancel, crash, drain, emptyResult, latency, lanes, type Result } from './scenarios';
import { describeSystem } from './systems';

const started = Date.now();
const elapsed = () => {
  const s = Math.round((Date.now() - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};
const progress = (line: string) => console.error(`[${elapsed()}] ${line}`);

async function columnsFor(cfg: Config): Promise<Column[]> {
  const columns: Column[] = [];
  for (const system of cfg.systems) {
    const d = describeSystem(system, undefined);
    columns.push({ target: { system, version: d.version, node: process.version }, capabilities: d.capabilities, latest: false });
  }
  const peers = cfg.systems.filter((s) => s !== 'ocr');
  if (cfg.latest && peers.length > 0) {
    const rt = await latestRuntime(progress);
    if ('unavailable' in rt) {
      progress(`the newest peer releases are left out: ${rt.unavailable}`);
    } else {
      for (const system of peers) {
        const d = describeSystem(system, rt.base);
        // the pinned release may already be the newest
        if (columns.some((c) => c.target.system === system && c.target.version === d.version)) continue;
        columns.push({
          target: { system, version: d.version, node: rt.node, peerBase: rt.base, execPath: rt.execPath },
          capabilities: d.capabilities,
          latest: true,
        });
      }
    }
  }
  return columns;
}

async function runOne(cfg: Config, scenario: ScenarioName, column: Column): Promise<Result | Result[]> {
  const t = column.target;
  switch (scenario) {
    case 'drain-default':
      return drain(cfg, t, 'default');
    case 'drain-tuned':
      return drain(cfg, t, 'tuned');
    case 'lanes':
      return lanes(cfg, t);
    case 'latency':
      return latency(cfg, t);
    case 'cancel':
      return cancel(cfg, t, column.capabilities);
    case 'crash':
      return crash(cfg, t, column.capabilities);
    case 'pgbench':
      throw new Error('pgbench is not a queue scenario');
  }
}

function summary(r: Result): string {
  const parts: string[] = [];
  if (r.runs_per_sec !== null) parts.push(`${r.runs_per_sec.toLocaleString('en')} runs/s`);
  if (r.overlaps !== null) parts.push(`${r.overlaps} overlaps`);
  if (r.p50_ms !== null) parts.push(`p50 ${r.p50_ms} / p95 ${r.p95_ms} / p99 ${r.p99_ms} ms`);
  if (r.lost) parts.push(`lost ${r.lost}`);
  if (r.twice) parts.push(`twice ${r.twice}`);
  if (r.note) parts.push(`(${r.note})`);
  return parts.join(', ');
}

async function machineInfo(columns: Column[]): Promise<Machine> {
  const c = new pg.Client({ connectionString: testServerUrl() });
  await c.connect();
  const postgres = (await c.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  await c.end();
  const peers: Record<string, string> = {};
  for (const col of columns) {
    if (col.target.system === 'ocr') continue;
    peers[col.latest ? `${col.target.system}-latest` : col.target.system] =
      col.latest ? `${col.target.version} (Node ${col.target.node})` : col.target.version;
  }
  return { cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim() ?? 'unknown', postgres, node: process.version, peers };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'child') return runChild(args[1]!);
  const cfg = readConfig(process.env, args);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping the benchmark's processes and dropping its databases`);
      void cleanUpEverything().finally(() => process.exit(130));
    });
  }
  const columns = await columnsFor(cfg);
  const machine = await machineInfo(columns);
  const date = new Date().toISOString().slice(0, 10);
  progress(`systems: ${columns.map(columnLabel).join(', ')}; scenarios: ${cfg.scenarios.join(', ')}${cfg.scale !== 1 ? `; scale ${cfg.scale}` : ''}`);
  const results: Result[] = [];
  if (cfg.scenarios.includes('pgbench')) {
    const r = await pgbench(cfg);
    progress(`pgbench: ${summary(r)}`);
    results.push(r);
  }
  // scenario by scenario, so the systems compared in one row are measured minutes apart, not a quarter of an hour
  for (const scenario of cfg.scenarios) {
    if (scenario === 'pgbench') continue;
    for (const column of columns) {
      let rs: Result[];
      try {
        rs = [await runOne(cfg, scenario, column)].flat();
      } catch (e) {
        rs = [emptyResult(scenario, column.target, `failed: ${(e as Error).message.split('\n')[0]}`, null)];
      }
      for (const r of rs) progress(`${scenario}, ${columnLabel(column)}${r.profile ? ` (${r.profile})` : ''}: ${summary(r)}`);
      results.push(...rs);
    }
  }
  const table = markdown(cfg, machine, columns, results, date);
  console.log(table);
  await mkdir(cfg.outDir, { recursive: true });
  await writeFile(path.join(cfg.outDir, 'peers.json'), json(machine, results, cfg, date));
  await writeFile(path.join(cfg.outDir, 'peers.md'), `${table}\n`);
  progress(`wrote ${path.join(cfg.outDir, 'peers.json')} and peers.md`);
}

main().then(
  () => {
    // a peer's pool or timer may still hold the event loop; the results are written
    if (process.argv[2] !== 'child') process.exit(0);
  },
  async (e) => {
    console.error(e instanceof Error ? e.message : e);
    await cleanUpEverything();
    process.exit(1);
  },
);
