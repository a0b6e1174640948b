// cancel_run: stops a run, the same store call the palette, the Runboard and `ocr cancel` make.
import { z } from 'zod';
import { plainOneLine, shortId } from '../../domain';
import { runIdInput } from './get-run';
import { defineTool, markdownCode, resolveId } from './tool';

const answers = {
  canceled: 'canceled: it had not started, and never will',
  cancel_requested: 'its worker was asked to stop it; it ends canceled in a moment (get_run shows when)',
  already_finished: 'it had already finished; nothing was canceled',
} as const;

export const cancelRunTool = defineTool({
  name: 'cancel_run',
  title: 'Cancel a Run',
  description:
    'Cancels a run of Ops Control Room: a queued run is canceled at once; a running one is stopped by its worker (its ' +
    'whole process tree) and ends canceled shortly after; a finished run stays as it is. Answers what happened.',
  input: z.object({ run: runIdInput }),
  readOnly: false,
  async confirm(store, i) {
    const run = await store.getRun(await resolveId(store, 'run', 'run', i.run));
    const session = await store.getSession(run.session_id);
    return {
      title: `Cancel run ${shortId(run.id)}?`,
      message: `Cancel ${markdownCode(plainOneLine(run.intent))} (${run.status}) in lane ${run.lane} of session "${plainOneLine(session.title)}"?`,
    };
  },
  async run(store, i) {
    const { outcome, run } = await store.cancelRun(await resolveId(store, 'run', 'run', i.run));
    return { run_id: run.id, outcome, status: run.status, what_happened: answers[outcome] };
  },
});
