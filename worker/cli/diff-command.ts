// `ocr diff RUN [--stat]`: a run's changes as a patch `git apply` accepts, or their summary.
import type { Command } from 'commander';
import { DiffSummary, plainOneLine, shortId } from '../../domain';
import { formatStat, patchText } from '../engine/diff';
import { OcrError } from '../store/errors';
import type { CliContext } from './context';

export function registerDiffCommand(program: Command, ctx: CliContext): void {
  program
    .command('diff')
    .description("a run's diff against its session's base: a patch `git apply` accepts")
    .argument('<run>', 'the run id (or its first characters)')
    .option('--stat', 'only the summary: files, insertions, deletions')
    .action(async (runText: string, o: { stat?: boolean }) => {
      const store = await ctx.openStore();
      const runId = await store.resolveId('run', runText);
      const artifact = await store.getArtifact(runId, 'diff');
      if (!artifact) {
        const run = await store.getRun(runId);
        throw new OcrError(
          'not_found',
          `run ${shortId(runId)} has no diff`,
          run.status === 'queued' || run.status === 'running'
            ? `it is ${run.status}; its diff is recorded when it ends`
            : 'runs of sessions without a repository leave none',
        );
      }
      const summary = DiffSummary.parse(artifact.meta);
      if (ctx.jsonMode()) {
        ctx.print('', { run_id: runId, ...summary, ...(o.stat ? {} : { patch: artifact.content ?? '' }) });
        return;
      }
      if (o.stat) {
        // file names are a run's text: a name may hold escapes (git allows any byte but NUL and /)
        const entries = summary.entries.map((e) => ({ ...e, path: plainOneLine(e.path) }));
        process.stdout.write(formatStat({ ...summary, entries }, process.stdout.columns || 80));
        return;
      }
      if (summary.omitted) {
        throw new OcrError('invalid_state', `the diff of run ${shortId(runId)} was too large to store`, 'see the lane worktree itself, or `ocr diff RUN --stat`');
      }
      process.stdout.write(patchText(artifact.content ?? '', summary));
    });
}
