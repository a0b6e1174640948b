// get_run: where a run is (queued, running, finished), how it ended and how long it took.
import { z } from 'zod';
import { defineTool, resolveId } from './tool';
import { runSummary } from './run-summary';

export const runIdInput = z.string().describe('The run: its id (queue_run and list_sessions give it), or its first 8 or more characters.');

export const getRunTool = defineTool({
  name: 'get_run',
  title: 'Get a Run',
  description:
    'Tells where a run of Ops Control Room is: its status (queued, running, waiting for approval, succeeded, failed, ' +
    'canceled), exit code, error, the worker holding it, when it was queued, started and finished, and how long it took. ' +
    'Call it to learn whether a run queued with queue_run has finished; read_log gives its output.',
  input: z.object({ run: runIdInput }),
  readOnly: true,
  async run(store, i) {
    return runSummary(await store.getRun(await resolveId(store, 'run', 'run', i.run)));
  },
});
