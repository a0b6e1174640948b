// A run's processes: one process group per run, stopped as a whole (TERM, then KILL after a grace period), and never
// outliving the worker that started them.
//
// Node has no "kill my children when I die" (Linux's PDEATHSIG), so each run starts under a few lines of POSIX sh.
// The sh leads the run's process group and hands a watcher the read end of a pipe whose only write end the worker
// holds. However the worker ends (exit, crash, SIGKILL) the kernel closes that end, the watcher reads EOF and kills
// the whole group. The watcher ignores TERM so that it survives a cancel's grace period and can still act.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

const wrapper = [
  'exec 3<&0 </dev/null',
  "( trap '' TERM INT HUP; read -r _ <&3; kill -KILL 0 ) &",
  'watcher=$!',
  'exec 3<&-',
  // A trap (not an ignore) so the command still gets default signal handling, and the sh waits for it to end.
  "trap ':' TERM INT HUP",
  '"$@"',
  'code=$?',
  'kill -KILL "$watcher" 2>/dev/null',
  // reaped before the sh exits, so a group still alive after that holds only what the command left behind
  'wait "$watcher" 2>/dev/null',
  'exit "$code"',
].join('\n');

export type StopReason = 'cancel' | 'timeout' | 'lost' | 'shutdown';

export interface ProcessSpec {
  /** the program and its arguments, run without any shell interpreting them */
  argv: readonly string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stop the run (TERM, then KILL) after this long; none when absent */
  timeoutMs?: number;
  /** how long a stopped run has between TERM and KILL; default 5 s */
  killGraceMs?: number;
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
  private timeoutTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly spec: ProcessSpec) {
    const [file, ...args] = spec.argv;
    if (!file) throw new Error('a run needs a command to start');
    this.child = spawn('/bin/sh', ['-c', wrapper, 'ocr-run', file, ...args], {
      cwd: spec.cwd,
      env: spec.env,
      detached: true, // setsid: its own session and process group, whose id is the sh's pid
      stdio: ['pipe', 'pipe', 'pipe'],
    });
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

  /** TERM to the whole group now, KILL after the grace period if anything is left. The first reason given sticks. */
  stop(reason: StopReason, graceMs = this.spec.killGraceMs ?? defaultKillGraceMs): void {
    this.stoppedBy ??= reason;
    if (this.exited) return;
    this.signalGroup('SIGTERM');
    if (!this.killTimer) this.killTimer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
  }

  /** KILL to the whole group now: for a run this worker no longer holds, nothing may run a moment longer. */
  kill(reason: StopReason): void {
    this.stoppedBy ??= reason;
    this.signalGroup('SIGKILL');
  }

  /** True while any process of the run's group is alive. */
  groupAlive(): boolean {
    return this.pid > 0 && signalGroup(this.pid, 0);
  }

  private signalGroup(signal: NodeJS.Signals | 0): void {
    if (this.pid > 0) signalGroup(this.pid, signal);
  }

  private watch(): Promise<ProcessResult> {
    return new Promise<ProcessResult>((resolve, reject) => {
      this.child.once('error', (e) => {
        this.exited = true;
        this.clearTimers();
        reject(e);
      });
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        this.clearTimers();
        // Whatever the command left behind (a background job, a daemon in its group) ends with it.
        const killedLeftovers = signalGroup(this.pid, 0) && signalGroup(this.pid, 'SIGKILL');
        const exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
        const result: ProcessResult = {
          exitCode,
          signal,
          stoppedBy: this.stoppedBy,
          durationMs: performance.now() - this.started,
          killedLeftovers,
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

function streamClosed(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.closed) resolve();
    else stream.once('close', () => resolve());
  });
}
