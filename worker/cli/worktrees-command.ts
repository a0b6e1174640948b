// `ocr worktrees list [--worktrees DIR] [--json]` and `ocr worktrees prune [--dry-run] [--keep-branches]`: the lane
// worktrees under this machine's worktree root, each with its session, lane, size on disk and what became of its
// session; prune removes those whose session is gone from the database or archived.
import path from 'node:path';
import type { Command } from 'commander';
import { defaultWorktreeRoot } from '../engine/worktree';
import { formatBytes } from '../../domain';
import { describeDiskUsage } from '../lanes/disk-usage';
import { isOrphan, type LaneSessionState, type LaneWorktree, listLaneWorktrees, pruneLaneWorktrees } from '../lanes/lane-worktrees';
import type { CliContext } from './context';
import { plain, table } from './format';

const stateText: Record<LaneSessionState, string> = {
  active: 'active',
  archived: 'archived',
  missing: 'session gone',
  'other-database': 'other database',
};

const rootOption = ['--worktrees <dir>', 'the worktree root (default: OCR_WORKTREES, else the one beside the embedded database)'] as const;
const rootOf = (o: { worktrees?: string }) => path.resolve(o.worktrees ?? defaultWorktreeRoot());

function laneJson(w: LaneWorktree) {
  return {
    folder: w.folder,
    session_id: w.sessionId ?? null,
    short_id: w.shortId,
    title: w.title ?? null,
    lane: w.lane,
    kind: w.kind,
    branch: w.branch ?? null,
    repo_path: w.repoPath ?? null,
    state: w.state,
    running: w.running,
    prunable: isOrphan(w),
    ...(w.usage
      ? { bytes: w.usage.bytes, shared_files: w.usage.sharedFiles, shared_bytes: w.usage.sharedBytes, symlinks: w.usage.symlinks }
      : {}),
  };
}

export function registerWorktreesCommand(program: Command, ctx: CliContext): void {
  const worktrees = program.command('worktrees').description("the lane worktrees on this machine: list them, remove those of sessions that are gone or archived");

  worktrees
    .command('list')
    .description('each lane worktree under the worktree root: its session, lane, size on disk, and whether its session is active, archived or gone')
    .option(...rootOption)
    .action(async (o: { worktrees?: string }) => {
      const store = await ctx.openStore();
      const root = rootOf(o);
      const lanes = await listLaneWorktrees(store, root, { sizes: true });
      const prunable = lanes.filter(isOrphan);
      const human =
        lanes.length === 0
          ? `no lane worktrees under ${root}`
          : table(
              ['SESSION', 'TITLE', 'LANE', 'STATE', 'SIZE', 'BRANCH', 'FOLDER'],
              lanes.map((w) => [
                w.shortId,
                plain(w.title ?? '', 30),
                plain(w.lane),
                stateText[w.state] + (w.state === 'archived' && w.running > 0 ? ' (stopping)' : ''),
                w.usage ? formatBytes(w.usage.bytes) : '',
                plain(w.branch ?? (w.kind === 'scratch' ? '(no repository)' : '')),
                plain(w.folder),
              ]),
            ) +
            [
              ...lanes.filter((w) => w.usage && w.usage.sharedFiles + w.usage.symlinks > 0).map((w) => `lane ${plain(w.lane)} of ${w.shortId}: ${describeDiskUsage(w.usage!).detail}`),
              prunable.length > 0
                ? `${prunable.length} lane worktree${prunable.length === 1 ? '' : 's'} of sessions gone or archived: \`ocr worktrees prune\` removes ${prunable.length === 1 ? 'it' : 'them'} (--dry-run to see what)`
                : '',
            ]
              .filter(Boolean)
              .join('\n');
      ctx.print(human, { root, worktrees: lanes.map(laneJson) });
    });

  worktrees
    .command('prune')
    .description('remove the lane worktrees (and their branches) of sessions that are gone from the database or archived')
    .option(...rootOption)
    .option('--dry-run', 'say what would be removed, and remove nothing')
    .option('--keep-branches', "keep the lanes' branches (ocr/<session>/<lane>): only their worktrees go")
    .action(async (o: { worktrees?: string; dryRun?: boolean; keepBranches?: boolean }) => {
      const store = await ctx.openStore();
      const root = rootOf(o);
      const dryRun = Boolean(o.dryRun);
      const result = await pruneLaneWorktrees(store, root, { dryRun, keepBranches: Boolean(o.keepBranches) });
      const lines: string[] = [];
      for (const s of result.sessions) {
        const what = s.state === 'missing' ? 'gone from the database' : 'archived';
        const removed = s.cleaned.removedWorktrees.length > 0 ? s.cleaned.removedWorktrees : s.cleaned.removedFolders;
        lines.push(`${dryRun ? 'would remove' : 'removed'} session ${s.shortId} (${what}): ${removed.map((f) => plain(f)).join(', ') || 'nothing left'}`);
        if (s.cleaned.deletedBranches.length > 0) {
          lines.push(`  ${dryRun ? 'would delete' : 'deleted'} branch${s.cleaned.deletedBranches.length === 1 ? '' : 'es'} ${s.cleaned.deletedBranches.map((b) => plain(b)).join(', ')}`);
        }
      }
      for (const w of result.stopping) lines.push(`kept lane ${plain(w.lane)} of session ${w.shortId}: its runs are still stopping; prune again in a moment`);
      if (result.sessions.length === 0 && result.stopping.length === 0) lines.push(`nothing to prune under ${root}`);
      ctx.print(lines.join('\n'), {
        root,
        dry_run: dryRun,
        sessions: result.sessions.map((s) => ({
          short_id: s.shortId,
          session_id: s.sessionId ?? null,
          state: s.state,
          removed_worktrees: s.cleaned.removedWorktrees,
          deleted_branches: s.cleaned.deletedBranches,
          removed_folders: s.cleaned.removedFolders,
        })),
        stopping: result.stopping.map(laneJson),
      });
    });
}
