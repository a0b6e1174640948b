// A run's processes: one process group per run, stopped as a whole (TERM, then KILL after a grace period), never
// outliving the worker that started them, and never having the worker among their ancestors.
//
// Node has no "kill my children when I die" (Linux's PDEATHSIG), so each run starts under a few lines of POSIX sh.
// The outer sh leads the run's process group (setsid) and starts the inner sh in the background, then exits at once:
// the inner sh, and the command under it, are then children of init (or the nearest subreaper), not of the worker, so
// a run that walks up /proc/$PPID finds no process of the worker's and none of its environment or command line.
// The inner sh hands a watcher the read end of a pipe whose only write end the worker holds. However the worker ends
// (exit, crash, SIGKILL) the kernel closes that end, the watcher reads EOF and kills the whole group. The watcher
// ignores TERM so that it survives a cancel's grace period and can still act. The worker is not the inner sh's parent
// and cannot wait for it, so the inner sh writes the command's exit code to a second pipe before it exits.
//
// A process that leaves the group (its own setsid) escapes the group's kill; after the run, processes that still carry
// the run's marker in their environment (Linux: /proc/<pid>/environ) are killed too.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

// fd 4 is the worker's pipe (not stdin: Node closes a child's stdin when that child, the outer sh, exits).
const outer = [
  'inner=$1',
  'shift',
  '/bin/sh -c "$inner" ocr-run "$@" &',
  'exit 0',
].join('\n');

const inner = [
  "( trap '' TERM INT HUP; read -r _ <&4; kill -KILL 0 ) 3>&- &",
  'watcher=$!',
  'exec 4<&-',
  // A trap (not an ignore) so the command still gets default signal handling, and the sh waits for it to end.
  "trap ':' TERM INT HUP",
  '"$@" 3>&-',
  'code=$?',
  'kill -KILL "$watcher" 2>/dev/null',
  // reaped before the sh exits, so a group still alive after that holds only what the command left behind
  'wait "$watcher" 2>/dev/null',
  'echo "$code" >&3',
  'exit "$code"',
].join('\n');

export type StopReason = 'cancel' | 'timeout' | 'lost' | 'shutdown' | 'budget';

export interface ProcessSpec {
  /** the program and its arguments, run without any shell interpreting them */
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stop the run (TERM, then KILL) after this long; none when absent */
  timeoutMs?: number;
  /** how long a stopped run has between TERM and KILL (between each of `stopSignals`); default 5 s */
  killGraceMs?: number;
  /**
   * the signals that stop the run, in turn, `killGraceMs` apart, until it has ended (KILL is always the last); TERM
   * then KILL by default. A coding agent that writes its final report on SIGINT gets SIGINT first.
   */
  stopSignals?: readonly NodeJS.Signals[];
  /**
   * `NAME=value` of an environment variable only this run's processes carry (it must be in `env`): after the run,
   * processes that still carry it, having left the group, are killed too
   */
  marker?: string;
}

export interface ProcessResult {
  /** the command's exit code; 128 + the signal number when a signal ended it (as shells report it) */
  exitCode: number;
  signal: NodeJS.Signals | null;
  /** why the worker stopped it, when it did */
  stoppedBy: StopReason | null;
  durationMs: number;
  /** processes the command left running after it exited were killed */
  killedLeftovers: boolean;
}

const defaultKillGraceMs = 5000;
// Output still buffered in the pipes is read after the group is dead; only a process that escaped the group (its own
// setsid) can hold a pipe open past that, and it is not waited for much longer than this.
const pipeDrainMs = 2000;

