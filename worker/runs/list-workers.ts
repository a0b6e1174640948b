// Reading the workers: every worker the database knows, with the runs it holds now. `ocr workers` and the editor's
// Workers view both read them through this, so that they show the same.
import { withRuns, type WorkerWithRuns } from '../../domain/worker-liveness';
import type { Store } from '../store/store';

/** Every worker (live ones first, stopped ones last, by id) with the running runs it holds, in lane order. */
export async function listWorkersWithRuns(store: Store): Promise<WorkerWithRuns[]> {
  const [workers, running] = await Promise.all([store.listWorkers(), store.listRuns({ status: ['running'], limit: 10_000 })]);
  return withRuns(workers, running);
}
