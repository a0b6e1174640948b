// Runs git as a child process: the one place every git command of the worker and the extension goes through. Every
// call names its repository with -C, so nothing depends on the process's cwd, and every call is made safe against the
// repository's own configuration: a repository (one from elsewhere, or one a run has written to) must not be able to
// make OCR run a program of its choosing.
//
// What git runs because configuration says so, and what each call passes against it:
//
//   core.fsmonitor            a command run by anything that reads the index (status, add, diff, apply, read-tree,
//                             worktree add)                                           → -c core.fsmonitor=false
//   hooks                     $GIT_DIR/hooks or core.hooksPath: post-checkout (worktree add), reference-transaction
//                             (branch, fetch, worktree add -b), post-index-change (add, read-tree, apply), pre-auto-gc
//                                                   → -c core.hooksPath=<an empty folder of the user's own>
//   filter.<driver>.clean/smudge/process
//                             run by add, apply (to a working tree, and its --check) and checkout for the files
//                             .gitattributes names      → each of these keys the repository's own config (local,
//                             worktree, or a file those include) sets is set again to the user's own value of it
//                             (system, global, -c in the user's environment: git-lfs keeps working) or to nothing
//                             (.required to false)
//   diff.external, diff.<driver>.command/textconv
//                             run by diff, log and show                         → --no-ext-diff --no-textconv
//   core.sshCommand           run by fetch over ssh         → the user's own value, else $GIT_SSH, else plain ssh
//   core.askPass, credential.helper and credential.<url>.helper
//                             run when a fetch needs credentials (a partial clone fetches lazily from any command)
//                             → the list is emptied, then the user's own helpers and askPass are given again
//   core.gitProxy             runs for git:// fetches; the first value found wins, so -c cannot override it
//                             → GIT_PROXY_COMMAND= (empty) unless the user's environment sets one
//   remote.<name>.uploadpack, remote.<name>.receivepack
//                             the command a fetch (a push) from (to) a local path runs; the first value wins here too
//                             → fetch passes --upload-pack=git-upload-pack, push --receive-pack=git-receive-pack;
//                             every other command refuses the file protocol (-c protocol.file.allow=never), which
//                             only a partial clone's lazy fetch uses
//   protocol.ext.allow        the repository may allow ext:: URLs, which run any command → -c protocol.ext.allow=never
//   core.alternateRefsCommand run by fetch when the repository has alternates → -c core.alternateRefsCommand=true
//   gc.auto, maintenance.auto a fetch may start gc or maintenance in the background, outliving the call
//                                                                  → -c gc.auto=0 -c maintenance.auto=false
//   submodule.recurse, fetch.recurseSubmodules
//                             would fetch and check out submodules, each with its own configuration
//                             → -c submodule.recurse=false; fetch passes --no-recurse-submodules, push
//                             --recurse-submodules=no (push.recurseSubmodules)
//   core.pager, pager.<cmd>   only when git writes to a terminal, which it never does here  → --no-pager
//   core.editor, sequence.editor, gpg.program, merge.<driver>.driver
//                             only for commands OCR never runs (commit, rebase, tag, merge, log --show-signature;
//                             landing a lane commits with commit-tree --no-gpg-sign, read-tree and update-ref)
//
// The environment: GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE and their kind are dropped (the -C folder decides);
// GIT_TERMINAL_PROMPT=0 (nobody is there to answer). GIT_CONFIG_NOSYSTEM is not set: the system config belongs to the
// machine's administrator, not to a repository, and holds what makes git work there (proxies, certificates).
//
// Arguments: refs, commits and URLs that come from a session or an artifact go through `checkArgument` (one that
// starts with "-" is refused before git runs) and follow --end-of-options where the command takes it; paths follow --.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { copyFile, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OcrError } from '../store/errors';

export interface GitOptions {
  env?: NodeJS.ProcessEnv;
  /** bytes git may print before the call fails; patches can be large */
  maxBuffer?: number;
  /** written to git's standard input */
  input?: string | Buffer;
  /** exit codes that are an answer, not a failure: the output is returned (merge-tree exits 1 when there are conflicts) */
  answerExitCodes?: readonly number[];
}

export class GitError extends OcrError {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super('git_failed', `git ${args.join(' ')} failed: ${stderr.trim().split('\n').slice(-3).join(' ') || `exit ${exitCode}`}`);
    this.name = 'GitError';
  }
}

/**
 * `value` as an argument for git, or an invalid_input error when git could take it for an option (it starts with
 * "-") or it cannot be one argument (empty, or a control character such as a newline).
 */
export function checkArgument(value: string, what: string, hint: string): string {
  if (value.startsWith('-')) throw new OcrError('invalid_input', `${what} "${value}" starts with "-", so git would read it as an option`, hint);
  if (value === '') throw new OcrError('invalid_input', `${what} is empty`, hint);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new OcrError('invalid_input', `${what} ${JSON.stringify(value)} contains a control character`, hint);
  return value;
}

