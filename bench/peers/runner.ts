// The parent's side of one (system, scenario) run: a fresh database, a producer process and worker processes of the
// system, and the ledger their handlers' events fill. Everything it starts, it stops: processes and the database.
import { type ChildProcess, fork } from 'node:child_process';
import { createTestDatabase } from '../../worker/store/testing';
import type { ChildConfig, ChildMessage, ParentMessage, ProducerRequest } from './protocol';
import { Ledger } from './stats';
import type { CallStat, Job, Plan, Profile } from './systems/types';
import type { SystemName } from './config';

/** One system as it runs: which release, from where, under which Node. */
export interface Target {
  system: SystemName;
  /** folder the peer is resolved from (undefined: the project's own dependencies) */
  peerBase?: string;
  /** the Node binary for its processes (undefined: this one) */
  execPath?: string;
  version: string;
  node: string;
}

const live = new Set<ChildProcess>();
const databases = new Set<() => Promise<void>>();

/** Kills whatever is still running and drops what is left; for an interrupted benchmark. */
export async function cleanUpEverything(): Promise<void> {
  for (const c of live) c.kill('SIGKILL');
  await Promise.all([...databases].map((drop) => drop().catch(() => undefined)));
}

class Child {
  readonly proc: ChildProcess;
  readonly ready: Promise<{ version: string; node: string }>;
  readonly exited: Promise<void>;
  private startedResolve!: () => void;
  private statsWaiters: Array<(s: CallStat[]) => void> = [];
  readonly started: Promise<void>;
  private nextId = 1;
  private readonly replies = new Map<number, { resolve: (v: { value: unknown; at: number }) => void; reject: (e: Error) => void }>();
  exitCode: number | null = null;
  killed = false;

