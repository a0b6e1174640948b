// OCR: New Session, OCR: Archive Session
import os from 'node:os';
import * as vscode from 'vscode';
import { describeRepo } from '../../worker/engine/repo';
import { readSettings } from '../settings';
import type { z } from 'zod';
import type { Session } from '../../domain';
import { NewSessionArg, sessionIdOf } from './args';
import type { CommandContext } from './context';
import { pickSession } from './pick';
import { register } from './register';

/**
 * Starts a session on the workspace's repository (or the folder given; none with `repo: null`) and makes it the active
 * one: New Session from the palette, scripts and the Runboard.
 */
export async function startSession(ctx: CommandContext, arg: z.input<typeof NewSessionArg>, options: { quiet?: boolean } = {}): Promise<Session> {
  const input = NewSessionArg.parse(arg);
  const folder = input.repo === null ? undefined : (input.repo ?? vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath);
  const repo = folder ? await describeRepo(folder).catch((e: Error) => (ctx.log.warn(`no repository for the session: ${e.message}`), undefined)) : undefined;
  const store = await ctx.store();
  const session = await store.createSession({
    title: input.title,
    intent: input.intent,
    lanes: input.lanes ?? readSettings().settings.lanes,
    repo_id: repo?.repoId ?? null,
    repo_url: repo?.repoUrl ?? null,
    repo_path: repo?.repoPath ?? null,
    base_ref: repo?.baseRef ?? null,
    created_by: os.userInfo().username,
  });
  await ctx.setActiveSession(session.id);
  ctx.log.info(`session ${session.id} "${session.title}" created${repo ? ` on ${repo.repoPath} at ${repo.baseRef.slice(0, 12)}` : ' without a repository'}`);
  if (!repo && !options.quiet) {
    void vscode.window.showInformationMessage(`Session "${session.title}" has no git repository: its runs work in a scratch folder and leave no diff.`);
  }
  return session;
}

export function registerSessionCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.newSession', async (arg?: unknown) => {
      let input = arg === undefined ? undefined : NewSessionArg.parse(arg);
      if (!input) {
        const title = await vscode.window.showInputBox({
          title: 'New Session (1/2)',
          prompt: 'A short title for the session',
          placeHolder: 'Fix the flaky tests',
          validateInput: (v) => (v.trim() ? undefined : 'A session needs a title'),
        });
        if (title === undefined) return undefined;
        const intent = await vscode.window.showInputBox({ title: 'New Session (2/2)', prompt: 'What is this session for? (optional)', placeHolder: 'Make CI green again' });
        if (intent === undefined) return undefined;
        input = { title, intent };
      }
      return (await startSession(ctx, input, { quiet: arg !== undefined })).id;
    }),

    register(ctx, 'ocr.archiveSession', async (arg?: unknown) => {
      const session = sessionIdOf(arg) ? ctx.model.session(sessionIdOf(arg)!) ?? (await (await ctx.store()).getSession(sessionIdOf(arg)!)) : await pickSession(ctx, 'Archive which session?');
      if (!session) return undefined;
      if (arg === undefined || !(typeof arg === 'object' && arg !== null && 'sessionId' in arg)) {
        const archive = 'Archive';
        const answer = await vscode.window.showWarningMessage(
          `Archive "${session.title}"? Its queued runs are canceled and running runs stopped; runs and logs are kept.`,
          { modal: true },
          archive,
        );
        if (answer !== archive) return undefined;
      }
      const archived = await (await ctx.store()).archiveSession(session.id);
      if (ctx.activeSessionId === session.id) await ctx.setActiveSession(undefined);
      ctx.log.info(`session ${session.id} archived`);
      return archived.id;
    }),

    register(ctx, 'ocr.setActiveSession', async (arg?: unknown) => {
      const id = sessionIdOf(arg) ?? (await pickSession(ctx, 'Make which session active?'))?.id;
      if (id) await ctx.setActiveSession(id);
      return id;
    }),
  ];
}
