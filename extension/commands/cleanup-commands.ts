// OCR: Clean Up Session: removes an archived session's lane worktrees from this machine and, unless the person keeps
// them, its lane branches. From the palette it lists the archived sessions that have worktrees here, and the worktrees
// of sessions gone from the database (what `ocr worktrees prune` removes), each with its size on disk. An active
// session is refused: archive it first.
import * as vscode from 'vscode';
import { z } from 'zod';
import { type Session, shortId } from '../../domain';
import { type CleanResult, cleanSessionWorktrees, sessionShortId } from '../../worker/engine/worktree';
import { formatBytes } from '../../domain';
import { type LaneWorktree, listLaneWorktrees, pruneLaneWorktrees } from '../../worker/lanes/lane-worktrees';
import { OcrError } from '../../worker/store/errors';
import { editorWorktreeRoot, SessionNode } from '../sessions/sessions-tree';
import type { CommandContext } from './context';
import { register } from './register';

/** From a script: which session (or, for worktrees whose session is gone, its short id), and the answer to the question. */
export const CleanUpArg = z
  .object({
    sessionId: z.string().uuid().optional(),
    shortId: z.string().regex(/^[0-9a-f]{8}$/, 'the first 8 hex digits of the session id, as its worktree folder names it').optional(),
    /** keep the lane branches (answers the confirmation: none is asked) */
    keepBranches: z.boolean().optional(),
  })
  .refine((a) => Boolean(a.sessionId) !== Boolean(a.shortId), 'name a sessionId or a shortId, one of the two');
type CleanUpArg = z.infer<typeof CleanUpArg>;

/** What is cleaned: an archived session, or the worktrees of one the database no longer has. */
interface Target {
  label: string;
  shortId: string;
  session?: Session;
  /** its lane worktrees under the editor's worktree root */
  lanes: LaneWorktree[];
}

const removeAll = 'Remove Worktrees and Branches';
const keepBranchesChoice = 'Remove Worktrees, Keep Branches';

export function registerCleanupCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.cleanUpSession', async (arg?: unknown) => {
      const store = await ctx.store();
      const root = editorWorktreeRoot();
      const given = arg === undefined ? undefined : arg instanceof SessionNode ? { sessionId: arg.session.id } : CleanUpArg.parse(arg);
      const target = given ? await targetOf(ctx, given, root) : await pickTarget(ctx, root);
      if (!target) return undefined;
      if (target.session && target.session.status !== 'archived') {
        throw new OcrError(
          'invalid_state',
          `session "${target.session.title}" is active: Clean Up removes the worktrees of archived sessions only`,
          'archive it first (OCR: Archive Session), then clean it up',
        );
      }
      const [state] = await store.worktreeSessions([target.shortId]);
      if (state && state.status === 'archived' && state.running > 0) {
        throw new OcrError('invalid_state', `session "${target.label}" still has ${state.running} run${state.running === 1 ? '' : 's'} stopping`, 'clean it up again in a moment');
      }
      let keepBranches = given && 'keepBranches' in given ? given.keepBranches : undefined;
      if (keepBranches === undefined) {
        const size = target.lanes.reduce((sum, l) => sum + (l.usage?.bytes ?? 0), 0);
        const count = target.lanes.length;
        const answer = await vscode.window.showWarningMessage(
          `Clean up "${target.label}"? ${count > 0 ? `Its ${count} lane worktree${count === 1 ? '' : 's'} on this machine (${formatBytes(size)}) are deleted` : 'Its lane worktrees are deleted'}, with any changes in them; its branches ocr/${target.shortId}/… go too unless you keep them.`,
          { modal: true },
          removeAll,
          keepBranchesChoice,
        );
        if (answer === undefined) return undefined;
        keepBranches = answer === keepBranchesChoice;
      }
      const result = target.session
        ? await cleanSessionWorktrees(target.session, { worktreeRoot: root, keepBranches })
        : mergeResults((await pruneLaneWorktrees(store, root, { keepBranches, lanes: target.lanes })).sessions.map((s) => s.cleaned));
      const removed = result.removedWorktrees.length || result.removedFolders.length;
      ctx.log.info(`cleaned up session ${target.shortId}: ${JSON.stringify(result)}`);
      void vscode.window.showInformationMessage(
        removed === 0 && result.deletedBranches.length === 0
          ? `"${target.label}" had no worktrees or branches on this machine.`
          : `Removed ${removed} worktree${removed === 1 ? '' : 's'}${result.deletedBranches.length ? ` and ${result.deletedBranches.length} branch${result.deletedBranches.length === 1 ? '' : 'es'}` : ''} of "${target.label}".`,
      );
      return result;
    }),
  ];
}

