// What the sessions and runs read so far say of the walkthrough's steps that no command or setting marks: pure, so
// that it is tested without VS Code.
import type { Run, Session } from '../../domain';

/** The context keys, as package.json's walkthrough names them. */
export const progressKeys = {
  /** a session is open (the Sessions view shows one) */
  hasSession: 'ocr.walkthrough.hasSession',
  /** a run in the first lane of its session (lane A by default) has ended */
  firstLaneRunEnded: 'ocr.walkthrough.firstLaneRunEnded',
  /** a run was given to a coding agent */
  agentRunQueued: 'ocr.walkthrough.agentRunQueued',
} as const;

export type ProgressKey = keyof typeof progressKeys;
export type Progress = Record<ProgressKey, boolean>;

/** What the sessions and runs read so far say of each key. Once true, a key stays true for the window. */
export function progressOf(sessions: readonly Session[], runsOf: (sessionId: string) => readonly Run[]): Progress {
  let firstLaneRunEnded = false;
  let agentRunQueued = false;
  for (const session of sessions) {
    const firstLane = session.lanes[0];
    for (const run of runsOf(session.id)) {
      if (run.lane === firstLane && run.finished_at !== null) firstLaneRunEnded = true;
      if (run.executor === 'agent') agentRunQueued = true;
    }
  }
  return { hasSession: sessions.length > 0, firstLaneRunEnded, agentRunQueued };
}

