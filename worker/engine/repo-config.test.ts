// A run cannot keep a change to the user's repository's shared git files (its config and hooks), and what reaches git
// from a session cannot be read as an option: the guard on its own, then runs through the real Worker.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { DiffSummary, isFinal, type Run, type Session } from '../../domain';
import { eventually, makeRepo, sh, tempDir } from './git.test-support';
import { describeRepo } from './repo';
import { protectRepoConfig } from './repo-config';
import { Worker, type WorkerOptions } from './worker';

const dir = tempDir();
afterAll(() => dir.remove());

function repoNamed(name: string): string {
  const repo = path.join(dir.path, name);
  mkdirSync(repo);
  makeRepo(repo, { 'a.txt': 'one\n' });
  return repo;
}

/** Every file under the repository's git folder that the guard keeps, with its content. */
function gitFiles(repo: string): Record<string, string> {
  const files: Record<string, string> = { config: readFileSync(path.join(repo, '.git', 'config'), 'utf8') };
  for (const name of readdirSync(path.join(repo, '.git', 'hooks'))) {
    const file = path.join(repo, '.git', 'hooks', name);
    files[`hooks/${name}`] = `${statSync(file).mode.toString(8)} ${readFileSync(file, 'utf8')}`;
  }
  return files;
}

describe('protectRepoConfig', () => {
  it('puts back the config and hooks as they were and names what changed', async () => {
    const repo = repoNamed('guard');
    sh(repo, 'git config user.name Someone');
    const before = gitFiles(repo);
    const guard = await protectRepoConfig(repo);
    sh(repo, 'git config core.hooksPath /tmp/x && git config --unset user.name && git config alias.x "!touch pwned"');
    writeFileSync(path.join(repo, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\ntouch pwned\n', { mode: 0o755 });
    chmodSync(path.join(repo, '.git', 'hooks', 'pre-push.sample'), 0o644);
    const changes = await guard.restore();
    expect(gitFiles(repo)).toEqual(before);
    expect(existsSync(path.join(repo, '.git', 'config.lock'))).toBe(false);
    expect(changes).toEqual([
      `the run changed ${path.join(repo, '.git', 'config')} (added core.hookspath=/tmp/x, alias.x=!touch pwned; removed user.name=Someone); restored it as it was`,
      `the run changed the hooks folder ${path.join(repo, '.git', 'hooks')} (added pre-commit, changed pre-push.sample); restored it as it was`,
    ]);
    expect(await guard.restore()).toEqual([]);
  });

  it('says a config git cannot read was written, and puts back one that was missing or made a folder', async () => {
    const repo = repoNamed('garbage');
    const config = path.join(repo, '.git', 'config');
    const before = readFileSync(config);
    let guard = await protectRepoConfig(repo);
    writeFileSync(config, '[core\nnot config at all');
    expect(await guard.restore()).toEqual([`the run changed ${config} (wrote what git cannot read as config); restored it as it was`]);
    expect(readFileSync(config)).toEqual(before);
    guard = await protectRepoConfig(repo);
    sh(repo, 'rm -rf .git/hooks && mkdir -p .git/hooks/deep && touch .git/hooks/deep/post-checkout');
    const [hooks] = await guard.restore();
    for (const change of ['added deep,', 'added deep/post-checkout,', 'removed pre-commit.sample,']) expect(hooks).toContain(change);
    expect(readdirSync(path.join(repo, '.git', 'hooks'))).not.toContain('deep');
    expect(readdirSync(path.join(repo, '.git', 'hooks'))).toContain('pre-commit.sample');
  });

  it('runs that overlap share the state from before the first: a later one does not keep what an earlier one did', async () => {
    const repo = repoNamed('overlap');
    const before = gitFiles(repo);
    const first = await protectRepoConfig(repo);
    sh(repo, 'git config core.fsmonitor "touch pwned"');
    const second = await protectRepoConfig(repo);
    expect((await first.restore()).join('\n')).toContain('added core.fsmonitor=touch pwned');
    expect(gitFiles(repo)).toEqual(before);
    expect(await second.restore()).toEqual([]);
    expect(gitFiles(repo)).toEqual(before);
  });
});

describe('a run and the user\'s repository', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: PostgresStore;
  const workers: Worker[] = [];
  const worktreeRoot = path.join(dir.path, 'worktrees');

  beforeAll(async () => {
    db = await createTestDatabase();
    store = await openStore(db.url);
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  async function startWorker(session: Session, options: WorkerOptions = {}): Promise<Worker> {
    const worker = new Worker(store, { worktreeRoot, sessions: [session.id], pollMs: 500, recoverMs: 500, ...options });
    workers.push(worker);
    await worker.start();
    return worker;
  }

  async function finished(runId: string): Promise<Run> {
    let run = await store.getRun(runId);
    await eventually(async () => isFinal((run = await store.getRun(runId)).status), `run ${runId} finished`, 30_000);
    return run;
  }

  async function logOf(runId: string): Promise<Array<{ text: string; level: string }>> {
    return (await store.listEvents(runId, 0, 5000)).map((e) => ({ text: e.text, level: e.level }));
  }

  async function sessionOn(repo: string, fields: Partial<Pick<Session, 'base_ref' | 'repo_url'>> = {}): Promise<Session> {
    const d = await describeRepo(repo);
    return store.createSession({ title: path.basename(repo), lanes: ['A'], repo_id: d.repoId, repo_path: d.repoPath, base_ref: d.baseRef, repo_url: d.repoUrl, ...fields });
  }

  it('a run that sets core.hooksPath and writes .git/config and a hook leaves them as they were, and its log says what changed', async () => {
    const repo = repoNamed('run-config');
    const before = gitFiles(repo);
    const session = await sessionOn(repo);
    const run = await store.createRun({
      session_id: session.id,
      lane: 'A',
      intent: [
        'git config core.hooksPath /tmp/x',
        'common=$(git rev-parse --git-common-dir)',
        `printf '[alias]\\n\\tpwn = !touch pwned\\n' >> "$common/config"`,
        `printf '#!/bin/sh\\ntouch pwned\\n' > "$common/hooks/pre-commit"`,
        'echo changed > a.txt',
      ].join(' && '),
    });
    await startWorker(session, { repos: [repo] });
    expect(await finished(run.id)).toMatchObject({ status: 'succeeded' });
    expect(gitFiles(repo)).toEqual(before);
    const warnings = (await logOf(run.id)).filter((e) => e.level === 'warn').map((e) => e.text);
    expect(warnings).toEqual([
      `the run changed ${path.join(repo, '.git', 'config')} (added core.hookspath=/tmp/x, alias.pwn=!touch pwned); restored it as it was`,
      `the run changed the hooks folder ${path.join(repo, '.git', 'hooks')} (added pre-commit); restored it as it was`,
    ]);
    // The run's own work is kept: its diff has the change, and the config never was part of it.
    const summary = DiffSummary.parse((await store.getArtifact(run.id, 'diff'))!.meta);
    expect(summary.entries.map((e) => e.path)).toEqual(['a.txt']);
  });

  it('a session whose base ref is --upload-pack=… is refused, creates nothing and runs nothing', async () => {
    const origin = repoNamed('dash-origin');
    const clone = path.join(dir.path, 'dash-clone');
    sh(dir.path, `git clone -q ${origin} ${clone}`);
    const pwned = path.join(dir.path, 'pwned');
    // the store refuses such a session; one another client wrote straight through SQL is refused by the worker
    await expect(sessionOn(clone, { base_ref: `--upload-pack=touch ${pwned}` })).rejects.toMatchObject({ code: 'invalid_input' });
    const d = await describeRepo(clone);
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const { rows } = await sql.query<{ id: string }>('select id from ops.create_session($1, $2, $3, $4, $5, $6, $7)', [
      'dash-clone', '', ['A'], d.repoId, d.repoUrl, d.repoPath, `--upload-pack=touch ${pwned}`,
    ]);
    await sql.end();
    const session = await store.getSession(rows[0]!.id);
    const branches = sh(clone, 'git branch -a');
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo should not run' });
    await startWorker(session, { repos: [clone] });
    const done = await finished(run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toBe(
      `the session's base ref "--upload-pack=touch ${pwned}" starts with "-", so git would read it as an option (start the session again from a commit hash or a branch name of the repository)`,
    );
    expect((await logOf(run.id)).map((e) => e.text)).not.toContain('should not run');
    expect(existsSync(pwned)).toBe(false);
    expect(existsSync(path.join(worktreeRoot, session.id.replace(/-/g, '').slice(0, 8)))).toBe(false);
    expect(sh(clone, 'git branch -a')).toBe(branches);
    expect(sh(clone, 'git worktree list').trim().split('\n')).toHaveLength(1);
  });

  it("a repository whose core.fsmonitor runs a command: the worker's worktree and diff never run it", async () => {
    const repo = repoNamed('fsmonitor');
    const marker = path.join(dir.path, 'fsmonitor-ran');
    sh(repo, `git config core.fsmonitor 'touch ${marker}; false'`);
    const session = await sessionOn(repo);
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo two >> a.txt' });
    await startWorker(session, { repos: [repo] });
    expect(await finished(run.id)).toMatchObject({ status: 'succeeded' });
    const summary = DiffSummary.parse((await store.getArtifact(run.id, 'diff'))!.meta);
    expect(summary.entries.map((e) => e.path)).toEqual(['a.txt']);
    expect(existsSync(marker)).toBe(false);
    // The user's own git does run it: the setting is real.
    sh(repo, 'git status --porcelain >/dev/null');
    expect(existsSync(marker)).toBe(true);
  });
});
