// Runs git as a child process. Every call names its repository with -C, so nothing depends on the process's cwd.
import { execFile } from 'node:child_process';
import { OcrError } from '../store/errors';

export interface GitOptions {
  env?: NodeJS.ProcessEnv;
  /** bytes git may print before the call fails; patches can be large */
  maxBuffer?: number;
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

// Commits made inside a worktree need an identity even on machines where none is configured.
const quietEnv: NodeJS.ProcessEnv = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'Ops Control Room',
  GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'ocr@localhost',
  GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'Ops Control Room',
  GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'ocr@localhost',
};

export function gitBuffer(cwd: string, args: string[], options: GitOptions = {}): Promise<Buffer> {
  const full = ['-C', cwd, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      full,
      {
        encoding: 'buffer',
        maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024,
        env: { ...process.env, ...quietEnv, ...options.env },
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === 'number' ? error.code : null;
          reject(new GitError(args, stderr.toString('utf8') || error.message, code));
        } else {
          resolve(stdout);
        }
      },
    );
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