// Commits made inside a worktree need an identity even on machines where none is configured.
const quietEnv: NodeJS.ProcessEnv = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'Ops Control Room',
  GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'ocr@localhost',
  GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'Ops Control Room',
  GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'ocr@localhost',
};

// Variables that would point git at another repository, index or object store than the -C folder's.
const repositoryVariables = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_COMMON_DIR',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
];

function environment(extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of repositoryVariables) delete env[name];
  return { ...env, ...quietEnv, GIT_PROXY_COMMAND: process.env.GIT_PROXY_COMMAND ?? '', ...extra };
}

let noHooks: string | undefined;

/**
 * An empty folder only this user writes to, for core.hooksPath: <tmp>/ocr-no-hooks-<uid> (one for every process of
 * the user, made with mode 0700), checked before each use: a folder, not a link, the user's, closed to others, empty.
 * When it is not (somebody else made it, or put something in it) a new one is made with mkdtemp and removed when the
 * process ends.
 */
export function emptyHooksFolder(): string {
  if (noHooks && isOwnEmptyFolder(noHooks)) return noHooks;
  const shared = path.join(os.tmpdir(), `ocr-no-hooks-${typeof process.getuid === 'function' ? process.getuid() : 'user'}`);
  try {
    mkdirSync(shared, { mode: 0o700 });
  } catch {
    // there already, or not to be made: checked below either way
  }
  if (noHooks !== shared && isOwnEmptyFolder(shared)) return (noHooks = shared);
  const own = mkdtempSync(path.join(os.tmpdir(), 'ocr-no-hooks-'));
  process.once('exit', () => rmSync(own, { recursive: true, force: true }));
  return (noHooks = own);
}

function isOwnEmptyFolder(folder: string): boolean {
  try {
    const stat = lstatSync(folder);
    const ours = typeof process.getuid !== 'function' || stat.uid === process.getuid();
    return stat.isDirectory() && ours && (stat.mode & 0o077) === 0 && readdirSync(folder).length === 0;
  } catch {
    return false;
  }
}

interface ConfigEntry {
  scope: string;
  /** as git prints it: section and variable in lower case, a subsection as written */
  key: string;
  value: string;
}

/** Every configuration value git reads in `cwd`, with where it comes from. */
async function configEntries(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<ConfigEntry[]> {
  // `git config` reads files and runs nothing, so this one call needs no protection of its own. When it fails, so
  // would the command (a folder that is not there, a config git cannot read): that command does not run.
  const out = await execute(['--no-pager', '-C', cwd, 'config', '--show-scope', '--list', '-z'], args, { env });
  const entries: ConfigEntry[] = [];
  const fields = out.toString('utf8').split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const item = fields[i + 1]!;
    const eol = item.indexOf('\n');
    entries.push({ scope: fields[i]!, key: eol === -1 ? item : item.slice(0, eol), value: eol === -1 ? '' : item.slice(eol + 1) });
  }
  return entries;
}

// Scopes the user controls; everything else (local, worktree) is the repository's.
const userScopes = new Set(['system', 'global', 'command']);

