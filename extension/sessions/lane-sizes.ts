// What each lane's worktree takes on disk, for the Sessions tree: measured in the background (an asynchronous walk of the
// folder in the extension host, never the window's UI; one lane at a time), kept, and measured again at most every
// 30 s while the tree asks, or as soon as a run of the lane has ended. Needs no VS Code, so it is tested like the store.
import { laneFolder } from '../../worker/engine/worktree';
import { type DiskUsage, laneDiskUsage } from '../../worker/lanes/disk-usage';

export interface LaneSize {
  folder: string;
  /** nothing counted (entries 0): the lane has no folder under the root */
  usage: DiskUsage;
  /** when the measure ended (ms since the epoch) */
  measuredAt: number;
}

interface Entry {
  size?: LaneSize;
  /** measure it again before showing it for long: a run ended since */
  stale: boolean;
  measuring: boolean;
}

export interface LaneSizesOptions {
  /** the editor worker's worktree root, read when a lane is measured (the setting may change) */
  root: () => string;
  /** a measure ended: show it */
  onDidMeasure: () => void;
  /** the longest a size is shown before it is measured again; default 30 s */
  maxAgeMs?: number;
  measure?: (folder: string) => Promise<DiskUsage>;
  now?: () => number;
}

export class LaneSizes {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private running = false;
  private disposed = false;
  private readonly maxAgeMs: number;
  private readonly measure: (folder: string) => Promise<DiskUsage>;
  private readonly now: () => number;

  constructor(private readonly options: LaneSizesOptions) {
    this.maxAgeMs = options.maxAgeMs ?? 30_000;
    this.measure = options.measure ?? ((folder) => laneDiskUsage(folder));
    this.now = options.now ?? Date.now;
  }

  /** The lane's last size, if measured; asks for a new measure when there is none, it is too old, or a run ended since. */
  get(sessionId: string, lane: string): LaneSize | undefined {
    const folder = laneFolder(this.options.root(), sessionId, lane);
    const entry = this.entries.get(folder) ?? { stale: true, measuring: false };
    this.entries.set(folder, entry);
    const old = !entry.size || this.now() - entry.size.measuredAt >= this.maxAgeMs;
    if ((old || entry.stale) && !entry.measuring) this.enqueue(folder, entry);
    return entry.size;
  }

  /** A run of the lane ended: its size is measured again now. */
  runEnded(sessionId: string, lane: string): void {
    const folder = laneFolder(this.options.root(), sessionId, lane);
    const entry = this.entries.get(folder);
    if (!entry) return; // never shown: measured when it is
    entry.stale = true;
    if (!entry.measuring) this.enqueue(folder, entry);
  }

  private enqueue(folder: string, entry: Entry): void {
    entry.measuring = true;
    entry.stale = false;
    this.queue.push(folder);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let folder = this.queue.shift(); folder !== undefined && !this.disposed; folder = this.queue.shift()) {
        const entry = this.entries.get(folder);
        if (!entry) continue;
        try {
          const usage = await this.measure(folder);
          entry.size = { folder, usage, measuredAt: this.now() };
        } catch {
          // a folder that cannot be read shows no size (nothing counted); looked at again after maxAge
          entry.size = { folder, usage: { bytes: 0, entries: 0, symlinks: 0, sharedFiles: 0, sharedBytes: 0, unreadable: 1 }, measuredAt: this.now() };
        } finally {
          entry.measuring = false;
        }
        if (!this.disposed) this.options.onDidMeasure();
        // a run that ended while it was measured: once more
        if (entry.stale) this.enqueue(folder, entry);
      }
    } finally {
      this.running = false;
    }
  }

  dispose(): void {
    this.disposed = true;
    this.queue.length = 0;
  }
}
