// The page's controller: it connects the host client, the board, the logs and the remembered view, and offers the
// user's actions to the components. No React here, so the flow (ready → snapshot → deltas, which logs to follow) is
// testable on its own.
import { HostClient, type MessageSource } from './client';
import { FrameScheduler, type RequestFrame } from './frame';
import { laneNames, laneView, shownRun } from './lane';
import { LogStore, defaultLogOptions, type LogOptions } from './log-store';
import { type Comparison, defaultPriority, highPriority, type ExecutorOption } from '../domain';
import { protocolVersion, type HostNotification, type RequestResult } from './protocol';
import { StepLines } from './run-lines';
import { BoardStore } from './board-store';
import { ViewStore } from './view-state';
import type { WebviewApi } from './vscode';

export interface RunboardOptions {
  requestFrame?: RequestFrame;
  log?: Partial<LogOptions>;
  console?: Pick<Console, 'warn'>;
  clock?: () => number;
}

export class Runboard {
  readonly client: HostClient;
  readonly board: BoardStore;
  readonly view: ViewStore;
  readonly frames: FrameScheduler;
  readonly logs: LogStore;
  private readonly disposers: Array<() => void> = [];
  private applyingSnapshot = false;

  constructor(api: WebviewApi, source: MessageSource, options: RunboardOptions = {}) {
    this.frames = new FrameScheduler(options.requestFrame);
    this.client = new HostClient(api, source, { console: options.console, schedule: (drain) => this.frames.next(drain) });
    this.board = new BoardStore(options.clock);
    this.view = new ViewStore(api, options.console);
    this.logs = new LogStore(this.client, this.frames, { ...defaultLogOptions, ...options.log });
  }

  /** Listens, then says `ready`: the host answers with a snapshot. */
  start(): void {
    this.disposers.push(
      this.client.onNotification((n) => this.receive(n)),
      this.view.subscribe(() => {
        if (!this.applyingSnapshot) this.followShownRuns();
      }),
    );
    this.client.notify('ready', { protocol: protocolVersion, session_id: this.view.getState().sessionId });
  }

  dispose(): void {
    this.view.flush();
    for (const d of this.disposers.splice(0)) d();
    this.client.dispose();
  }

  private receive(n: HostNotification): void {
    if (n.method === 'log' || n.method === 'logEnd') {
      this.logs.receive(n);
      return;
    }
    if (n.method === 'showCompare') {
      this.view.setCompare({ sessionId: n.params.session_id, groupId: n.params.group_id });
      return;
    }
    const changed = this.board.apply(n);
    if (n.method === 'snapshot') {
      this.applyingSnapshot = true;
      try {
        this.view.setSession(n.params.session?.id ?? null);
      } finally {
        this.applyingSnapshot = false;
      }
      this.logs.want(this.followedRuns(), { resync: true });
    } else if (changed) this.followShownRuns();
  }

  /**
   * The runs whose logs the page follows: the run each lane shows and, in a lane where nothing runs, its next queued run
   * (its first lines are then in hand when the status change that shows it arrives, not asked for after it).
   */
  followedRuns(): Set<string> {
    const { session, runs } = this.board.getState();
    const followed = new Set<string>();
    if (!session) return followed;
    for (const name of laneNames(session, runs.values())) {
      const view = laneView(name, runs.values());
      const run = shownRun(view, this.view.lane(session.id, name).selectedRunId);
      if (run) followed.add(run.id);
      const next = view.queued[0]?.run;
      if (next && view.current?.status !== 'running') followed.add(next.id);
    }
    return followed;
  }

  private followShownRuns(): void {
    this.logs.want(this.followedRuns());
  }

  // ---- the user's actions -------------------------------------------------------------------------------------

  compare(groupId: string): Promise<Comparison> {
    return this.client.request('compare', { group_id: groupId });
  }

  /** "Compare in Lanes…": the editor asks the rest; the Compare view then shows the group queued. */
  async compareInLanes(sessionId: string): Promise<void> {
    const { group_id } = await this.client.request('compareInLanes', { session_id: sessionId });
    if (group_id) this.view.setCompare({ sessionId, groupId: group_id });
  }

  pickAttempt(runId: string): Promise<{ picked: boolean; message: string | null }> {
    return this.client.request('pickAttempt', { run_id: runId });
  }

