// OCR: Land Lane…, OCR: Reset Lane. Both are worker/lanes/land.ts, as `ocr land` is: the palette, the Sessions tree's
// lane and run menus, the Runboard's lane menu and scripts call them alike. Land Lane… asks what its caller did not
// give (the session and lane, squash / rebase / pull request, the message, prefilled with the run's intent), then
// shows what would land and asks in a modal naming the branch that will change; only that answer lets the branch
// move. Reset Lane asks before it discards what the lane has not landed. Both run git in the user's repository, so
// both need a trusted workspace.
import * as vscode from 'vscode';
import { z } from 'zod';
import { laneName, type Run, type Session } from '../../domain';
import { gitMaybe } from '../../worker/engine/git';
import { laneBranch } from '../../worker/engine/worktree';
import { OcrError } from '../../worker/store/errors';
import {
  defaultLandMessage,
  LandMode,
  type LandPlan,
  type LandResult,
  LandRefused,
  landLane,
  laneRunForMessage,
  pickLane,
  type ArchivedLane,
  planLand,
  refuseBusyLane,
  type ResetResult,
  resetLane,
} from '../../worker/lanes/land';
import { readSettings } from '../settings';
import { laneState } from '../sessions/sessions-tree';
import { laneOf, runIdOf } from './args';
import type { CommandContext } from './context';
import { pickSession } from './pick';
import { register } from './register';

/** What a script, a test or the Runboard may pass; the Runboard's `{ session_id, lane }` is taken too. */
export const LandArg = z.strictObject({
  sessionId: z.string().uuid('a session id').optional(),
  session_id: z.string().uuid('a session id').optional(),
  lane: laneName.optional(),
  runId: z.string().uuid('a run id').optional(),
  mode: LandMode.optional(),
  message: z.string().trim().min(1, 'a commit message').optional(),
  /** false: no questions (a script); the branch that changes is then the one checked out */
  confirm: z.boolean().optional(),
  /** Reset Lane: discard what the lane has not landed, without asking */
  force: z.boolean().optional(),
});
type LandArg = z.infer<typeof LandArg>;

export type LandLaneOutcome =
  | { outcome: 'landed'; result: LandResult; archived?: ArchivedLane[] }
  /** the person backed out of a question */
  | { outcome: 'declined' }
  | { outcome: 'untrusted'; message: string };

export type ResetLaneOutcome = { outcome: 'reset'; result: ResetResult } | { outcome: 'declined' } | { outcome: 'untrusted'; message: string };

const untrusted = (action: string) =>
  `${action} runs git in your repository, which Ops Control Room does not do in an untrusted workspace. Trust this workspace (Manage Workspace Trust) to use it.`;

interface Target {
  session: Session;
  lane: string;
  run?: Run;
  repoPath: string;
}

/** The lane a command is for: from its argument (a tree node, a run, a lane), or asked. */
async function targetOf(ctx: CommandContext, arg: unknown, parsed: LandArg | undefined, action: string): Promise<Target | undefined> {
  const store = await ctx.store();
  let session: Session | undefined;
  let lane: string | undefined;
  let run: Run | undefined;
  const runId = parsed?.runId ?? runIdOf(arg);
  const given = laneOf(arg) ?? (parsed?.lane && (parsed.sessionId ?? parsed.session_id) ? { sessionId: (parsed.sessionId ?? parsed.session_id)!, lane: parsed.lane } : undefined);
  if (runId) {
    run = await store.getRun(runId);
    session = await store.getSession(run.session_id);
    lane = run.lane;
  } else if (given) {
    session = ctx.model.session(given.sessionId) ?? (await store.getSession(given.sessionId));
    lane = given.lane;
  } else {
    session = await pickSession(ctx, `${action}: which session?`);
    if (!session) return undefined;
    const picked = await vscode.window.showQuickPick(
      session.lanes.map((l) => ({ label: `Lane ${l}`, description: laneState(ctx.model.runs(session!.id, l)), lane: l })),
      { placeHolder: `${action}: which lane of "${session.title}"?` },
    );
    if (!picked) return undefined;
    lane = picked.lane;
  }
  if (!session.repo_path) {
    throw new OcrError('invalid_state', `session "${session.title}" has no repository on record, so its lanes have no branches to land`, 'start a session on a git repository to land its lanes');
  }
  return { session, lane, ...(run ? { run } : {}), repoPath: session.repo_path };
}

const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

async function pickMode(branch: string | null, laneBranch: string): Promise<LandMode | undefined> {
  const onto = branch ?? 'your branch';
  const items: Array<vscode.QuickPickItem & { mode: LandMode }> = [
    { label: '$(git-merge) Squash', description: `one commit on ${onto}`, detail: "The lane's changes, committed and not, as one commit with your message.", mode: 'squash' },
    { label: '$(git-commit) Rebase', description: `the lane's commits on top of ${onto}`, detail: `${onto} fast-forwards to them; the lane moves there too.`, mode: 'rebase' },
    { label: '$(git-pull-request) Pull request', description: `push ${laneBranch} and open a pull request`, detail: 'With the GitHub CLI (gh) when it is signed in; otherwise the command to run. Your branch does not change.', mode: 'pr' },
  ];
  return (await vscode.window.showQuickPick(items, { placeHolder: `Land the lane how?` }))?.mode;
}

