// Run logs inside the page. Lines arrive in batches from the host's followRun; each run's lines (RunLines) are kept in
// order and once each, the store asks again from the last line after a gap, and tells its readers at most once per
// animation frame. Logs are pulled: the page says which runs it shows, and only those are followed.
import type { FrameScheduler } from './frame';
import type { HostNotification, WebviewNotificationMethod, WebviewNotificationParams } from './protocol';
import { defaultMaxLines, RunLines } from './run-lines';

export interface LogOptions {
  /** lines kept per run; older ones are dropped (the whole log stays one click away: "Open as document") */
  maxLines: number;
  /** logs of runs no longer shown kept for a quick way back */
  keepHidden: number;
}

export const defaultLogOptions: LogOptions = { maxLines: defaultMaxLines, keepHidden: 12 };

export type LogHost = {
  notify<M extends Extract<WebviewNotificationMethod, 'followLog' | 'unfollowLog'>>(method: M, params: WebviewNotificationParams<M>): void;
};

export class LogStore {
  private readonly logs = new Map<string, RunLines>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private wanted = new Set<string>();
  /** runs the host is following for us */
  private readonly following = new Set<string>();
  /** the seq a repair was asked from, so a burst of batches after one gap asks once */
  private readonly repairing = new Map<string, number>();

  constructor(
    private readonly host: LogHost,
    private readonly frames: FrameScheduler,
    private readonly options: LogOptions = defaultLogOptions,
  ) {}

  get(runId: string): RunLines | undefined {
    return this.logs.get(runId);
  }

  /** For React: a number that changes when the run's log has new lines to show. */
  version = (runId: string): number => this.logs.get(runId)?.version ?? 0;

  subscribe(runId: string, listener: () => void): () => void {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }

  /**
   * The runs the page shows now: follow the new ones, stop following the others. `resync` (after a snapshot) follows
   * every shown run again from its last line: the host may have dropped lines while the page was hidden.
   */
  want(runIds: Iterable<string>, options: { resync?: boolean } = {}): void {
    const next = new Set(runIds);
    for (const id of this.following) {
      if (next.has(id)) continue;
      this.following.delete(id);
      this.repairing.delete(id);
      this.host.notify('unfollowLog', { run_id: id });
    }
    if (options.resync) this.repairing.clear();
    this.wanted = next;
    for (const id of next) {
      if (this.logs.get(id)?.ended) continue;
      if (options.resync || !this.following.has(id)) this.follow(id);
    }
    this.evict();
  }

  /**
   * A run the host follows without being asked: one this page has just queued (the host starts following it with its
   * answer). Its lines are kept from the first; the next `want` that leaves it out stops the follower as usual.
   */
  expect(runId: string): void {
    if (this.following.has(runId) || this.logs.get(runId)?.ended) return;
    this.ensure(runId);
    this.following.add(runId);
  }

  receive(n: Extract<HostNotification, { method: 'log' | 'logEnd' }>): void {
    const runId = n.params.run_id;
    // Lines of a run the page no longer shows are late arrivals of a follower already stopped.
    if (!this.wanted.has(runId) && !this.logs.has(runId)) return;
    const log = this.ensure(runId);
    if (n.method === 'logEnd') {
      if (this.repairing.has(runId)) return; // the repair's own follower will end it
      log.ended = true;
      this.following.delete(runId);
      this.changed(log);
      return;
    }
    const before = log.lastSeq;
    const outcome = log.append(n.params);
    if (log.lastSeq !== before) {
      if (this.repairing.get(runId) !== undefined && log.lastSeq > this.repairing.get(runId)!) this.repairing.delete(runId);
      this.changed(log);
    }
    if (outcome === 'gap' && this.repairing.get(runId) !== log.lastSeq && this.wanted.has(runId)) {
      this.repairing.set(runId, log.lastSeq);
      this.follow(runId);
    }
  }

  private follow(runId: string): void {
    const log = this.ensure(runId);
    this.following.add(runId);
    this.host.notify('followLog', { run_id: runId, after_seq: log.lastSeq });
  }

  private ensure(runId: string): RunLines {
    let log = this.logs.get(runId);
    if (!log) this.logs.set(runId, (log = new RunLines(runId, this.options.maxLines)));
    return log;
  }

  private changed(log: RunLines): void {
    this.frames.schedule(log.runId, () => {
      log.version++;
      for (const listener of [...(this.listeners.get(log.runId) ?? [])]) listener();
    });
  }

  private evict(): void {
    // Maps iterate in insertion order: the first hidden logs are the oldest.
    let hidden = [...this.logs.keys()].filter((id) => !this.wanted.has(id));
    while (hidden.length > this.options.keepHidden) {
      this.logs.delete(hidden[0]!);
      hidden = hidden.slice(1);
    }
  }
}
