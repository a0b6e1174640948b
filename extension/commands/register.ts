// Registers a command so that its failure is shown to the person in one plain message and logged, and a caller that
// passed arguments (a script, a test, the Runboard) also gets the error back.
import * as vscode from 'vscode';
import { OcrError } from '../../worker/store/errors';
import type { CommandContext } from './context';

export function register(ctx: CommandContext, id: string, run: (...args: unknown[]) => Promise<unknown>): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await run(...args);
    } catch (e) {
      const message = e instanceof OcrError ? e.line : (e as Error).message;
      ctx.log.error(`${id} failed`, e);
      void vscode.window.showErrorMessage(`Ops Control Room: ${message}`);
      if (args.length > 0 && args[0] !== undefined) throw e;
      return undefined;
    }
  });
}