function fileList(plan: LandPlan, max = 15): string[] {
  const mark = { added: '+', modified: '~', deleted: '−', 'type-changed': '~' } as const;
  const lines = plan.files.slice(0, max).map((f) => `  ${mark[f.status]} ${f.path}`);
  if (plan.files.length > max) lines.push(`  … and ${plan.files.length - max} more`);
  return lines;
}

/** The modal's question and details for a plan: what changes where, the files, and what happens to the lane. */
export function landQuestion(plan: LandPlan): { message: string; detail: string; button: string } {
  const subject = plan.message.split('\n')[0]!;
  const uncommitted = plan.uncommitted.length > 0 ? [`The lane's ${count(plan.uncommitted.length, 'uncommitted file')} are committed on ${plan.laneBranch} first.`] : [];
  const files = [`${count(plan.files.length, 'file')}:`, ...fileList(plan)];
  if (plan.mode === 'pr') {
    const into = plan.pr?.base ? ` into ${plan.pr.base}` : '';
    return {
      message: `Push lane ${plan.lane} to ${plan.pr?.remote ?? 'the remote'} and open a pull request${into}?`,
      detail: [`"${subject}": ${count(plan.commits, 'commit')}, ${files.join('\n')}`, '', ...uncommitted, ...(plan.conflicts.length ? [`It conflicts with your branch in ${plan.conflicts.join(', ')}.`] : []), 'Your branch and working tree do not change.'].join('\n'),
      button: 'Push and Open Pull Request',
    };
  }
  const branch = plan.userBranch.name!;
  const how = plan.mode === 'squash' ? `one commit "${subject}"` : `${count(plan.commits, 'commit')} rebased`;
  return {
    message: `Land lane ${plan.lane} on your branch ${branch}?`,
    detail: [`${branch} (now ${plan.userBranch.commit.slice(0, 12)}) gets ${how}, with ${files.join('\n')}`, '', ...uncommitted, `Your working tree and index in ${plan.repoPath} follow ${branch}.`].join('\n'),
    button: `Land on ${branch}`,
  };
}

/**
 * Land Lane…: see the top of this file. With `pick` (a comparison's Pick), the other attempts' lanes are archived once
 * the lane has landed, and the question says so.
 */
export async function landLaneCommand(ctx: CommandContext, arg?: unknown, pick?: { archive: string[] }): Promise<LandLaneOutcome> {
  if (!vscode.workspace.isTrusted) {
    const message = untrusted('Land Lane');
    void vscode.window.showWarningMessage(message);
    return { outcome: 'untrusted', message };
  }
  const parsed = isPlainArg(arg) ? LandArg.parse(arg) : undefined;
  const target = await targetOf(ctx, arg, parsed, 'Land');
  if (!target) return { outcome: 'declined' };
  const { session, lane, repoPath } = target;
  const store = await ctx.store();
  await refuseBusyLane(store, session.id, lane);
  const ask = parsed?.confirm !== false;
  const linkDirs = readSettings().settings['worktrees.linkDirs'];
  const branchOf = laneBranch(session.id, lane);

  let mode = parsed?.mode;
  if (!mode) {
    if (!ask) throw new OcrError('invalid_input', 'mode: say how to land: squash, rebase or pr');
    const head = await currentBranch(repoPath);
    mode = await pickMode(head, branchOf);
    if (!mode) return { outcome: 'declined' };
  }
  let message = parsed?.message;
  if (!message) {
    const proposed = defaultLandMessage(target.run ?? (await laneRunForMessage(store, session.id, lane)), session, lane);
    if (!ask) message = proposed;
    else {
      const [subject, ...body] = proposed.split('\n');
      const typed = await vscode.window.showInputBox({
        title: `Land lane ${lane}: the commit message`,
        prompt: body.length ? 'The first line; the run\'s whole intent follows it in the message' : 'Edit it as you like',
        value: subject,
        validateInput: (v) => (v.trim() ? undefined : 'A landing needs a commit message'),
      });
      if (typed === undefined) return { outcome: 'declined' };
      message = [typed.trim(), ...body].join('\n');
    }
  }
  const options = { repoPath, sessionId: session.id, lane, mode, message, linkDirs };
  const plan = await planLand(options);
  if (ask) {
    const question = landQuestion(plan);
    if (pick && pick.archive.length > 0) {
      question.detail += `\nThen the other attempts' lanes (${pick.archive.join(', ')}) are archived: their work is kept on branches under ocr/archive/, their worktrees removed.`;
    }
    const answer = await vscode.window.showWarningMessage(question.message, { modal: true, detail: question.detail }, question.button);
    if (answer !== question.button) return { outcome: 'declined' };
  }
  // The branch the person saw in the question; the engine refuses when it is no longer the one checked out.
  const confirmed = { ...options, ...(plan.userBranch.name ? { confirmBranch: plan.userBranch.name } : {}) };
  const picked = pick ? await pickLane({ ...confirmed, archive: pick.archive }) : undefined;
  const result = picked ? picked.landed : await landLane(confirmed);
  ctx.log.info(`landed lane ${lane} of session ${session.id} (${mode})${picked ? `; archived ${picked.archived.map((a) => `${a.lane} as ${a.to}`).join(', ') || 'no other lane'}` : ''}`);
  void tellLanded(ctx, result, session);
  return picked ? { outcome: 'landed', result, archived: picked.archived } : { outcome: 'landed', result };
}