  async selectSession(sessionId: string): Promise<void> {
    await this.client.request('selectSession', { session_id: sessionId });
  }

  async createSession(title: string, intent: string): Promise<string> {
    const { session_id } = await this.client.request('createSession', { title, intent });
    return session_id;
  }

  /** `followUp`: an agent run that continues the lane's last conversation */
  async run(lane: string, intent: string, executor: ExecutorOption, options: { first?: boolean; followUp?: boolean } = {}): Promise<string> {
    const session = this.board.getState().session;
    if (!session) throw new Error('no session is shown');
    const { run_id } = await this.client.request('run', {
      session_id: session.id,
      lane,
      intent,
      run_with: executor.run_with,
      priority: options.first ? highPriority : defaultPriority,
      ...(options.followUp && executor.run_with.executor === 'agent' ? { follow_up: true } : {}),
    });
    this.logs.expect(run_id);
    return run_id;
  }

  cancel(runId: string) {
    return this.client.request('cancelRun', { run_id: runId });
  }

  async retry(runId: string): Promise<string> {
    return (await this.client.request('retryRun', { run_id: runId })).run_id;
  }

  /** the run's diff, or the diff of one file of it (a path relative to the lane's worktree) */
  async openDiff(runId: string, path?: string): Promise<void> {
    await this.client.request('openDiff', path === undefined ? { run_id: runId } : { run_id: runId, path });
  }

  async applyDiff(runId: string): Promise<boolean> {
    return (await this.client.request('applyDiff', { run_id: runId })).applied;
  }

  async openLog(runId: string): Promise<void> {
    await this.client.request('openLog', { run_id: runId });
  }

  /** The lines the page holds (of one step, when named), without escapes. */
  async copyLog(runId: string, stepId: string | null = null): Promise<number> {
    const log = this.logs.get(runId);
    let lines: string[] = [];
    if (log && stepId === null) lines = log.plain;
    else if (log && stepId !== null) {
      const step = new StepLines(log, stepId);
      lines = Array.from({ length: step.length }, (_, i) => step.plainAt(i));
    }
    await this.client.request('copyText', { text: lines.join('\n') });
    return lines.length;
  }

  /** The run's whole log (the step's lines, when named) to a file the person picks. */
  exportLog(runId: string, format: 'text' | 'json', stepId: string | null = null): Promise<RequestResult<'exportLog'>> {
    return this.client.request('exportLog', { run_id: runId, format, step: stepId });
  }

  async openArtifact(runId: string, artifactId: string): Promise<void> {
    await this.client.request('openArtifact', { run_id: runId, artifact_id: artifactId });
  }

  async approve(runId: string): Promise<void> {
    await this.client.request('approveRun', { run_id: runId });
  }

  /** False when the person backed out of saying why. */
  async reject(runId: string): Promise<boolean> {
    return (await this.client.request('rejectRun', { run_id: runId })).rejected;
  }

  /** "Run Runbook…": the editor asks which runbook, and queues it in the lane. */
  async runRunbook(lane: string): Promise<void> {
    const session = this.board.getState().session;
    if (!session) throw new Error('no session is shown');
    await this.client.request('runRunbook', { session_id: session.id, lane });
  }

  /** "Land Lane…": the editor asks how, for the message and to confirm; false when the person backed out. */
  async landLane(lane: string): Promise<boolean> {
    const session = this.board.getState().session;
    if (!session) throw new Error('no session is shown');
    return (await this.client.request('landLane', { session_id: session.id, lane })).landed;
  }

  /** "Reset Lane": the lane starts again from the user's branch; false when the person backed out. */
  async resetLane(lane: string): Promise<boolean> {
    const session = this.board.getState().session;
    if (!session) throw new Error('no session is shown');
    return (await this.client.request('resetLane', { session_id: session.id, lane })).reset;
  }

  /** Shows a run of the lane's history, or the lane's current run again (null). */
  pickRun(lane: string, runId: string | null): void {
    const session = this.board.getState().session;
    if (session) this.view.updateLane(session.id, lane, { selectedRunId: runId });
  }

  /** Shows the lines of one step of the run in the lane's log, or all of them again (null). */
  pickStep(lane: string, runId: string, stepId: string | null): void {
    const session = this.board.getState().session;
    if (session) this.view.updateLane(session.id, lane, { step: stepId === null ? null : { runId, stepId } });
  }
}
