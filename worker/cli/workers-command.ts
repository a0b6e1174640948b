// `ocr workers`: every worker, its state, what it runs, when it was last heard of and the repositories it serves. The
// editor's Workers view reads the same list and words it the same way (domain/worker-liveness.ts).
import type { Command } from 'commander';
import { shortId } from '../../domain';
import { ageText, isStale, repoNames, slotsText, stateText, workerAgents, workerLeaseSeconds } from '../../domain/worker-liveness';
import { listWorkersWithRuns } from '../runs/list-workers';
import type { CliContext } from './context';
import { plain, table } from './format';

export function registerWorkersCommand(program: Command, ctx: CliContext): void {
  program
    .command('workers')
    .description('the workers, their state, their running runs, their last heartbeat and the repositories they serve')
    .action(async () => {
      const store = await ctx.openStore();
      const [rows, sessions] = await Promise.all([listWorkersWithRuns(store), store.listSessions({ includeArchived: true })]);
      const now = Date.now();
      if (ctx.jsonMode()) {
        ctx.print(
          '',
          rows.map(({ worker, runs }) => ({
            ...worker,
            liveness: isStale(worker, now) ? 'stale' : 'ok',
            lease_seconds: workerLeaseSeconds(worker),
            running: runs.map((r) => ({ id: r.id, session_id: r.session_id, lane: r.lane, started_at: r.started_at })),
          })),
        );
        return;
      }
      if (rows.length === 0) {
        ctx.print('no workers yet; start one with `ocr worker`', []);
        return;
      }
      const human = table(
        ['WORKER', 'STATE', 'HOST', 'PID', 'RUNNING', 'HEARTBEAT', 'AGENTS', 'REPOS', 'RUNS'],
        rows.map((entry) => {
          const { worker: w, runs } = entry;
          return [
            plain(w.id),
            stateText(w, now),
            plain(w.host),
            String(w.pid ?? ''),
            slotsText(entry),
            ageText(w.last_heartbeat, now),
            plain(workerAgents(w).join(',')) || '-',
            plain(repoNames(w, sessions).join(',')) || '-',
            runs.map((r) => `${shortId(r.id)}:${plain(r.lane)}`).join(' '),
          ];
        }),
      );
      ctx.print(human, rows);
    });
}
