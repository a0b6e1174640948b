// What identifies a repository across machines: its root commit. A clone anywhere has the same one.
import path from 'node:path';
import { OcrError } from '../store/errors';
import { git, gitMaybe } from './git';

export interface RepoDescription {
  /** the root commit hash; the same in every clone */
  repoId: string;
  /** the absolute top-level folder of the working tree */
  repoPath: string;
  /** the commit HEAD points at now */
  baseRef: string;
  /** the fetch URL of `origin`, when there is one */
  repoUrl: string | null;
}

export async function describeRepo(folder: string): Promise<RepoDescription> {
  const top = await gitMaybe(path.resolve(folder), ['rev-parse', '--show-toplevel']);
  if (!top) {
    throw new OcrError('repo_unavailable', `${folder} is not inside a git repository`, 'pass the folder of a git clone, or run `git init` there');
  }
  const baseRef = await gitMaybe(top, ['rev-parse', '--verify', '--end-of-options', 'HEAD^{commit}']);
  if (!baseRef) {
    throw new OcrError('repo_unavailable', `${top} has no commit yet`, 'make a first commit, then try again');
  }
  return {
    repoId: await rootCommit(top),
    repoPath: path.resolve(top),
    baseRef,
    repoUrl: (await gitMaybe(top, ['remote', 'get-url', '--end-of-options', 'origin'])) ?? null,
  };
}

/** The oldest root commit reachable from HEAD; a history with several roots (merged projects) keeps a stable choice. */
export async function rootCommit(repoPath: string): Promise<string> {
  const roots = (await git(repoPath, ['rev-list', '--max-parents=0', '--end-of-options', 'HEAD'])).trim().split('\n').filter(Boolean);
  const last = roots[roots.length - 1];
  if (!last) throw new OcrError('repo_unavailable', `${repoPath} has no commit yet`, 'make a first commit, then try again');
  return last;
}

/** The repo id of a folder, or undefined when it is not a git repository with a commit. */
export async function repoIdOf(folder: string): Promise<string | undefined> {
  try {
    return (await describeRepo(folder)).repoId;
  } catch {
    return undefined;
  }
}

/**
 * The repositories this machine has, by repo id: the ones named (--repo), and those sessions were started from on
 * this machine (their recorded folder still holds the same repository).
 */
export class LocalRepos {
  private readonly byId = new Map<string, string>();
  private readonly looked = new Set<string>();

  /** Adds a clone the worker was told about; fails when it is not a git repository with a commit. */
  async add(folder: string): Promise<RepoDescription> {
    const repo = await describeRepo(folder);
    this.byId.set(repo.repoId, repo.repoPath);
    this.looked.add(repo.repoPath);
    return repo;
  }

  ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  /** Looks at the folders these sessions recorded; true when a new repository was found. */
  async discover(sessions: Array<{ repo_id: string | null; repo_path: string | null }>): Promise<boolean> {
    let found = false;
    for (const s of sessions) {
      if (!s.repo_id || !s.repo_path || this.byId.has(s.repo_id) || this.looked.has(s.repo_path)) continue;
      this.looked.add(s.repo_path);
      if ((await repoIdOf(s.repo_path)) === s.repo_id) {
        this.byId.set(s.repo_id, path.resolve(s.repo_path));
        found = true;
      }
    }
    return found;
  }

  /** The local clone for a session; undefined when the session has no repository. */
  async pathFor(session: { id: string; repo_id: string | null; repo_path: string | null }): Promise<string | undefined> {
    if (!session.repo_id) return undefined;
    const known = this.byId.get(session.repo_id);
    if (known) return known;
    await this.discover([session]);
    const found = this.byId.get(session.repo_id);
    if (found) return found;
    throw new OcrError(
      'repo_unavailable',
      `this worker has no clone of the repository of session ${session.id} (repo id ${session.repo_id.slice(0, 12)})`,
      'start the worker with --repo PATH pointing at a clone of that repository',
    );
  }
}