/** The -c settings for one call in `cwd`: see the table at the top of this file. */
function safetySettings(cwd: string, entries: ConfigEntry[], fetching: boolean): string[] {
  const user = entries.filter((e) => userScopes.has(e.scope));
  // git prints sections and variables in lower case, subsections as written.
  const lastOfUser = (key: string) => user.filter((e) => e.key === key).at(-1)?.value;
  const settings: Array<[string, string]> = [
    ['core.fsmonitor', 'false'],
    ['core.hooksPath', emptyHooksFolder()],
    ['core.sshCommand', lastOfUser('core.sshcommand') ?? (process.env.GIT_SSH ? shellQuote(process.env.GIT_SSH) : 'ssh')],
    ['core.askPass', lastOfUser('core.askpass') ?? ''],
    ['core.alternateRefsCommand', 'true'],
    ['protocol.ext.allow', 'never'],
    ['protocol.file.allow', fetching ? 'always' : 'never'],
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
    ['submodule.recurse', 'false'],
    // An empty helper empties the list, URL-specific helpers included; then the user's own come back, in order.
    ['credential.helper', ''],
  ];
  // (-c splits at the first "=": a URL with one cannot be named that way, and its helper is left out.)
  for (const e of user) if (/^credential\.(.+\.)?helper$/.test(e.key) && !e.key.includes('=')) settings.push([e.key, e.value]);
  // Only the keys the repository sets are replaced: an empty `process` would switch the user's clean and smudge off too.
  const neutral: Record<string, string> = { clean: '', smudge: '', process: '', required: 'false' };
  const replaced = new Set<string>();
  for (const e of entries) {
    const m = /^filter\.(.+)\.(clean|smudge|process|required)$/.exec(e.key);
    if (!m || userScopes.has(e.scope) || replaced.has(e.key)) continue;
    if (m[1]!.includes('=')) {
      throw new OcrError('repo_unavailable', `the git config of ${cwd} defines the filter "${m[1]}", whose name cannot be switched off on git's command line`,
        `remove the [filter "${m[1]}"] section from the repository's .git/config`);
    }
    replaced.add(e.key);
    settings.push([e.key, lastOfUser(e.key) ?? neutral[m[2]!]!]);
  }
  return settings.flatMap(([key, value]) => ['-c', `${key}=${value}`]);
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** Options a subcommand always gets, right after its name. */
function subcommandOptions(subcommand: string): string[] {
  switch (subcommand) {
    case 'fetch':
      return ['--upload-pack=git-upload-pack', '--no-recurse-submodules'];
    case 'push':
      return ['--receive-pack=git-receive-pack', '--recurse-submodules=no'];
    case 'diff':
    case 'log':
    case 'show':
      return ['--no-ext-diff', '--no-textconv'];
    default:
      return [];
  }
}

/** The full command line of one git call in `cwd`, made safe as described at the top of this file. */
export async function gitCommandLine(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const [subcommand, ...rest] = args;
  if (!subcommand || subcommand.startsWith('-')) throw new Error(`git: the first argument must be the subcommand, not ${JSON.stringify(subcommand ?? '')}`);
  const settings = safetySettings(cwd, await configEntries(cwd, args, env), subcommand === 'fetch' || subcommand === 'push');
  return ['--no-pager', '-C', cwd, ...settings, subcommand, ...subcommandOptions(subcommand), ...rest];
}

export async function gitBuffer(cwd: string, args: string[], options: GitOptions = {}): Promise<Buffer> {
  const env = environment(options.env);
  return execute(await gitCommandLine(cwd, args, env), args, { ...options, env });
}

function execute(full: string[], args: readonly string[], options: GitOptions & { env: NodeJS.ProcessEnv }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      full,
      { encoding: 'buffer', maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024, env: options.env },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === 'number' ? error.code : null;
        if (error && !(code !== null && options.answerExitCodes?.includes(code))) {
          reject(new GitError(args, stderr.toString('utf8') || error.message, code));
        } else {
          resolve(stdout);
        }
      },
    );
    child.stdin?.on('error', () => undefined); // git exiting before it read everything shows in its exit
    child.stdin?.end(options.input ?? '');
  });
}

export async function git(cwd: string, args: string[], options: GitOptions = {}): Promise<string> {
  return (await gitBuffer(cwd, args, options)).toString('utf8');
}

/** git's answer without its trailing newline, or undefined when git says no (a missing ref, not a repository). */
export async function gitMaybe(cwd: string, args: string[], options: GitOptions = {}): Promise<string | undefined> {
  try {
    return (await git(cwd, args, options)).trim();
  } catch (e) {
    if (e instanceof GitError) return undefined;
    throw e;
  }
}

export interface RepositoryGitDirs {
  /** the folder git keeps the objects, refs and shared config in (`--git-common-dir`), absolute and real */
  common: string;
  /** the checkout's own git folder (`--git-dir`), absolute */
  own: string;
}

const gitDirsCache = new Map<string, Promise<RepositoryGitDirs>>();

/**
 * A repository's git folders. Asked of git once per path and process: every run of a lane needs them, and they do not
 * move while the folder is there (asked again when the common folder is gone). Rejects with a GitError when `repoPath`
 * is not a repository.
 */
export async function repositoryGitDirs(repoPath: string): Promise<RepositoryGitDirs> {
  const key = path.resolve(repoPath);
  const cached = gitDirsCache.get(key);
  if (cached) {
    const dirs = await cached.catch(() => undefined);
    if (dirs && existsSync(dirs.common)) return dirs;
    if (gitDirsCache.get(key) === cached) gitDirsCache.delete(key);
  }
  const asked = (async () => {
    const [common, own] = (await git(key, ['rev-parse', '--path-format=absolute', '--git-common-dir', '--git-dir'])).trim().split('\n') as [string, string];
    return { common: realpathSync(common), own: path.resolve(own) };
  })();
  gitDirsCache.set(key, asked);
  asked.catch(() => gitDirsCache.get(key) === asked && gitDirsCache.delete(key));
  return asked;
}

/**
 * Copies a worktree's index to a throwaway one (GIT_INDEX_FILE) with its times. git trusts an index entry's cached stat
 * only for files changed before the index was written; a copy dated now would make an edit of the same second that
 * kept the file's size look unchanged, and `git add` would miss it. Nothing to copy (no index yet) is fine: `add` then
 * builds one from nothing.
 */
export async function copyIndex(from: string, to: string): Promise<void> {
  try {
    const { atime, mtime } = await stat(from);
    await copyFile(from, to);
    await utimes(to, atime, mtime);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
