// The worker processes of one phase: the real `ocr worker` of dist/ocr.js, one per slot, on the host or (one slot in
// the machine phase) inside the network namespace. Each reports with --json on its stdout; the ledger keeps what they
// said (which runs each started, at which attempt, how each ended for it, what went wrong). A killed worker's slot gets
// a fresh process a moment later; a worker that exits by itself is recorded, and replaced too.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Config, PhaseName } from './config';
import { isShuttingDown, track } from './cleanup';
import { ocrJs } from './ocr';

export interface Start {
  worker: string;
  attempt: number;
  at: number;
}

export interface End {
  worker: string;
  /** succeeded, failed, canceled: the database took the end; lost: the worker gave the run up, or its end was refused */
  status: string;
  error: string | null;
  at: number;
}

export interface UnexpectedExit {
  worker: string;
  at: number;
  code: number | null;
  signal: string | null;
  lastLines: string[];
}

/** What the workers of a phase said, by run and by worker. */
export class Ledger {
  readonly starts = new Map<string, Start[]>();
  readonly ends = new Map<string, End[]>();
  /** runs a worker started and has not reported ended, by worker */
  private readonly holding = new Map<string, Set<string>>();
  /** the workers' own log lines, counted by kind */
  readonly logKinds = new Map<string, number>();
  /** log lines that name runs_one_running_per_lane: a claim the index refused */
  readonly indexRefusals: string[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** "the embedded database started again" and the like, from the workers' stderr */
  readonly embeddedRestarts: Array<{ worker: string; at: number; line: string }> = [];

  started(worker: string, runId: string, attempt: number): void {
    push(this.starts, runId, { worker, attempt, at: Date.now() });
    let held = this.holding.get(worker);
    if (!held) this.holding.set(worker, (held = new Set()));
    held.add(runId);
  }

  ended(worker: string, runId: string, status: string, error: string | null): void {
    push(this.ends, runId, { worker, status, error, at: Date.now() });
    this.holding.get(worker)?.delete(runId);
  }

  held(worker: string): string[] {
    return [...(this.holding.get(worker) ?? [])];
  }

  log(worker: string, message: string): void {
    const kind = logKind(message);
    this.logKinds.set(kind, (this.logKinds.get(kind) ?? 0) + 1);
    if (message.includes('runs_one_running_per_lane')) this.indexRefusals.push(`${worker}: ${message}`);
  }
}

/** A worker's log line, by what it says (run ids and details left out). */
function logKind(message: string): string {
  const kind = kindOf(message);
  return message.includes('deadlock detected') ? `${kind} (deadlock detected)` : kind;
}

function kindOf(message: string): string {
  if (/^heartbeat failed/.test(message)) return 'heartbeat failed';
  if (/^recording \d+ end\(s\) and claiming failed/.test(message)) return 'finish/claim statement failed';
  if (/^run \S+: lease expired, requeued/.test(message)) return 'expired lease requeued';
  if (/^run \S+: lease expired, failed/.test(message)) return 'expired lease failed (attempts used up)';
  if (/^run \S+: lease expired/.test(message)) return 'expired lease recovered';
  if (/^run \S+: its end \(\w+\) was not recorded/.test(message)) return 'end refused (lease gone)';
  if (/^run \S+: the heartbeat says another worker holds it now/.test(message)) return 'lease lost (heartbeat)';
  if (/^run \S+: no heartbeat reached the database/.test(message)) return 'lease given up (no heartbeat for a lease)';
  if (/^run \S+: the database refused a log write/.test(message)) return 'lease lost (log write refused)';
  if (/^recovering expired leases failed/.test(message)) return 'recovery statement failed';
  if (/^passing on a queue notification failed/.test(message)) return 'wake-up failed';
  if (/^looking for the sessions' repositories failed/.test(message)) return 'session lookup failed';
  if (/^could not /.test(message)) return message.split(':')[0]!;
  return message.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '…').slice(0, 60);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly started: Promise<boolean>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  killedByUs = false;
  stopping = false;
  isStarted = false;
  /** when it said it had stopped (drained, every end recorded) */
  stoppedAt: number | undefined;
  private readonly tail: string[] = [];
  private readonly logFile: WriteStream;

  constructor(
    readonly id: string,
    readonly slot: number,
    argv: string[],
    logDir: string,
    ledger: Ledger,
  ) {
    this.logFile = createWriteStream(path.join(logDir, `${id}.log`));
    const [file, ...args] = argv;
    this.child = track(
      spawn(file!, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        // runs get an allow-listed environment anyway; the worker's own debug log names restarts of the embedded server
        env: { ...process.env, SHELL: '/bin/sh', OCR_DEBUG: '1', OCR_DATABASE_URL: '' },
      }),
    );
    let onStarted!: (ok: boolean) => void;
    this.started = new Promise((resolve) => (onStarted = resolve));
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.logFile.write(`${line}\n`);
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.remember(line);
        return;
      }
      switch (m.event) {
        case 'started':
          this.isStarted = true;
          onStarted(true);
          break;
        case 'stopped':
          this.stoppedAt = Date.now();
          break;
        case 'run_started':
          ledger.started(id, String(m.run_id), Number(m.attempt));
          break;
        case 'run_finished':
          ledger.ended(id, String(m.run_id), String(m.status), typeof m.error === 'string' ? m.error : null);
          break;
        case 'log':
          ledger.log(id, String(m.message));
          this.remember(String(m.message));
          break;
      }
    });
    readline.createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.logFile.write(`${line}\n`);
      this.remember(line);
      if (/the embedded database (started again|answers again)|starting it again|could not start the embedded database/.test(line)) {
        ledger.embeddedRestarts.push({ worker: id, at: Date.now(), line: line.replace(/^ocr: /, '') });
      }
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        onStarted(false);
        this.logFile.end();
        resolve({ code, signal });
      });
    });
  }

  get lastLines(): string[] {
    return [...this.tail];
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 8) this.tail.shift();
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(): void {
    this.killedByUs = true;
    this.child.kill('SIGKILL');
  }

  /**
   * SIGTERM: the worker drains (its runs get the grace period) and exits. SIGKILL if it has not exited within `ms`,
   * or 5 s after it said it had stopped (nothing is left for it to do then).
   */
  async stop(ms: number): Promise<{ worker: string; exitMs: number; killed: boolean; afterStoppedMs?: number } | undefined> {
    if (!this.alive) return undefined;
    this.stopping = true;
    const t0 = Date.now();
    let killed = false;
    this.child.kill('SIGTERM');
    const timer = setInterval(() => {
      const now = Date.now();
      if (now - t0 < ms && (this.stoppedAt === undefined || now - this.stoppedAt < 5000)) return;
      killed = this.killedByUs = true;
      this.child.kill('SIGKILL');
    }, 250);
    await this.exited;
    clearInterval(timer);
    return { worker: this.id, exitMs: Date.now() - t0, killed, ...(this.stoppedAt !== undefined ? { afterStoppedMs: Date.now() - this.stoppedAt } : {}) };
  }
}

