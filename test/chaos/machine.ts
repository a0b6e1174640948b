// What else the machine was doing while the suite ran: CPU busy time from /proc/stat, the load average, and the
// processes that used the most CPU and are not the suite's (not the suite, its workers, its runs, or PostgreSQL),
// sampled every few seconds. A run of the suite next to a busy test suite is slower, and the report says so.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

const ticksPerSecond = 100;

interface Sample {
  cpu: { busy: number; total: number };
  procs: Map<number, { ticks: number; label: string }>;
}

function cpuTimes(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

export class MachineWatch {
  private timer: NodeJS.Timeout | undefined;
  private first: Sample | undefined;
  private last: Sample | undefined;
  private readonly others = new Map<string, number>();
  private readonly loads: number[] = [];

  /** `ours(pid, cmdline, environ)` tells the suite's own processes apart */
  constructor(private readonly ours: (pid: number, cmdline: string, environ: string) => boolean) {}

  start(): void {
    this.first = this.last = this.sample();
    this.timer = setInterval(() => this.tick(), 3000);
    this.timer.unref();
  }

  private sample(): Sample {
    const procs = new Map<number, { ticks: number; label: string }>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ticks = Number(f[11]) + Number(f[12]);
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
        let label: string;
        if (comm === 'postgres') label = 'postgres';
        else {
          let environ = '';
          try {
            environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
          } catch {
            // kernel threads
          }
          label = this.ours(pid, cmdline, environ) ? 'ours' : describe(comm, cmdline);
        }
        procs.set(pid, { ticks, label });
      } catch {
        // it ended while we looked
      }
    }
    return { cpu: cpuTimes(), procs };
  }

  private tick(): void {
    const next = this.sample();
    for (const [pid, p] of next.procs) {
      if (p.label === 'ours' || p.label === 'postgres') continue;
      const before = this.last?.procs.get(pid)?.ticks ?? 0;
      const used = p.ticks - before;
      if (used > 0) this.others.set(p.label, (this.others.get(p.label) ?? 0) + used);
    }
    this.loads.push(os.loadavg()[0]!);
    this.last = next;
  }

  stop(): { busyPercent: number; cores: number; load: { min: number; max: number; mean: number }; others: Array<{ label: string; cpuSeconds: number }> } {
    clearInterval(this.timer);
    this.tick();
    const a = this.first!.cpu;
    const b = this.last!.cpu;
    const cores = os.cpus().length;
    const loads = this.loads.length ? this.loads : [os.loadavg()[0]!];
    return {
      busyPercent: b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : 0,
      cores,
      load: { min: Math.min(...loads), max: Math.max(...loads), mean: loads.reduce((x, y) => x + y, 0) / loads.length },
      others: [...this.others.entries()]
        .map(([label, ticks]) => ({ label, cpuSeconds: ticks / ticksPerSecond }))
        .sort((x, y) => y.cpuSeconds - x.cpuSeconds)
        .slice(0, 6),
    };
  }
}

/** A process by what it runs: the interpreter's script or the program, without arguments that differ per run. */
function describe(comm: string, cmdline: string): string {
  if (!cmdline) return `[${comm}]`;
  // a process that set its own title (vitest's workers: "node (vitest 1)")
  if (!cmdline.includes('/') && cmdline.includes('(')) return cmdline.replace(/\s*\d+\)$/, ')').slice(0, 40);
  const words = cmdline.split(' ');
  const script = words.slice(1).find((w) => /\.(m?js|ts)$|vitest|mocha|esbuild|code-server/.test(w));
  const head = words[0]!.split('/').pop()!;
  return script ? `${head} ${script.split('/').slice(-2).join('/')}` : comm;
}
