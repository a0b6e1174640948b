// OCR: Connect to Postgres…, OCR: Use Embedded Database, OCR: Toggle Worker
import * as vscode from 'vscode';
import { z } from 'zod';
import type { CommandContext } from './context';
import { register } from './register';

export function registerBackendCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.connectPostgres', async (arg?: unknown) => {
      const url =
        z.string().optional().parse(arg) ??
        (await vscode.window.showInputBox({
          title: 'Connect to Postgres',
          prompt: 'The database URL. It is tested and migrated first, then kept in the editor\'s secret storage.',
          placeHolder: 'postgres://user:password@host:5432/database',
          password: true,
          ignoreFocusOut: true,
          validateInput: (v) => (/^postgres(ql)?:\/\//i.test(v.trim()) ? undefined : 'Start with postgres:// or postgresql://'),
        }));
      if (!url) return undefined;
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Connecting to Postgres and applying migrations…' }, () =>
        ctx.backend.connectPostgres(url.trim()),
      );
      void vscode.window.showInformationMessage('Ops Control Room now uses your Postgres database.');
      return true;
    }),

    register(ctx, 'ocr.useEmbeddedDatabase', async () => {
      await ctx.backend.useEmbedded();
      void vscode.window.showInformationMessage('Ops Control Room now uses the embedded database.');
      return true;
    }),

    register(ctx, 'ocr.toggleWorker', async () => {
      if (!vscode.workspace.isTrusted && !ctx.worker.isOn) {
        void vscode.window.showWarningMessage('Ops Control Room runs nothing in an untrusted workspace. Trust this workspace (Manage Workspace Trust) to start the worker.');
        return ctx.worker.state.kind;
      }
      await ctx.worker.toggle();
      return ctx.worker.state.kind;
    }),
  ];
}