export interface Placement {
  /** the --db the worker gets */
  db: string;
  /** wraps the command line (ip netns exec …) */
  wrap?: (argv: string[]) => string[];
  label: string;
}

/** A slot: one worker process at a time, replaced when it is killed or dies. */
export class Slot {
  current: WorkerProcess | undefined;
  generation = 0;
  constructor(
    readonly index: number,
    readonly placement: Placement,
  ) {}
}

export class Fleet {
  readonly slots: Slot[];
  readonly ledger = new Ledger();
  readonly everyWorker: WorkerProcess[] = [];
  private closing = false;

  constructor(
    private readonly phase: PhaseName,
    private readonly cfg: Config,
    placements: Placement[],
    private readonly root: string,
    private readonly say: (line: string) => void,
  ) {
    mkdirSync(path.join(root, 'logs'), { recursive: true });
    this.slots = placements.map((p, i) => new Slot(i, p));
  }

  get logDir(): string {
    return path.join(this.root, 'logs');
  }

  /** Starts a worker in every slot and waits until each has said it started. */
  async startAll(): Promise<void> {
    const started = await Promise.all(this.slots.map((s) => this.launch(s).started));
    if (started.some((ok) => !ok)) {
      const failed = this.everyWorker.filter((w) => !w.isStarted).map((w) => `${w.id}: ${w.lastLines.slice(-3).join(' / ')}`);
      throw new Error(`worker(s) did not start: ${failed.join('; ')}`);
    }
  }

  private launch(slot: Slot): WorkerProcess {
    slot.generation++;
    const id = `${this.phase[0]}-w${slot.index}${slot.placement.wrap ? 'ns' : ''}.${slot.generation}`;
    const argv = [
      process.execPath,
      ocrJs(),
      '--json',
      '--db',
      slot.placement.db,
      'worker',
      '--id',
      id,
      '--concurrency',
      String(this.cfg.concurrency),
      '--lease',
      String(this.cfg.leaseSeconds),
      '--grace',
      String(this.cfg.graceSeconds),
      '--worktrees',
      path.join(this.root, 'worktrees', `w${slot.index}`),
    ];
    const w = new WorkerProcess(id, slot.index, slot.placement.wrap ? slot.placement.wrap(argv) : argv, this.logDir, this.ledger);
    slot.current = w;
    this.everyWorker.push(w);
    void w.exited.then(({ code, signal }) => {
      if (w.killedByUs || w.stopping || this.closing || isShuttingDown()) return;
      this.ledger.unexpectedExits.push({ worker: w.id, at: Date.now(), code, signal, lastLines: w.lastLines });
      this.say(`worker ${w.id} exited by itself (code ${code}, signal ${signal}): ${w.lastLines.slice(-2).join(' / ')}`);
      if (slot.generation < 50) setTimeout(() => !this.closing && slot.current === w && this.launch(slot), this.cfg.replaceAfterMs);
    });
    return w;
  }

  live(): WorkerProcess[] {
    return this.slots.map((s) => s.current).filter((w): w is WorkerProcess => Boolean(w?.alive && w.isStarted));
  }

  /** SIGKILLs the slot's worker; a fresh one starts in the slot `replaceAfterMs` later. Answers what it held. */
  async kill(slot: Slot): Promise<{ worker: string; held: string[]; replacement: Promise<string> }> {
    const w = slot.current!;
    const held = this.ledger.held(w.id);
    w.kill();
    await w.exited;
    const replacement = new Promise<string>((resolve) => {
      setTimeout(() => {
        if (this.closing) return resolve('(none: the phase ended)');
        const next = this.launch(slot);
        void next.started.then(() => resolve(next.id));
      }, this.cfg.replaceAfterMs);
    });
    return { worker: w.id, held, replacement };
  }

  /** Every worker drains and exits (they hold nothing by now: every run has ended). */
  async stopAll(): Promise<Array<{ worker: string; exitMs: number; killed: boolean; afterStoppedMs?: number }>> {
    this.closing = true;
    const ms = (this.cfg.graceSeconds + this.cfg.leaseSeconds + 15) * 1000;
    const stops = await Promise.all(this.everyWorker.map((w) => w.stop(ms)));
    return stops.filter((x) => x !== undefined);
  }
}
