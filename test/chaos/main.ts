// The chaos suite: runs drained by real `ocr worker` processes while workers are SIGKILLed, PostgreSQL is restarted
// (the machine's server, then an embedded one) and a worker is cut off from the database for longer than its lease;
// afterwards it checks that every run finished exactly once, that no lane ever had two running runs, that no log line
// was lost or written twice, that no process was left behind, that nothing is stuck and that fencing held. Prints a
// markdown table; exits 1 on any violation. `npm run test:chaos` (full), `npm run test:chaos -- --short` (CI).
// Linux and root: network namespaces, /proc, pg_ctlcluster.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { testServerUrl } from '../../worker/store/testing';
import { selfTest } from './checks';
import { cleanUpEverything, installSignalHandlers, onCleanup, run } from './cleanup';
import { readConfig } from './config';
import { MachineWatch } from './machine';
import { builtOcr, ocrJs, snapshotOcr } from './ocr';
import { Partitionable } from './network';
import { runPhase, type PhaseResult } from './phase';
import { checks, markdown } from './report';

const started = Date.now();
/** Time since the suite started, as mm:ss.s: the faults, the log lines and the progress lines share it. */
const clock = (t: number) => {
  const tenths = Math.max(0, Math.round((t - started) / 100));
  return `${String(Math.floor(tenths / 600)).padStart(2, '0')}:${String(((tenths % 600) / 10).toFixed(1)).padStart(4, '0')}`;
};
const say = (line: string) => process.stderr.write(`[${clock(Date.now())}] ${line}\n`);

async function preflight(): Promise<string> {
  if (process.platform !== 'linux') throw new Error('the chaos suite needs Linux (/proc, network namespaces)');
  if (process.getuid?.() !== 0) throw new Error('the chaos suite needs root (ip netns, pg_ctlcluster, other users\' /proc entries)');
  if (!existsSync(builtOcr)) throw new Error(`${builtOcr} is missing: run \`npm run build\` first`);
  await run('ip', ['-V']).catch(() => {
    throw new Error('`ip` (iproute2) is missing: apt-get install iproute2');
  });
  const c = new pg.Client({ connectionString: testServerUrl() });
  await c.connect();
  try {
    return (await c.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  } finally {
    await c.end();
  }
}

async function main(): Promise<number> {
  const cfg = readConfig(process.argv.slice(2));
  installSignalHandlers(say);
  selfTest();
  const postgres = await preflight();
  await Partitionable.removeLeftovers(say);
  snapshotOcr();
  const root = mkdtempSync(path.join(os.tmpdir(), 'ocr-chaos-'));
  const removeRoot = onCleanup(`folder ${root}`, () => rmSync(root, { recursive: true, force: true }), () => rmSync(root, { recursive: true, force: true }));
  const watch = new MachineWatch(
    (pid, cmdline, environ) =>
      pid === process.pid ||
      (cmdline.includes(ocrJs()) && / --id [me]-w\d/.test(cmdline)) ||
      cmdline.startsWith(`ip netns exec ocrchaos-${process.pid}`) ||
      environ.includes(`OCR_WORKTREE=${root}`),
  );
  watch.start();
  say(`chaos suite, ${cfg.mode}: ${cfg.phases.map((p) => `${p.name} ${p.runs} runs`).join(', ')}; work folder ${root}`);
  const results: PhaseResult[] = [];
  const errors = new Map<string, string>();
  for (const phase of cfg.phases) {
    try {
      results.push(await runPhase(cfg, phase, root, say, clock));
    } catch (e) {
      const message = (e as Error).message.split('\n')[0]!;
      say(`${phase.name}: the phase failed: ${(e as Error).stack ?? message}`);
      errors.set(phase.name, message);
    }
  }
  const endedAt = Date.now();
  const load = watch.stop();
  const list = checks(results, errors);
  const ok = list.every((c) => c.ok) && errors.size === 0 && results.length === cfg.phases.length;
  let savedLogs: string | undefined;
  if (!ok) {
    // the workers' logs are what a failure is investigated with: kept outside the work folder, which goes
    savedLogs = path.resolve('test-output', `chaos-${new Date(started).toISOString().replace(/[:.]/g, '-')}`);
    for (const phase of cfg.phases) {
      const logs = path.join(root, phase.name, 'logs');
      if (existsSync(logs)) {
        mkdirSync(savedLogs, { recursive: true });
        cpSync(logs, path.join(savedLogs, phase.name), { recursive: true });
      }
    }
  }
  const machine = { cores: load.cores, cpu: os.cpus()[0]?.model.trim() ?? 'unknown', postgres, node: process.version, busyPercent: load.busyPercent, load: load.load, others: load.others };
  console.log(markdown(cfg, machine, results, list, started, endedAt, clock, savedLogs));
  await removeRoot();
  for (const c of list.filter((x) => !x.ok)) say(`violated: ${c.name}`);
  for (const [name, message] of errors) say(`phase ${name} failed: ${message}`);
  return ok ? 0 : 1;
}

main().then(
  async (code) => {
    await cleanUpEverything();
    process.exit(code);
  },
  async (e) => {
    say(`the chaos suite failed: ${(e as Error).stack ?? e}`);
    await cleanUpEverything();
    process.exit(1);
  },
);
