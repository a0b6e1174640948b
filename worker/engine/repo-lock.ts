// One change of a repository's worktrees and refs at a time in this process: a lane's worktree being made, a landing, a
// reset, a pick. git keeps one worktree list and one set of refs per repository, and each of these reads what the
// others move. Keyed by the repository's folder, resolved.
import path from 'node:path';

const queues = new Map<string, Promise<unknown>>();

/** Runs `task` after every earlier task of the same repository has settled (a failed one does not stop the queue). */
export function oneAtATime<T>(repoPath: string, task: () => Promise<T>): Promise<T> {
  const key = path.resolve(repoPath);
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  const settled = next.catch(() => undefined);
  queues.set(key, settled);
  void settled.then(() => {
    if (queues.get(key) === settled) queues.delete(key);
  });
  return next;
}