  constructor(target: Target, config: ChildConfig, onEvents: (events: Extract<ChildMessage, { t: 'events' }>['events']) => void, onFatal: (e: string) => void) {
    this.proc = fork(__filename, ['child', JSON.stringify(config)], {
      execPath: target.execPath ?? process.execPath,
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(this.proc);
    this.started = new Promise((r) => (this.startedResolve = r));
    let readyResolve!: (v: { version: string; node: string }) => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => ((readyResolve = res), (readyReject = rej)));
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code) => {
        live.delete(this.proc);
        this.exitCode = code;
        readyReject(new Error(`${config.role} ${config.workerId} exited with ${code} before it was ready`));
        for (const r of this.replies.values()) r.reject(new Error(`${config.role} exited with ${code}`));
        this.replies.clear();
        resolve();
      });
    });
    this.proc.on('message', (m: ChildMessage) => {
      switch (m.t) {
        case 'ready':
          readyResolve({ version: m.version, node: m.node });
          break;
        case 'started':
          this.startedResolve();
          break;
        case 'events':
          onEvents(m.events);
          break;
        case 'reply': {
          const r = this.replies.get(m.id);
          this.replies.delete(m.id);
          if (m.ok) r?.resolve({ value: m.value, at: m.at });
          else r?.reject(new Error(m.error));
          break;
        }
        case 'fatal':
          onFatal(m.error);
          break;
        case 'stats':
          for (const w of this.statsWaiters.splice(0)) w(m.stats);
          break;
      }
    });
  }

  send(m: ParentMessage): void {
    if (this.proc.connected) this.proc.send(m);
  }

  request(req: DistributiveOmit<ProducerRequest, 'id'>): Promise<{ value: unknown; at: number }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.replies.set(id, { resolve, reject });
      this.send({ t: 'req', id, ...req } as ParentMessage);
    });
  }

  /** What the worker's system reports about its database calls; empty when it reports nothing or does not answer. */
  stats(ms = 2000): Promise<CallStat[]> {
    if (!this.proc.connected) return Promise.resolve([]);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve([]), ms);
      this.statsWaiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.send({ t: 'stats' });
    });
  }

  kill(): void {
    this.killed = true;
    this.proc.kill('SIGKILL');
  }

  /** Asks it to stop, then kills it if it has not within `ms`. */
  async stop(ms = 10_000): Promise<void> {
    if (this.exitCode !== null || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.send({ t: 'stop' });
    const timer = setTimeout(() => this.kill(), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;

export interface FleetOptions {
  target: Target;
  plan: Plan;
  profile: Profile;
  concurrency: number;
  leaseSeconds: number | null;
}

/** One run of one scenario on one system. */
export class Fleet {
  readonly ledger = new Ledger();
  readonly workers: Child[] = [];
  private producer!: Child;
  private db!: { url: string; drop(): Promise<void> };
  private waiters: Array<{ check: () => boolean; resolve: (ok: boolean) => void }> = [];
  private fatal: string | undefined;
  private constructor(readonly options: FleetOptions) {}

  static async open(options: FleetOptions): Promise<Fleet> {
    const f = new Fleet(options);
    f.db = await createTestDatabase('ocr_peers');
    databases.add(f.db.drop);
    try {
      f.producer = f.child('producer', 'producer');
      await f.producer.ready;
      await f.producer.request({ op: 'prepare' });
    } catch (e) {
      await f.close();
      throw e;
    }
    return f;
  }

  private child(role: 'producer' | 'worker', workerId: string, index = -1): Child {
    const o = this.options;
    const config: ChildConfig = {
      role,
      system: o.target.system,
      ...(o.target.peerBase ? { peerBase: o.target.peerBase } : {}),
      url: this.db.url,
      workerId,
      concurrency: o.concurrency,
      profile: o.profile,
      leaseSeconds: o.leaseSeconds,
      plan: o.plan,
    };
    return new Child(
      o.target,
      config,
      (events) => {
        for (const [kind, key, at] of events) {
          if (kind === 's') this.ledger.start(key, index, at);
          else this.ledger.end(key, index, at, kind === 'c');
        }
        this.check();
      },
      (error) => {
        this.fatal ??= `${role} ${workerId}: ${error}`;
        console.error(this.fatal);
        this.check();
      },
    );
  }

  /** Forks `count` more workers and waits until each has loaded its system (not started it: see go()). */
  async addWorkers(count: number): Promise<Child[]> {
    const added = Array.from({ length: count }, () => {
      const index = this.workers.length;
      const c = this.child('worker', `w${index}-${process.pid}`, index);
      this.workers.push(c);
      return c;
    });
    await Promise.all(added.map((c) => c.ready));
    return added;
  }

  /** Starts the system's worker in each of these processes; resolves when all have started. */
  async go(workers: Child[] = this.workers): Promise<void> {
    for (const w of workers) w.send({ t: 'go' });
    const failed = this.failed();
    try {
      await Promise.race([Promise.all(workers.map((w) => w.started)), failed.promise]);
    } finally {
      failed.cancel();
    }
  }

  private failed(): { promise: Promise<never>; cancel(): void } {
    let tick: NodeJS.Timeout | undefined;
    const promise = new Promise<never>((_, reject) => {
      tick = setInterval(() => {
        if (this.fatal) {
          clearInterval(tick);
          reject(new Error(this.fatal));
        }
      }, 50);
    });
    return { promise, cancel: () => clearInterval(tick) };
  }

  enqueue(jobs: Job[]): Promise<unknown> {
    return this.producer.request({ op: 'enqueue', jobs });
  }

  /** Queues one run; answers the time just before the system was asked. */
  async enqueueOne(job: Job): Promise<number> {
    return (await this.producer.request({ op: 'enqueueOne', job })).at;
  }

  /** Cancels one run; answers the time just before the system was asked. */
  async cancel(key: number): Promise<number> {
    return (await this.producer.request({ op: 'cancel', key })).at;
  }

  async unfinished(): Promise<number> {
    return Number((await this.producer.request({ op: 'unfinished' })).value);
  }

  /** Resolves true once `check` holds (re-evaluated on every batch of events), false after `ms`. */
  until(check: () => boolean, ms: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    if (this.fatal) return Promise.reject(new Error(this.fatal));
    return new Promise((resolve) => {
      const waiter = {
        check,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), ms);
      this.waiters.push(waiter);
    });
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (this.fatal || w.check()) w.resolve(!this.fatal && w.check());
    }
  }

  /** The workers' call statistics summed, as one line for the notes; null when the system reports none. */
  async workerStats(): Promise<string | null> {
    const all = (await Promise.all(this.workers.map((w) => w.stats()))).flat();
    if (all.length === 0) return null;
    const sums = new Map<string, CallStat>();
    for (const s of all) {
      const t = sums.get(s.name) ?? { name: s.name, calls: 0, totalMs: 0, items: 0 };
      t.calls += s.calls;
      t.totalMs += s.totalMs;
      t.items += s.items;
      sums.set(s.name, t);
    }
    const parts = [...sums.values()]
      .filter((s) => s.calls > 0)
      .map((s) => `${s.name} ${s.calls.toLocaleString('en')} × ${(s.totalMs / s.calls).toFixed(1)} ms (${(s.items / s.calls).toFixed(1)} runs each)`);
    return parts.length ? `calls: ${parts.join(', ')}` : null;
  }

  get failure(): string | undefined {
    return this.fatal;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
    if (this.producer) await this.producer.stop();
    if (this.db) {
      await this.db.drop().catch((e: Error) => console.error(`dropping ${this.db.url} failed: ${e.message}`));
      databases.delete(this.db.drop);
    }
  }
}
