// Asking for what a command needs when it was run from the palette: a session, a lane, a run, an executor.
import * as vscode from 'vscode';
import { agentProfiles, availableAgents } from '../../worker/engine/executors';
import { isFinal, oneLine, type Run, type RunStatus, type Session, shortId } from '../../domain';
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

export interface ExecutorChoice {
  executor: 'shell' | 'agent';
  profile?: string;
}

/** Shell, and every agent profile whose CLI is on PATH (or configured); asks only when there is a choice. */
export async function pickExecutor(): Promise<ExecutorChoice | undefined> {
  const { settings } = readSettings();
  const config = { agents: settings['agents.profiles'] };
  const available = availableAgents(config);
  const profiles = Object.keys(agentProfiles(config)).filter((p) => available.includes(p));
  if (profiles.length === 0) return { executor: 'shell' };
  const items: Array<vscode.QuickPickItem & { choice: ExecutorChoice }> = [
    { label: '$(terminal) Shell', description: 'run the intent as a shell command', choice: { executor: 'shell' } },
    ...profiles.map((p) => ({ label: `$(sparkle) ${p}`, description: 'give the intent to this coding agent as its prompt', choice: { executor: 'agent' as const, profile: p } })),
  ];
  const preferred = settings.defaultExecutor;
  items.sort((a, b) => Number((b.choice.profile ?? 'shell') === preferred) - Number((a.choice.profile ?? 'shell') === preferred));
  return (await vscode.window.showQuickPick(items, { placeHolder: 'Run it with…' }))?.choice;
}
