// `ocr session new|list|archive`
import type { Command } from 'commander';
import os from 'node:os';
import { describeRepo } from '../engine/repo';
import { cleanSessionWorktrees } from '../engine/worktree';
import { defaultLanes, type Session, shortId, timeAgo } from '../../domain';
import type { CliContext } from './context';
import { plain, table } from './format';
import { lanesOption } from './options';

/** For `ocr session archive --clean`: removes the session's worktrees (and branches) and names what it removed. */
async function cleanWorktrees(session: Session, options: { keepBranches: boolean }): Promise<string[]> {
  const result = await cleanSessionWorktrees(session, options);
  return result.removedWorktrees.length > 0 ? result.removedWorktrees : result.removedFolders;
}

export function registerSessionCommands(program: Command, ctx: CliContext): void {
  const session = program.command('session').description('create, list and archive sessions');

  session
    .command('new')
    .description('start a session: one intent, one repository, parallel lanes')
    .requiredOption('--title <title>', 'a short title')
    .option('--intent <intent>', 'what the session is for', '')
    .option('--repo <path>', 'the git repository the session works on')
    .option('--lanes <lanes>', `comma-separated lane names (default ${defaultLanes.join(',')})`, lanesOption, [...defaultLanes])
    .action(async (o: { title: string; intent: string; repo?: string; lanes: string[] }) => {
      const lanes = o.lanes;
      const repo = o.repo ? await describeRepo(o.repo) : undefined;
      const store = await ctx.openStore();
      const s = await store.createSession({
        title: o.title,
        intent: o.intent,
        lanes,
        repo_id: repo?.repoId ?? null,
        repo_url: repo?.repoUrl ?? null,
        repo_path: repo?.repoPath ?? null,
        base_ref: repo?.baseRef ?? null,
        created_by: os.userInfo().username,
      });
      ctx.print(`created session ${shortId(s.id)} "${plain(s.title)}" with lanes ${plain(s.lanes.join(', '))}${repo ? ` on ${plain(repo.repoPath)}` : ''}\n${s.id}`, { id: s.id });
    });

  session
    .command('list')
    .description('list sessions (active ones; --all for archived too)')
    .option('--all', 'include archived sessions')
    .action(async (o: { all?: boolean }) => {
      const store = await ctx.openStore();
      const sessions = await store.listSessions({ includeArchived: Boolean(o.all) });
      ctx.print(
        sessions.length === 0
          ? 'no sessions yet; start one with `ocr session new --title …`'
          : table(
              ['ID', 'TITLE', 'STATUS', 'LANES', 'REPOSITORY', 'CREATED'],
              sessions.map((s) => [shortId(s.id), plain(s.title, 40), s.status, plain(s.lanes.join(',')), plain(s.repo_path ?? ''), timeAgo(s.created_at)]),
            ),
        { sessions },
      );
    });

  session
    .command('archive')
    .description('archive a session: its queued runs are canceled, running ones asked to stop')
    .argument('<id>', 'the session id (or its first characters)')
    .option('--clean', "remove the session's worktrees")
    .option('--keep-branches', 'with --clean, keep the lanes\' branches')
    .action(async (id: string, o: { clean?: boolean; keepBranches?: boolean }) => {
      const store = await ctx.openStore();
      const s = await store.archiveSession(await store.resolveId('session', id));
      let removed: string[] = [];
      if (o.clean) removed = await cleanWorktrees(s, { keepBranches: Boolean(o.keepBranches) });
      ctx.print(
        `archived session ${shortId(s.id)} "${plain(s.title)}"${removed.length ? `; removed ${removed.length} worktree(s)` : ''}`,
        { id: s.id, status: s.status, removed },
      );
    });
}
