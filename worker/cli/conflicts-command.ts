// `ocr conflicts SESSION [--repo PATH] [--json]`: which of a session's lanes on this machine would conflict with each
// other or with the user's branch if merged now, uncommitted work included, and in which files.
import path from 'node:path';
import type { Command } from 'commander';
import { shortId } from '../../domain';
import { repoIdOf } from '../engine/repo';
import { type Conflict, laneConflicts, sessionLaneWorktrees } from '../lanes/conflicts';
import { OcrError } from '../store/errors';
import type { CliContext } from './context';
import { plain } from './format';

export function registerConflictsCommand(program: Command, ctx: CliContext): void {
  program
    .command('conflicts')
    .description("which lanes of a session would conflict with each other or with your branch, uncommitted work included")
    .argument('<session>', 'the session id (or its first characters)')
    .option('--repo <path>', 'the clone the lanes were made from (default: the folder the session was started in)')
    .action(async (sessionText: string, o: { repo?: string }) => {
      const store = await ctx.openStore();
      const session = await store.getSession(await store.resolveId('session', sessionText));
      const name = `session ${shortId(session.id)}`;
      if (!session.repo_id) {
        throw new OcrError('invalid_state', `${name} has no repository, so its lanes have no branches to compare`, 'start a session with --repo to use the conflict radar');
      }
      const repoPath = o.repo ? path.resolve(o.repo) : session.repo_path;
      if (!repoPath) throw new OcrError('repo_unavailable', `${name} recorded no folder on this machine`, 'pass --repo PATH: the clone its lanes were made from');
      if ((await repoIdOf(repoPath)) !== session.repo_id) {
        throw new OcrError('repo_unavailable', `${repoPath} is not a clone of the repository of ${name}`,
          o.repo ? 'pass --repo the clone its lanes were made from' : 'pass --repo PATH: the clone its lanes were made from on this machine');
      }
      const worktrees = await sessionLaneWorktrees(repoPath, session.id);
      if (worktrees.length === 0) {
        throw new OcrError('not_found', `${name} has no lane worktrees or branches in ${repoPath}`, "a lane's worktree is made when its first run starts on this machine");
      }
      const radar = await laneConflicts({ repoPath, worktrees });
      const lanes = radar.lanes.map((l) => l.lane);
      ctx.print(describe(radar.conflicts, lanes, radar.userBranch.name), {
        session_id: session.id,
        repo_path: repoPath,
        user_branch: radar.userBranch,
        lanes: radar.lanes.map((l) => ({ lane: l.lane, branch: l.branch, commit: l.commit, uncommitted: l.uncommitted, folder: worktrees.find((w) => w.lane === l.lane)?.folder ?? null })),
        conflicts: radar.conflicts,
        checked: radar.checked,
      });
    });
}

function describe(conflicts: Conflict[], lanes: string[], userBranch: string): string {
  const branch = `your branch ${plain(userBranch)}`;
  if (conflicts.length === 0) {
    return lanes.length === 1
      ? `no conflicts between lane ${plain(lanes[0]!)} and ${branch}`
      : `no conflicts between lanes ${lanes.map((l) => plain(l)).join(', ')}, nor with ${branch}`;
  }
  return conflicts
    .map((c) => {
      const who = c.against === 'lane' ? `lanes ${plain(c.a)} and ${plain(c.b)}` : `lane ${plain(c.a)} and ${branch}`;
      const count = `${c.files.length} file${c.files.length === 1 ? '' : 's'}`;
      // file names are a run's text: shown without escapes
      return [`${who} conflict in ${count}:`, ...c.files.map((f) => `  ${plain(f)}`)].join('\n');
    })
    .join('\n');
}
