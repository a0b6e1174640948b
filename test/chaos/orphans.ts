// Processes a run left behind, looked for once every worker of a phase has exited: any process whose environment
// carries one of the phase's run ids (OCR_RUN_ID=…), and any process in one of the process groups the runs printed.
// pid_max may be small (32768 here), so a group id is reused by unrelated processes within a phase; a process counts
// as a run's only if it started before that run's attempt last wrote to its log (plus a little).
import { readdirSync, readFileSync } from 'node:fs';

export interface Orphan {
  pid: number;
  group: number;
  command: string;
  why: string;
}

const ticksPerSecond = 100;
const slackMs = 2000;

function bootMs(): number {
  const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
  return Number(btime?.[1] ?? 0) * 1000;
}

/** `runIds`: the phase's runs; `groups`: each group a run printed, with the time of that attempt's last log line. */
export function findOrphans(runIds: Set<string>, groups: Map<number, number>): Orphan[] {
  const boot = bootMs();
  const found: Orphan[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let stat: string;
    let environ = '';
    let command = '';
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // it ended while we looked
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') continue;
    const group = Number(fields[2]);
    const startedMs = boot + (Number(fields[19]) / ticksPerSecond) * 1000;
    const runId = environ.split('\0').find((v) => v.startsWith('OCR_RUN_ID='))?.slice('OCR_RUN_ID='.length);
    if (runId && runIds.has(runId)) {
      found.push({ pid, group, command, why: `its environment has OCR_RUN_ID=${runId}` });
      continue;
    }
    const lastLogMs = groups.get(group);
    if (lastLogMs !== undefined && startedMs <= lastLogMs + slackMs) {
      found.push({ pid, group, command, why: `it is in process group ${group}, which a run printed, and started while that run was going` });
    }
  }
  return found;
}