async function targetOf(ctx: CommandContext, arg: CleanUpArg, root: string): Promise<Target> {
  const store = await ctx.store();
  if (arg.sessionId) {
    const session = await store.getSession(arg.sessionId);
    const short = sessionShortId(session.id);
    return { label: session.title, shortId: short, session, lanes: (await listLaneWorktrees(store, root, { sizes: true })).filter((l) => l.shortId === short) };
  }
  const short = arg.shortId!;
  const lanes = (await listLaneWorktrees(store, root, { sizes: true })).filter((l) => l.shortId === short);
  if (lanes.length === 0) throw new OcrError('not_found', `no lane worktrees of session ${short} under ${root}`, 'OCR: Clean Up Session from the palette lists what there is');
  if (lanes.some((l) => l.state !== 'missing')) {
    const session = lanes[0]!.sessionId ? await store.getSession(lanes[0]!.sessionId).catch(() => undefined) : undefined;
    if (session) return { label: session.title, shortId: short, session, lanes };
    throw new OcrError('invalid_state', `the worktrees of session ${short} belong to a session that is not gone from this database`, 'clean up an archived session by its sessionId');
  }
  return { label: `session ${short}`, shortId: short, lanes };
}

/** The archived sessions with worktrees here, then the archived ones without, then the worktrees of sessions gone. */
async function pickTarget(ctx: CommandContext, root: string): Promise<Target | undefined> {
  const store = await ctx.store();
  await ctx.model.refresh();
  const lanes = await listLaneWorktrees(store, root, { sizes: true });
  const byShort = new Map<string, LaneWorktree[]>();
  for (const l of lanes) byShort.set(l.shortId, [...(byShort.get(l.shortId) ?? []), l]);
  const archived = ctx.model.allSessions.filter((s) => s.status === 'archived');
  const targets: Target[] = [
    ...archived.map((s) => ({ label: s.title, shortId: sessionShortId(s.id), session: s, lanes: byShort.get(sessionShortId(s.id)) ?? [] })),
    ...[...byShort.entries()]
      .filter(([, ls]) => ls.every((l) => l.state === 'missing'))
      .map(([short, ls]) => ({ label: `session ${short}`, shortId: short, lanes: ls })),
  ].sort((a, b) => Number(b.lanes.length > 0) - Number(a.lanes.length > 0));
  if (targets.length === 0) {
    void vscode.window.showInformationMessage('There is nothing to clean up: no session is archived, and every lane worktree here belongs to an active session.');
    return undefined;
  }
  const items = targets.map((t) => {
    const size = t.lanes.reduce((sum, l) => sum + (l.usage?.bytes ?? 0), 0);
    const where = t.lanes.length > 0 ? `${t.lanes.length} worktree${t.lanes.length === 1 ? '' : 's'} · ${formatBytes(size)}` : 'no worktrees here';
    return {
      label: t.session ? t.label : `$(warning) Worktrees of ${t.label}`,
      description: t.session ? `archived · ${shortId(t.session.id)} · ${where}` : `gone from the database · ${where}`,
      target: t,
    };
  });
  return (await vscode.window.showQuickPick(items, { placeHolder: 'Clean up which session? Its lane worktrees are removed from this machine', matchOnDescription: true }))?.target;
}

function mergeResults(results: CleanResult[]): CleanResult {
  return {
    removedWorktrees: results.flatMap((r) => r.removedWorktrees),
    deletedBranches: results.flatMap((r) => r.deletedBranches),
    removedFolders: results.flatMap((r) => r.removedFolders),
  };
}
