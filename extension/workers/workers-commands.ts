// The Workers view and what it offers: drain or stop the worker inside this editor (the same stop the status bar's
// pause calls), start it again (Toggle Worker), read the workers again. Workers elsewhere are stopped where they run
// (SIGTERM drains an `ocr worker`), so their rows offer nothing.
import * as vscode from 'vscode';
import type { CommandContext } from '../commands/context';
import { register } from '../commands/register';
import { WorkerNode, WorkersTreeProvider, workersViewId } from './workers-tree';

export const drainEditorWorkerCommand = 'ocr.drainEditorWorker';
export const stopEditorWorkerCommand = 'ocr.stopEditorWorker';
export const refreshWorkersCommand = 'ocr.refreshWorkers';

/** Stop's grace: none, the runs it holds are canceled at once. Drain's is the status bar's pause (its default). */
const stopAtOnceMs = 0;

export function registerWorkersView(ctx: CommandContext): vscode.Disposable[] {
  const provider = new WorkersTreeProvider(ctx.backend, ctx.model, ctx.worker, ctx.log);
  const view = vscode.window.createTreeView(workersViewId, { treeDataProvider: provider, showCollapseAll: false });
  return [
    provider,
    view,
    provider.attach(view),
    register(ctx, drainEditorWorkerCommand, async (arg?: unknown) => {
      editorWorkerOnly(arg, 'Drain');
      // no new claims; what runs gets the grace period of a pause, then is canceled
      await ctx.worker.stop();
      provider.refresh();
    }),
    register(ctx, stopEditorWorkerCommand, async (arg?: unknown) => {
      editorWorkerOnly(arg, 'Stop');
      const state = ctx.worker.state;
      const held = arg instanceof WorkerNode ? arg.entry.runs.length : state.kind === 'on' ? state.status.running.length : 0;
      if (held > 0) {
        const stop = 'Stop and Cancel Runs';
        const answer = await vscode.window.showWarningMessage(
          `Stop the worker inside this editor now? Its ${held === 1 ? 'running run is' : `${held} running runs are`} canceled. Drain lets ${held === 1 ? 'it' : 'them'} finish first.`,
          { modal: true },
          stop,
        );
        if (answer !== stop) return;
      }
      await ctx.worker.stop(stopAtOnceMs);
      provider.refresh();
    }),
    register(ctx, refreshWorkersCommand, async () => provider.refresh()),
  ];
}

/** Only this editor's worker is drained or stopped from here; another one's row never offers it, a script may ask. */
function editorWorkerOnly(arg: unknown, action: 'Drain' | 'Stop'): void {
  if (arg instanceof WorkerNode && !arg.own) {
    throw new Error(`${action} acts on the worker inside this editor only: ${arg.entry.worker.id} is stopped where it runs (SIGTERM drains an \`ocr worker\`)`);
  }
}
