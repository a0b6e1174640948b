// What the Runboard page asks of the editor, answered by the same functions the palette and the tree's menus call
// (queueLaneRun, cancelRun, Open Lane Diff, Apply…, Approve Run, Reject Run, Run Runbook…): a run queued from the board
// is the run the palette would queue.
import type { CancelOutcome, Comparison, LaneRunRequest } from '../../domain';
import { OcrError } from '../../worker/store/errors';
import type { RequestHandlers } from '../../webview/protocol';

/** The editor's actions, as the Runboard uses them. */
export interface RunboardActions {
  /** starts a session on the workspace's repository and makes it active; answers its id */
  startSession(input: { title: string; intent: string }): Promise<string>;
  /** answers the new run's id */
  queueLaneRun(request: LaneRunRequest): Promise<string>;
  cancelRun(runId: string): Promise<CancelOutcome>;
  /** answers the new run's id */
  retryRun(runId: string): Promise<string>;
  /** every file of the run's diff, or only `path` (relative to the lane's worktree) when one is named */
  openDiff(runId: string, path?: string): Promise<void>;
  /** asks the person first; `nothing` when the run has no changes to apply, with why */
  applyDiff(runId: string): Promise<{ outcome: 'applied' | 'conflict' | 'declined' | 'nothing'; message?: string }>;
  openLog(runId: string): Promise<void>;
  copyText(text: string): Promise<void>;
  /** asks where (a save dialog), then writes the run's log (the step's lines only, when named); `saved` false when the person canceled */
  exportLog(request: { runId: string; format: 'text' | 'json'; step: string | null }): Promise<{ saved: boolean; lines: number; name: string | null }>;
  /** a file, log or manifest in a read-only editor, a link in the browser (http and https only), a diff in the diff editor */
  openArtifact(runId: string, artifactId: string): Promise<void>;
  approveRun(runId: string): Promise<void>;
  /** asks the person why first; false when they backed out */
  rejectRun(runId: string): Promise<boolean>;
  /** the command ocr.runRunbook, on the lane: it asks which runbook and its inputs, and queues the run */
  runRunbook(sessionId: string, lane: string): Promise<void>;
  /** the command ocr.landLane, on the lane: it asks how, for the message and to confirm; false when the person backed out */
  landLane(sessionId: string, lane: string): Promise<boolean>;
  /** the command ocr.resetLane, on the lane; false when the person backed out */
  resetLane(sessionId: string, lane: string): Promise<boolean>;
  /** the Compare table of a comparison group */
  compare(groupId: string): Promise<Comparison>;
  /** the command ocr.compareInLanes on the session: answers the group queued, or null when the person backed out */
  compareInLanes(sessionId: string): Promise<string | null>;
  /** the command ocr.pickAttempt on the run: lands it and archives the other attempts' branches, after asking */
  pickAttempt(runId: string): Promise<{ picked: boolean; message: string | null }>;
}

/** What the handlers need of the host: which session it shows. */
export interface SessionSwitcher {
  /** Makes the session the shown one; the snapshot follows the response. */
  selectSession(sessionId: string): Promise<void>;
  /** Shows a session that was just created, after the response. */
  showCreated(sessionId: string): void;
}

export function requestHandlers(actions: RunboardActions, host: SessionSwitcher): RequestHandlers {
  return {
    selectSession: async ({ session_id }) => {
      await host.selectSession(session_id);
      return {};
    },
    createSession: async ({ title, intent }) => {
      const sessionId = await actions.startSession({ title, intent });
      host.showCreated(sessionId);
      return { session_id: sessionId };
    },
    run: async (request) => ({ run_id: await actions.queueLaneRun(request) }),
    cancelRun: async ({ run_id }) => ({ outcome: await actions.cancelRun(run_id) }),
    retryRun: async ({ run_id }) => ({ run_id: await actions.retryRun(run_id) }),
    openDiff: async ({ run_id, path }) => {
      await (path === undefined ? actions.openDiff(run_id) : actions.openDiff(run_id, path));
      return {};
    },
    applyDiff: async ({ run_id }) => {
      const { outcome, message } = await actions.applyDiff(run_id);
      // A conflict or an empty diff was already explained in a notification; the page shows it beside the button too.
      if (outcome === 'conflict') throw new OcrError('patch_conflict', 'the changes do not apply to the workspace; nothing was changed');
      if (outcome === 'nothing') throw new OcrError('diff_unavailable', message || 'there are no changes to apply');
      return { applied: outcome === 'applied' };
    },
    openLog: async ({ run_id }) => {
      await actions.openLog(run_id);
      return {};
    },
    copyText: async ({ text }) => {
      await actions.copyText(text);
      return {};
    },
    exportLog: async ({ run_id, format, step }) => actions.exportLog({ runId: run_id, format, step }),
    openArtifact: async ({ run_id, artifact_id }) => {
      await actions.openArtifact(run_id, artifact_id);
      return {};
    },
    approveRun: async ({ run_id }) => {
      await actions.approveRun(run_id);
      return {};
    },
    rejectRun: async ({ run_id }) => ({ rejected: await actions.rejectRun(run_id) }),
    runRunbook: async ({ session_id, lane }) => {
      await actions.runRunbook(session_id, lane);
      return {};
    },
    landLane: async ({ session_id, lane }) => ({ landed: await actions.landLane(session_id, lane) }),
    resetLane: async ({ session_id, lane }) => ({ reset: await actions.resetLane(session_id, lane) }),
    compare: ({ group_id }) => actions.compare(group_id),
    compareInLanes: async ({ session_id }) => ({ group_id: await actions.compareInLanes(session_id) }),
    pickAttempt: ({ run_id }) => actions.pickAttempt(run_id),
  };
}