export class RunProcess {
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly done: Promise<ProcessResult>;
  private readonly child: ChildProcess;
  private readonly started = performance.now();
  private stoppedBy: StopReason | null = null;
  private exited = false;
  private killTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private timeoutTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly spec: ProcessSpec) {
    const [file, ...args] = spec.argv;
    if (!file) throw new Error('a run needs a command to start');
    this.child = spawn('/bin/sh', ['-c', outer, 'ocr-run', inner, file, ...args], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true, // setsid: its own session and process group, whose id is the outer sh's pid
      // 3: the command's exit code, written by the inner sh; 4: the worker's pipe the watcher reads
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    // the outer sh exits at once; what matters is the exit code the inner sh reports
    this.child.on('exit', () => undefined);
    const { stdout, stderr } = this.child;
    if (!stdout || !stderr) throw new Error('the run process has no output pipes');
    this.stdout = stdout;
    this.stderr = stderr;
    this.done = this.watch();
    this.pid = this.child.pid ?? -1;
    if (spec.timeoutMs !== undefined && spec.timeoutMs > 0) {
      this.timeoutTimer = setTimeout(() => this.stop('timeout'), spec.timeoutMs);
    }
  }

  static start(spec: ProcessSpec): RunProcess {
    return new RunProcess(spec);
  }

  get running(): boolean {
    return !this.exited;
  }

  /** TERM (or the run's first stop signal) to the whole group now, KILL after the grace period if anything is left. The first reason given sticks. */
  stop(reason: StopReason, graceMs = this.spec.killGraceMs ?? defaultKillGraceMs): void {
    this.stoppedBy ??= reason;
    if (this.exited || this.stopping) return;
    this.stopping = true;
    const signals = [...(this.spec.stopSignals ?? ['SIGTERM']).filter((s) => s !== 'SIGKILL'), 'SIGKILL' as const];
    const send = (i: number): void => {
      if (this.exited) return;
      this.signalGroup(signals[i]!);
      if (i + 1 < signals.length) this.killTimer = setTimeout(() => send(i + 1), graceMs);
    };
    send(0);
  }

  /** KILL to the whole group now: for a run this worker no longer holds, nothing may run a moment longer. */
  kill(reason: StopReason): void {
    this.stoppedBy ??= reason;
    this.signalGroup('SIGKILL');
  }

  /** True while any process of the run's group is alive. */
  groupAlive(): boolean {
    return this.pid > 0 && groupAlive(this.pid);
  }

  private signalGroup(signal: NodeJS.Signals | 0): void {
    if (this.pid > 0) signalGroup(this.pid, signal);
  }

  private watch(): Promise<ProcessResult> {
    const report = this.child.stdio[3] as Readable | null;
    if (!report) throw new Error('the run process has no exit-code pipe');
    let text = '';
    report.setEncoding('utf8');
    report.on('data', (chunk: string) => (text += chunk));
    return new Promise<ProcessResult>((resolve, reject) => {
      this.child.once('error', (e) => {
        this.exited = true;
        this.clearTimers();
        reject(e);
      });
      // The inner sh holds the pipe's only write end: its end is the inner sh's exit.
      report.once('close', async () => {
        this.exited = true;
        this.clearTimers();
        // The pipe closes while the inner sh is still on its way out: it is given a moment to be gone.
        const leftInGroup = (await groupOutlives(this.pid, 100)) && signalGroup(this.pid, 'SIGKILL');
        // Whatever the command left behind (a background job, a daemon in its group, one that left the group) ends with it.
        const escaped = this.spec.marker ? killMarked(this.spec.marker) : 0;
        const reported = /^\s*(\d+)\s*$/.exec(text);
        // No code: the inner sh itself was killed (SIGKILL to the group), and the command with it.
        const exitCode = reported ? Number(reported[1]) : 128 + constants.signals.SIGKILL;
        const signal = exitCode > 128 ? signalName(exitCode - 128) : null;
        const result: ProcessResult = {
          exitCode,
          signal,
          stoppedBy: this.stoppedBy,
          durationMs: performance.now() - this.started,
          killedLeftovers: leftInGroup || escaped > 0,
        };
        void this.drained().then(() => resolve(result));
      });
    });
  }

  /**
   * Resolves once both pipes are read to their end. A pipe still open a while after the group died belongs to a
   * process that left the group; it is closed unless its reader paused it (the log is catching up).
   */
  private drained(): Promise<void> {
    const pipes = [this.stdout, this.stderr] as Array<Readable & { bytesRead?: number }>;
    const closed = Promise.all(pipes.map(streamClosed));
    return new Promise<void>((resolve) => {
      let last = -1;
      const check = setInterval(() => {
        const read = pipes.reduce((n, p) => n + (p.bytesRead ?? 0), 0);
        if (read === last && !pipes.some((p) => p.isPaused())) {
          for (const p of pipes) p.destroy();
        }
        last = read;
      }, pipeDrainMs);
      void closed.then(() => {
        clearInterval(check);
        resolve();
      });
    });
  }

  private clearTimers(): void {
    clearTimeout(this.timeoutTimer);
    clearTimeout(this.killTimer);
  }
}

/** Sends a signal to a process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: a member changed its user (setuid); the group exists but is out of reach.
    if ((e as NodeJS.ErrnoException).code === 'EPERM') return true;
    throw e;
  }
}

/**
 * Whether a process of the group is still alive. Its exited processes are children of init now, which reaps them when
 * it will: on Linux a zombie does not count (it is read from /proc); elsewhere the group's existence is the answer.
 */
export function groupAlive(pgid: number): boolean {
  if (process.platform !== 'linux') return signalGroup(pgid, 0);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) return true;
    } catch {
      // it ended while we looked
    }
  }
  return false;
}

/** Whether a process of the group is still alive `ms` from now (answers false as soon as none is). */
async function groupOutlives(pgid: number, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (groupAlive(pgid)) {
    if (performance.now() >= until) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

function signalName(n: number): NodeJS.Signals | null {
  const found = Object.entries(constants.signals).find(([, value]) => value === n);
  return found ? (found[0] as NodeJS.Signals) : null;
}

/**
 * Kills every process that carries `marker` (`NAME=value`) in its environment, and answers how many. Linux only
 * (elsewhere there is no /proc to read): it finds the processes of a run that left its process group.
 */
export function killMarked(marker: string): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  let killed = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours
    }
    if (!environ.split('\0').includes(marker)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      killed++;
    } catch {
      // it ended meanwhile
    }
  }
  return killed;
}

function streamClosed(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.closed) resolve();
    else stream.once('close', () => resolve());
  });
}