async function tellLanded(ctx: CommandContext, result: LandResult, session: Session): Promise<void> {
  const { plan } = result;
  if (result.mode !== 'pr') {
    const how = result.mode === 'squash' ? `as ${result.after.slice(0, 12)}` : `(${count(plan.commits, 'commit')})`;
    const reset = 'Reset Lane';
    const answer = await vscode.window.showInformationMessage(`Landed lane ${plan.lane} on ${result.branch} ${how}: ${count(plan.files.length, 'file')}.`, reset);
    if (answer === reset) await vscode.commands.executeCommand('ocr.resetLane', { sessionId: session.id, lane: plan.lane });
    return;
  }
  if (result.url) {
    const open = 'Open Pull Request';
    if ((await vscode.window.showInformationMessage(`Opened a pull request for lane ${plan.lane}: ${result.url}`, open)) === open) {
      await vscode.env.openExternal(vscode.Uri.parse(result.url));
    }
    return;
  }
  const copy = 'Copy Command';
  const browse = 'Open in Browser';
  const answer = await vscode.window.showWarningMessage(
    `Pushed ${plan.laneBranch} to ${result.remote}, but ${result.ghSkipped ?? 'gh did not open the pull request'}. Open it with: ${result.commands[0] ?? ''}`,
    copy,
    ...(result.compareUrl ? [browse] : []),
  );
  if (answer === copy) await vscode.env.clipboard.writeText(result.commands.join('\n'));
  if (answer === browse && result.compareUrl) await vscode.env.openExternal(vscode.Uri.parse(result.compareUrl));
  ctx.log.info(`lane ${plan.lane}: open the pull request with ${result.commands.join('; ')}`);
}

/** Reset Lane: the lane starts again from the user's branch; asks before discarding what it has not landed. */
export async function resetLaneCommand(ctx: CommandContext, arg?: unknown): Promise<ResetLaneOutcome> {
  if (!vscode.workspace.isTrusted) {
    const message = untrusted('Reset Lane');
    void vscode.window.showWarningMessage(message);
    return { outcome: 'untrusted', message };
  }
  const parsed = isPlainArg(arg) ? LandArg.parse(arg) : undefined;
  const target = await targetOf(ctx, arg, parsed, 'Reset');
  if (!target) return { outcome: 'declined' };
  const { session, lane, repoPath } = target;
  await refuseBusyLane(await ctx.store(), session.id, lane);
  const options = { repoPath, sessionId: session.id, lane, linkDirs: readSettings().settings['worktrees.linkDirs'] };
  let result: ResetResult;
  try {
    result = await resetLane({ ...options, force: parsed?.force ?? false });
  } catch (e) {
    if (!(e instanceof LandRefused) || e.reason !== 'unlanded_changes' || parsed?.confirm === false) throw e;
    const discard = 'Discard and Reset';
    const shown = e.files.slice(0, 15).map((f) => `  ${f}`);
    if (e.files.length > shown.length) shown.push(`  … and ${e.files.length - shown.length} more`);
    const answer = await vscode.window.showWarningMessage(
      `Lane ${lane} has changes your branch does not have. Reset it anyway?`,
      { modal: true, detail: [`These are discarded:`, ...shown, '', 'Land the lane first to keep them.'].join('\n') },
      discard,
    );
    if (answer !== discard) return { outcome: 'declined' };
    result = await resetLane({ ...options, force: true });
  }
  ctx.log.info(`reset lane ${lane} of session ${session.id} to ${result.to}`);
  const discarded = result.discarded.length > 0 ? ` Discarded ${count(result.discarded.length, 'file')}; the lane as it was is commit ${result.was.slice(0, 12)} until git gc removes it.` : '';
  void vscode.window.showInformationMessage(`Lane ${lane} starts again from ${result.userBranch ?? 'your HEAD'} (${result.to.slice(0, 12)}).${discarded}`);
  return { outcome: 'reset', result };
}

async function currentBranch(repoPath: string): Promise<string | null> {
  return (await gitMaybe(repoPath, ['symbolic-ref', '--quiet', '--short', 'HEAD'])) || null;
}

/** A plain object (a script's, the Runboard's), not a tree node. */
function isPlainArg(arg: unknown): boolean {
  return typeof arg === 'object' && arg !== null && Object.getPrototypeOf(arg) === Object.prototype;
}

export function registerLandCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.landLane', (arg?: unknown) => landLaneCommand(ctx, arg)),
    register(ctx, 'ocr.resetLane', (arg?: unknown) => resetLaneCommand(ctx, arg)),
  ];
}
