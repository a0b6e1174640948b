// `ocr land RUN|LANE --squash|--rebase|--pr [--session S] [--message M] [--repo PATH] [--yes | --onto BRANCH]`: a
// lane's work onto your current branch, or to a pull request; `ocr land LANE --reset --session S [--force]` starts
// the lane again from your branch afterwards. Both are worker/lanes/land.ts, as the editor's Land Lane… and Reset Lane.
import path from 'node:path';
import type { Command } from 'commander';
import { type Run, type Session, shortId } from '../../domain';
import { gitMaybe } from '../engine/git';
import { repoIdOf } from '../engine/repo';
import {
  defaultLandMessage,
  type LandMode,
  type LandPlan,
  type LandResult,
  landLane,
  laneRunForMessage,
  planLand,
  refuseBusyLane,
  type ResetResult,
  resetLane,
} from '../lanes/land';
import { OcrError } from '../store/errors';
import type { Store } from '../store/store';
import type { CliContext } from './context';
import { plain } from './format';

interface LandFlags {
  session?: string;
  squash?: boolean;
  rebase?: boolean;
  pr?: boolean;
  reset?: boolean;
  message?: string;
  repo?: string;
  yes?: boolean;
  onto?: string;
  remote?: string;
  base?: string;
  linkDirs?: string[];
  force?: boolean;
}

const list = (value: string): string[] => value.split(',').map((v) => v.trim()).filter(Boolean);

export function registerLandCommand(program: Command, ctx: CliContext): void {
  program
    .command('land')
    .description("a lane's work onto your current branch (one squashed commit, or its commits rebased), or to a pull request; --reset starts the lane again from your branch")
    .argument('<run-or-lane>', 'a run (id or its first characters): its lane is landed, with its intent as the message; or a lane of --session')
    .option('--session <id>', 'the session of the lane (id or its first characters)')
    .option('--squash', 'one commit on your branch with the lane\'s changes')
    .option('--rebase', "the lane's commits replayed onto your branch, which fast-forwards to them")
    .option('--pr', "push the lane's branch and open a pull request (with gh when it is installed and signed in; else the commands to run)")
    .option('--reset', "start the lane again from your branch's head: its branch and worktree move there, clean (its setup stays)")
    .option('--message <text>', "the commit message (default: the run's intent)")
    .option('--repo <path>', 'the clone the lanes were made from (default: the folder the session was started in)')
    .option('--yes', 'land on the branch checked out in the repository, whichever it is')
    .option('--onto <branch>', 'land only if this is the branch checked out (the confirmation --yes gives without naming it)')
    .option('--remote <name>', "--pr: the remote to push to (default: the lane branch's upstream, else origin)")
    .option('--base <branch>', '--pr: the branch the pull request is for (default: what your branch tracks, else its name)')
    .option('--link-dirs <dirs>', 'folders linked into the lane worktrees (worktrees.linkDirs), never landed, comma-separated (default: OCR_WORKTREE_LINK_DIRS)', list)
    .option('--force', '--reset: discard what the lane has that your branch does not')
    .action(async (target: string, o: LandFlags) => {
      const modes = (['squash', 'rebase', 'pr', 'reset'] as const).filter((m) => o[m]);
      if (modes.length !== 1) {
        throw new OcrError('invalid_input', modes.length === 0 ? 'say how to land: --squash, --rebase or --pr (or --reset to start the lane again)' : `choose one of ${modes.map((m) => `--${m}`).join(', ')}`,
          'run `ocr land --help` for usage');
      }
      const mode = modes[0]!;
      if (o.force && mode !== 'reset') throw new OcrError('invalid_input', '--force goes with --reset', 'a landing never discards anything');
      const store = await ctx.openStore();
      const { session, lane, run } = await resolveTarget(store, target, o.session);
      const repoPath = await repoOf(session, o.repo);
      await refuseBusyLane(store, session.id, lane);
      const linkDirs = o.linkDirs ?? (process.env.OCR_WORKTREE_LINK_DIRS ? list(process.env.OCR_WORKTREE_LINK_DIRS) : []);
      if (mode === 'reset') {
        const reset = await resetLane({ repoPath, sessionId: session.id, lane, force: Boolean(o.force), linkDirs });
        ctx.print(describeReset(reset), { session_id: session.id, ...reset });
        return;
      }
      const message = o.message ?? defaultLandMessage(run ?? (await laneRunForMessage(store, session.id, lane)), session, lane);
      const options = { repoPath, sessionId: session.id, lane, mode, message, linkDirs, ...(o.remote ? { remote: o.remote } : {}), ...(o.base ? { base: o.base } : {}) };
      let confirmBranch = o.onto;
      if (mode !== 'pr' && confirmBranch === undefined) {
        // Everything a landing refuses is said first; only then that it needs the branch named.
        const plan = await planLand(options);
        if (!o.yes) {
          throw new OcrError('invalid_input', `landing lane ${lane} (${describePlan(plan)}) changes your branch ${plan.userBranch.name}`,
            `pass --yes, or --onto ${plan.userBranch.name}, to land it there`);
        }
        confirmBranch = (await gitMaybe(repoPath, ['symbolic-ref', '--quiet', '--short', 'HEAD'])) || undefined;
      }
      const landed = await landLane({ ...options, ...(confirmBranch !== undefined ? { confirmBranch } : {}) });
      ctx.print(describeLanded(landed, session), { session_id: session.id, ...landed });
    });
}

