// Asking for what a command needs when it was run from the palette: a session, a lane, a run, an executor.
import * as vscode from 'vscode';
import { executorOptions } from '../../worker/engine/executors';
import { type ExecutorChoice, isFinal, oneLine, type Run, type RunStatus, type Session, shortId } from '../../domain';
import { describeRun } from '../sessions/run-labels';
import { laneState } from '../sessions/sessions-tree';
import { readSettings } from '../settings';
import type { CommandContext } from './context';

export async function pickSession(ctx: CommandContext, placeHolder = 'Choose a session'): Promise<Session | undefined> {
  await ctx.model.ensureStarted();
  const sessions = ctx.model.sessions;
  if (sessions.length === 0) {
    const create = 'New Session';
    const answer = await vscode.window.showInformationMessage('There is no session yet.', create);
    if (answer === create) await vscode.commands.executeCommand('ocr.newSession');
    return undefined;
  }
  const active = ctx.activeSessionId;
  const activeSession = sessions.find((s) => s.id === active);
  if (sessions.length === 1) return sessions[0];
  const items = [...(activeSession ? [activeSession] : []), ...sessions.filter((s) => s.id !== active)].map((s) => ({
    label: s.title,
    description: `${s.id === active ? 'active · ' : ''}${shortId(s.id)}`,
    detail: s.intent || undefined,
    session: s,
  }));
  return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true }))?.session;
}

export async function pickLane(ctx: CommandContext, session: Session): Promise<string | undefined> {
  const items = session.lanes.map((lane) => ({ label: `Lane ${lane}`, description: laneState(ctx.model.runs(session.id, lane)), lane }));
  return (await vscode.window.showQuickPick(items, { placeHolder: `Run in which lane of "${session.title}"?` }))?.lane;
}

export async function pickRun(
  ctx: CommandContext,
  statuses: readonly RunStatus[] | 'finished',
  placeHolder: string,
): Promise<Run | undefined> {
  const session = await pickSession(ctx, 'Which session?');
  if (!session) return undefined;
  const runs = ctx.model
    .runs(session.id)
    .filter((r) => (statuses === 'finished' ? isFinal(r.status) : statuses.includes(r.status)));
  if (runs.length === 0) {
    void vscode.window.showInformationMessage(`No run of "${session.title}" fits: ${statuses === 'finished' ? 'none has finished yet' : `none is ${statuses.join(' or ')}`}.`);
    return undefined;
  }
  const items = runs.map((r) => ({ label: `Lane ${r.lane}: ${oneLine(r.intent, 70)}`, description: `${shortId(r.id)} · ${describeRun(r)}`, run: r }));
  return (await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true }))?.run;
}

/** Shell, and every agent profile whose CLI is on PATH (or configured); asks only when there is a choice. */
export async function pickExecutor(): Promise<ExecutorChoice | undefined> {
  const { settings } = readSettings();
  const options = executorOptions({ agents: settings['agents.profiles'] }, settings.defaultExecutor);
  if (options.length === 1) return options[0]!.run_with;
  const items = options.map((o) =>
    o.run_with.executor === 'shell'
      ? { label: '$(terminal) Shell', description: 'run the intent as a shell command', choice: o.run_with }
      : { label: `$(sparkle) ${o.label}`, description: 'give the intent to this coding agent as its prompt', choice: o.run_with },
  );
  return (await vscode.window.showQuickPick(items, { placeHolder: 'Run it with…' }))?.choice;
}
