// `ocr workers`: every worker, its state, what it runs and when it was last heard of.
import type { Command } from 'commander';
import { z } from 'zod';
import { shortId, timeAgo, type WorkerRow } from '../../domain';
import type { CliContext } from './context';
import { plain, table } from './format';

export function registerWorkersCommand(program: Command, ctx: CliContext): void {
  program
    .command('workers')
    .description('the workers, their state, their running runs and their last heartbeat')
    .action(async () => {
      const store = await ctx.openStore();
      const [workers, running] = await Promise.all([store.listWorkers(), store.listRuns({ status: ['running'], limit: 10_000 })]);
      const now = Date.now();
      const rows = workers.map((w) => ({ worker: w, runs: running.filter((r) => r.claimed_by === w.id), seen: liveness(w, now) }));
      if (ctx.jsonMode()) {
        ctx.print('', rows.map(({ worker, runs, seen }) => ({ ...worker, liveness: seen, running: runs.map((r) => ({ id: r.id, session_id: r.session_id, lane: r.lane, started_at: r.started_at })) })));
        return;
      }
      if (rows.length === 0) {
        ctx.print('no workers yet; start one with `ocr worker`', []);
        return;
      }
      const human = table(
        ['WORKER', 'STATE', 'HOST', 'PID', 'RUNNING', 'HEARTBEAT', 'AGENTS', 'RUNS'],
        rows.map(({ worker: w, runs, seen }) => [
          plain(w.id),
          seen === 'ok' ? w.state : `${w.state} (${seen})`,
          plain(w.host),
          String(w.pid ?? ''),
          `${runs.length}/${w.concurrency}`,
          timeAgo(w.last_heartbeat, now),
          plain(stringList(w.labels.agents).join(',')) || '-',
          runs.map((r) => `${shortId(r.id)}:${plain(r.lane)}`).join(' '),
        ]),
      );
      ctx.print(human, rows);
    });
}

/** A worker that has not sent a heartbeat for a while may be dead: its row stays until it comes back. */
function liveness(w: WorkerRow, now: number): 'ok' | 'silent' {
  return w.state !== 'stopped' && now - Date.parse(w.last_heartbeat) > 60_000 ? 'silent' : 'ok';
}

const stringList = (v: unknown): string[] => z.array(z.string()).catch([]).parse(v);
