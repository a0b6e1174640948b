// A follow-up: the lane's next agent run continues the lane's last conversation, so a lane is a conversation and not
// one shot. The palette, the Runboard, `ocr run --follow-up`, the tools for other agents and the editor's Reply to a
// needs-input notification all decide it here.
import { lastConversation, shortId } from '../../domain';
import type { Store } from '../store/store';

/** How a follow-up goes on: the conversation it resumes, or why it starts a new one. */
export type FollowUp =
  /** allowedTools: what the conversation was already allowed (a follow-up keeps it, so an Allow is not asked again) */
  | { kind: 'continues'; sessionId: string; profile: string; fromRunId: string; allowedTools?: string[] }
  | { kind: 'new'; reason: string };

/** How many of a lane's newest runs are looked through for its last conversation. */
const lookBack = 200;

/**
 * The conversation a follow-up in `lane` continues: the lane's newest run whose agent recorded a session id. It
 * continues only with the same profile (another CLI cannot resume it); with no profile asked for it takes that run's.
 * The worktree is the lane's own, so the same lane means the same worktree.
 */
export async function followUpOf(store: Store, sessionId: string, lane: string, profile: string | undefined): Promise<FollowUp> {
  const runs = await store.listRuns({ sessionId, lane, limit: lookBack });
  const last = lastConversation(runs);
  if (!last) return { kind: 'new', reason: `lane ${lane} has no agent conversation to continue yet` };
  const agent = last.agent!;
  if (profile !== undefined && profile !== agent.profile) {
    return { kind: 'new', reason: `lane ${lane}'s last conversation (run ${shortId(last.id)}) is with profile "${agent.profile}", not "${profile}"` };
  }
  const allowed = last.spec.allowedTools;
  const allowedTools = Array.isArray(allowed) ? allowed.filter((t): t is string => typeof t === 'string') : [];
  return { kind: 'continues', sessionId: agent.sessionId!, profile: agent.profile, fromRunId: last.id, ...(allowedTools.length > 0 ? { allowedTools } : {}) };
}

/** One line for the person who asked: "continues the claude conversation of run 1a2b3c4d" / "started a new conversation: …". */
export function followUpText(followUp: FollowUp): string {
  return followUp.kind === 'continues'
    ? `continues the ${followUp.profile} conversation of run ${shortId(followUp.fromRunId)}`
    : `started a new conversation: ${followUp.reason}`;
}