/** The session, lane and (when a run was named) run that `target` names. */
async function resolveTarget(store: Store, target: string, sessionText: string | undefined): Promise<{ session: Session; lane: string; run?: Run }> {
  if (sessionText !== undefined) {
    const session = await store.getSession(await store.resolveId('session', sessionText));
    if (session.lanes.includes(target)) return { session, lane: target };
    const run = await runOf(store, target, session);
    if (run.session_id !== session.id) {
      throw new OcrError('invalid_input', `run ${shortId(run.id)} is not a run of session ${shortId(session.id)}`, `name one of its lanes (${session.lanes.join(', ')}) or one of its runs`);
    }
    return { session, lane: run.lane, run };
  }
  if (/^[A-Za-z0-9_-]{1,16}$/.test(target) && !/^[0-9a-f-]{4,}$/i.test(target)) {
    throw new OcrError('invalid_input', `"${target}" is not a run id; to land lane ${target}, name its session`, `pass --session S, or give a run of the lane`);
  }
  const run = await runOf(store, target, undefined);
  return { session: await store.getSession(run.session_id), lane: run.lane, run };
}

async function runOf(store: Store, text: string, session: Session | undefined): Promise<Run> {
  try {
    return await store.getRun(await store.resolveId('run', text));
  } catch (e) {
    if (session && e instanceof OcrError && (e.code === 'invalid_input' || e.code === 'not_found')) {
      throw new OcrError('invalid_input', `"${text}" is neither a lane of session ${shortId(session.id)} (${session.lanes.join(', ')}) nor one of its runs`, 'name a lane, or a run by its id');
    }
    throw e;
  }
}

async function repoOf(session: Session, named: string | undefined): Promise<string> {
  const name = `session ${shortId(session.id)}`;
  if (!session.repo_id) throw new OcrError('invalid_state', `${name} has no repository, so its lanes have no branches to land`, 'start a session with --repo to land its lanes');
  const repoPath = named ? path.resolve(named) : session.repo_path;
  if (!repoPath) throw new OcrError('repo_unavailable', `${name} recorded no folder on this machine`, 'pass --repo PATH: the clone its lanes were made from');
  if ((await repoIdOf(repoPath)) !== session.repo_id) {
    throw new OcrError('repo_unavailable', `${repoPath} is not a clone of the repository of ${name}`, 'pass --repo PATH: the clone its lanes were made from on this machine');
  }
  return repoPath;
}

const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function describePlan(plan: LandPlan): string {
  const what: Record<LandMode, string> = { squash: 'squash', rebase: 'rebase', pr: 'pull request' };
  return `${what[plan.mode]}: ${count(plan.commits, 'commit')}, ${count(plan.files.length, 'file')}`;
}

function fileLines(plan: LandPlan, max = 20): string[] {
  const mark = { added: 'A', modified: 'M', deleted: 'D', 'type-changed': 'T' } as const;
  const lines = plan.files.slice(0, max).map((f) => `  ${mark[f.status]} ${plain(f.path)}`);
  if (plan.files.length > max) lines.push(`  … and ${plan.files.length - max} more`);
  return lines;
}

function describeLanded(landed: LandResult, session: Session): string {
  const { plan } = landed;
  const subject = plain(plan.message.split('\n')[0]!, 72);
  const committed = landed.laneCommit ? [`lane ${plan.lane}'s uncommitted changes are commit ${landed.laneCommit.slice(0, 12)} on ${plan.laneBranch}`] : [];
  if (landed.mode !== 'pr') {
    const head = landed.mode === 'squash'
      ? `landed lane ${plan.lane} on ${landed.branch} as ${landed.after.slice(0, 12)} "${subject}": ${count(plan.files.length, 'file')}`
      : `rebased lane ${plan.lane} onto ${landed.branch}: ${count(plan.commits, 'commit')}, ${count(plan.files.length, 'file')}; ${landed.branch} is at ${landed.after.slice(0, 12)}`;
    const next = landed.mode === 'squash'
      ? [`the lane keeps its own commits; \`ocr land ${plan.lane} --reset --session ${shortId(session.id)}\` starts it again from ${landed.branch}`]
      : [];
    return [head, ...fileLines(plan), ...committed, ...next].join('\n');
  }
  const pushed = `pushed ${plan.laneBranch} to ${landed.remote}`;
  if (landed.url) return [`opened a pull request for lane ${plan.lane}: ${landed.url}`, `${pushed} (${describePlan(plan)})`, ...committed].join('\n');
  return [
    `${pushed} (${describePlan(plan)}); ${landed.ghSkipped ?? 'gh did not open the request'}`,
    'open the pull request with:',
    ...landed.commands.map((c) => `  ${c}`),
    ...(landed.compareUrl ? ['or in the browser:', `  ${landed.compareUrl}`] : []),
    ...(plan.conflicts.length > 0 ? [`it conflicts with your branch in ${count(plan.conflicts.length, 'file')}: ${plan.conflicts.map((f) => plain(f)).join(', ')}`] : []),
    ...committed,
  ].join('\n');
}

function describeReset(reset: ResetResult): string {
  const where = reset.userBranch ?? 'your HEAD';
  const lines = [`lane ${reset.lane} starts again from ${where} (${reset.to.slice(0, 12)}): ${reset.laneBranch}${reset.folder ? ` and ${reset.folder}` : ''}, clean`];
  if (reset.discarded.length > 0) {
    lines.push(`discarded ${count(reset.discarded.length, 'file')} it had not landed: ${reset.discarded.slice(0, 10).map((f) => plain(f)).join(', ')}${reset.discarded.length > 10 ? ', …' : ''}`);
    lines.push(`the lane as it was is commit ${reset.was.slice(0, 12)}: \`git branch NAME ${reset.was.slice(0, 12)}\` keeps it (until then, git gc removes it in time)`);
  }
  return lines.join('\n');
}
