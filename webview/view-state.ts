// What the page remembers across a window reload, through VS Code's getState/setState: the shown session, whether
// archived sessions are listed, and per lane the picked run, the executor, the unsent intent, the runbook step its log
// shows and where that log was scrolled. What comes back from getState is checked like any other input: a bad or old
// state means a fresh start.
import * as z from 'zod';
import type { WebviewApi } from './vscode';

export const LaneScroll = z.object({
  /** the run whose log was scrolled: the position means nothing for another run */
  runId: z.string(),
  /** index of the first visible line */
  topLine: z.number().int().min(0),
  follow: z.boolean(),
  /** the step whose lines were shown, null for all of them */
  step: z.string().nullable().default(null),
});
export type LaneScroll = z.infer<typeof LaneScroll>;

export const LaneState = z.object({
  selectedRunId: z.string().nullable().default(null),
  executorId: z.string().nullable().default(null),
  draft: z.string().max(100_000).default(''),
  scroll: LaneScroll.nullable().default(null),
  /** the runbook step whose lines the log shows, of the run it names */
  step: z.object({ runId: z.string(), stepId: z.string() }).nullable().default(null),
});
export type LaneState = z.infer<typeof LaneState>;

export const ViewState = z.object({
  version: z.literal(1),
  sessionId: z.string().nullable().default(null),
  showArchived: z.boolean().default(false),
  /** lane states by session then lane, the most recently shown session last */
  lanes: z.record(z.string(), z.record(z.string(), LaneState)).default({}),
  /** the comparison group the Compare view shows, in place of the lanes; null shows the lanes */
  compare: z.object({ sessionId: z.string(), groupId: z.string() }).nullable().default(null),
});
export type ViewState = z.infer<typeof ViewState>;

const rememberedSessions = 10;
const emptyLane: LaneState = { selectedRunId: null, executorId: null, draft: '', scroll: null, step: null };

export class ViewStore {
  private state: ViewState;
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly api: WebviewApi,
    private readonly console: Pick<Console, 'warn'> = globalThis.console,
  ) {
    const saved = api.getState();
    const parsed = ViewState.safeParse(saved);
    if (!parsed.success && saved !== undefined && saved !== null) this.console.warn('[runboard] ignored a saved view state that does not fit');
    this.state = parsed.success ? parsed.data : ViewState.parse({ version: 1 });
  }

  getState = (): ViewState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  lane(sessionId: string, lane: string): LaneState {
    return this.state.lanes[sessionId]?.[lane] ?? emptyLane;
  }

  setSession(sessionId: string | null): void {
    if (sessionId === this.state.sessionId) return;
    let lanes = this.state.lanes;
    if (sessionId) {
      // re-inserting moves the session to the end; the oldest beyond the limit are forgotten
      const { [sessionId]: own, ...rest } = lanes;
      const kept = Object.entries(rest).slice(-(rememberedSessions - 1));
      lanes = { ...Object.fromEntries(kept), [sessionId]: own ?? {} };
    }
    this.set({ ...this.state, sessionId, lanes });
  }

  /** Shows a comparison group of a session in the Compare view, or (null) the lanes again. */
  setCompare(compare: { sessionId: string; groupId: string } | null): void {
    const now = this.state.compare;
    if (now?.sessionId === compare?.sessionId && now?.groupId === compare?.groupId) return;
    this.set({ ...this.state, compare });
  }

  setShowArchived(showArchived: boolean): void {
    if (showArchived !== this.state.showArchived) this.set({ ...this.state, showArchived });
  }

  /**
   * Changes one lane's state. `quiet` saves without telling readers: scroll positions change on every scroll event and
   * only matter after a reload.
   */
  updateLane(sessionId: string, lane: string, patch: Partial<LaneState>, options: { quiet?: boolean } = {}): void {
    const session = this.state.lanes[sessionId] ?? {};
    const next = { ...this.lane(sessionId, lane), ...patch };
    this.set({ ...this.state, lanes: { ...this.state.lanes, [sessionId]: { ...session, [lane]: next } } }, options.quiet);
  }

  /** Writes what is pending now (the page is going away). */
  flush(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.api.setState(this.state);
  }

  private set(next: ViewState, quiet = false): void {
    this.state = next;
    // setState crosses to the editor's process: at most a few writes per second, the last one always.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.api.setState(this.state);
    }, 150);
    if (!quiet) for (const listener of [...this.listeners]) listener();
  }
}
