// The conflict radar in the editor: after a run of a session ends (its diff is then stored), and when a session is
// shown, the session's lanes on this machine are merged pairwise and with the user's branch (worker/lanes/conflicts.ts:
// temporary commits and `git merge-tree`, nothing checked out), debounced, one refresh per session at a time. The
// Sessions tree and the Runboard show what it found.
import { repoIdOf } from '../../worker/engine/repo';
import { laneConflicts, sessionLaneWorktrees } from '../../worker/lanes/conflicts';
import type { SessionConflicts } from '../../domain';
import type { Log } from '../log';
import { type Disposable, Emitter, type SessionsModel } from '../sessions/sessions-model';

export interface ConflictRadarOptions {
  /** how long after the last run ended to look (runs often end close together) */
  debounceMs?: number;
}

export class ConflictRadar implements Disposable {
  private readonly changed = new Emitter<string>();
  /** fires with a session id when what the radar knows of that session changed */
  readonly onDidChange = this.changed.event;
  private readonly found = new Map<string, SessionConflicts>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly subscription: Disposable;
  private disposed = false;

  constructor(
    private readonly model: SessionsModel,
    private readonly log: Log,
    private readonly options: ConflictRadarOptions = {},
  ) {
    this.subscription = model.onDidFinishRun((t) => this.refresh(t.run.session_id));
  }

  /** What the radar last found for the session; undefined before it has looked. */
  conflicts(sessionId: string): SessionConflicts | undefined {
    return this.found.get(sessionId);
  }

  /** Looks again soon (debounced); a look already under way is followed by one more. */
  refresh(sessionId: string, delayMs = this.options.debounceMs ?? 1500): void {
    if (this.disposed) return;
    clearTimeout(this.timers.get(sessionId));
    this.timers.set(
      sessionId,
      setTimeout(() => {
        this.timers.delete(sessionId);
        void this.look(sessionId);
      }, delayMs),
    );
  }

  /** Looks now, or once more right after the look under way; resolves when the session's findings are current. */
  look(sessionId: string): Promise<void> {
    const inFlight = this.running.get(sessionId);
    if (inFlight) {
      this.again.add(sessionId);
      return inFlight;
    }
    const task = (async () => {
      try {
        do {
          this.again.delete(sessionId);
          await this.lookOnce(sessionId);
        } while (this.again.has(sessionId) && !this.disposed);
      } finally {
        this.running.delete(sessionId);
      }
    })();
    this.running.set(sessionId, task);
    return task;
  }

  private async lookOnce(sessionId: string): Promise<void> {
    const session = this.model.session(sessionId);
    const base = { session_id: sessionId, checked_at: new Date().toISOString() };
    let result: SessionConflicts;
    if (!session?.repo_path || !session.repo_id) {
      result = { ...base, user_branch: null, conflicts: [], error: 'the session has no repository on this machine' };
    } else {
      try {
        if ((await repoIdOf(session.repo_path)) !== session.repo_id) throw new Error(`${session.repo_path} is no longer a clone of the session's repository`);
        const worktrees = await sessionLaneWorktrees(session.repo_path, session.id);
        if (worktrees.length === 0) {
          result = { ...base, user_branch: null, conflicts: [], error: null };
        } else {
          const radar = await laneConflicts({ repoPath: session.repo_path, worktrees });
          result = { ...base, user_branch: radar.userBranch.name, conflicts: radar.conflicts, error: null };
        }
      } catch (e) {
        this.log.warn(`conflict radar: session ${sessionId}: ${(e as Error).message}`);
        result = { ...base, user_branch: null, conflicts: [], error: (e as Error).message };
      }
    }
    if (this.disposed) return;
    const before = this.found.get(sessionId);
    this.found.set(sessionId, result);
    if (!before || JSON.stringify({ ...before, checked_at: '' }) !== JSON.stringify({ ...result, checked_at: '' })) {
      if (result.conflicts.length > 0) this.log.info(`conflict radar: session ${sessionId}: ${result.conflicts.map((c) => `${c.a}/${c.b}: ${c.files.join(', ')}`).join('; ')}`);
      this.changed.fire(sessionId);
    }
  }

  dispose(): void {
    this.disposed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.subscription.dispose();
    this.changed.dispose();
  }
}
