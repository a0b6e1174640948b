// `ocr approve`, `ocr reject`: a runbook run waiting at an approval step goes on, or ends canceled with the reason.
// The database decides who may (the step's approvers, when it names some) and refuses a run that is not waiting or
// was decided already; its words are the error line.
import { type Command, InvalidArgumentError } from 'commander';
import { type Run, shortId } from '../../domain';
import type { CliContext } from './context';
import { plain } from './format';

const text = (flag: string) => (value: string): string => {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > 2000) throw new InvalidArgumentError(`${flag} ${JSON.stringify(value.slice(0, 40))}: give 1 to 2000 characters`);
  return trimmed;
};

export function registerApprovalCommands(program: Command, ctx: CliContext): void {
  program
    .command('approve')
    .description('let a runbook run waiting at an approval step go on')
    .argument('<run>', 'the run (id or its first characters)')
    .option('--note <text>', 'kept with the decision', text('--note'))
    .action(async (id: string, o: { note?: string }) => {
      const store = await ctx.openStore();
      const run = await store.approveRun(await store.resolveId('run', id), o.note);
      ctx.print(`approved run ${shortId(run.id)} at step ${plain(run.approval?.step_id ?? '?')}; it is queued again and goes on after that step\n${run.id}`, decisionJson(run));
    });

  program
    .command('reject')
    .description('end a runbook run waiting at an approval step: it is canceled with the reason')
    .argument('<run>', 'the run (id or its first characters)')
    .requiredOption('--reason <text>', 'why (kept with the run, shown as its error)', text('--reason'))
    .action(async (id: string, o: { reason: string }) => {
      const store = await ctx.openStore();
      const run = await store.rejectRun(await store.resolveId('run', id), o.reason);
      ctx.print(`rejected run ${shortId(run.id)} at step ${plain(run.approval?.step_id ?? '?')}: ${plain(o.reason, 200)}; it ended ${run.status}\n${run.id}`, decisionJson(run));
    });
}

function decisionJson(run: Run) {
  return {
    id: run.id,
    status: run.status,
    step_id: run.approval?.step_id ?? null,
    decision: run.approval?.decision ?? null,
    decided_by: run.approval?.decided_by ?? null,
    decided_at: run.approval?.decided_at ?? null,
    reason: run.approval?.reason ?? null,
    error: run.error,
  };
}
