// Test support for the extension-host suite: a real git repository in a temporary folder, a session on it in the test
// database (OCR_DATABASE_URL), and a real worker that runs the session's runs in lane worktrees.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import type { RunExecution } from '../../../worker/engine/execution';
import { describeRepo } from '../../../worker/engine/repo';
import { Worker } from '../../../worker/engine/worker';
import { openStore } from '../../../worker/store/open';
import type { Store } from '../../../worker/store/store';
import { type DiffFile, isFinal, type Run, type Session } from '../../../domain';
import { until } from '../until';

export { until };

export const gitIdentity = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, ...gitIdentity } });
}


const extensionId = 'ops-control-room.ops-control-room';

/**
 * Pauses the editor's own worker (it serves every session whose repository is on this machine, so it would compete
 * with the fixture's worker for the same lane worktrees) and returns what resumes it.
 */
async function pauseEditorWorker(): Promise<() => Promise<void>> {
  const extension = vscode.extensions.getExtension<{ workerState?(): string }>(extensionId);
  const api = await extension?.activate();
  const state = () => api?.workerState?.() ?? 'off';
  await until('the editor worker to settle', () => state() !== 'starting' && state() !== 'stopping', 120_000);
  if (state() !== 'on') return async () => undefined;
  await vscode.commands.executeCommand('ocr.toggleWorker');
  await until('the editor worker to pause', () => state() === 'off', 120_000);
  return async () => {
    if (state() !== 'off') return;
    await vscode.commands.executeCommand('ocr.toggleWorker');
    await until('the editor worker to run again', () => state() === 'on', 120_000);
  };
}

export interface LaneFixture {
  readonly store: Store;
  readonly session: Session;
  /** the repository the session works on */
  readonly repo: string;
  /** a fresh temporary folder that is removed with the fixture */
  readonly scratch: string;
  /** queues a shell run in a lane */
  run(lane: string, command: string): Promise<Run>;
  /** waits until the run has ended */
  finished(runId: string): Promise<Run>;
  /**
   * A finished run, in a session of its own on the same repository, whose diff artifact is what a worker that lies
   * would store: `patch` as the patch, `summary` as the files it claims the patch changes.
   */
  forgedRun(patch: string, summary: Array<Pick<DiffFile, 'path' | 'status'>>): Promise<{ run: Run; session: Session }>;
  /** stops the fixture's worker (it runs git now and then while idle) */
  stopWorker(): Promise<void>;
  dispose(): Promise<void>;
}

/** A repository with one commit of `files`, a session on it, and a worker serving that session only. */
export async function laneFixture(title: string, files: Record<string, string | Buffer>): Promise<LaneFixture> {
  const url = process.env.OCR_DATABASE_URL;
  if (!url) throw new Error('OCR_DATABASE_URL is not set: the extension-host tests need a PostgreSQL database (npm run test:vscode creates one)');
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-lane-'));
  const repo = path.join(scratch, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(repo, name)), { recursive: true });
    writeFileSync(path.join(repo, name), content);
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'initial');
  const resumeEditorWorker = await pauseEditorWorker();
  const store = await openStore(url);
  const described = await describeRepo(repo);
  const session = await store.createSession({
    title,
    repo_id: described.repoId,
    repo_path: described.repoPath,
    base_ref: described.baseRef,
    lanes: ['A', 'B'],
  });
  const worker = new Worker(store, {
    id: `test-${session.id.slice(0, 8)}`,
    sessions: [session.id],
    repos: [repo],
    worktreeRoot: path.join(scratch, 'worktrees'),
    concurrency: 2,
    pollMs: 250,
    killGraceMs: 500,
  });
  await worker.start();
  const finished = (runId: string) =>
    until(`run ${runId} to end`, async () => {
      const run = await store.getRun(runId);
      return isFinal(run.status) ? run : undefined;
    });
  return {
    store,
    session,
    repo: described.repoPath,
    scratch,
    run: (lane, command) => store.createRun({ session_id: session.id, lane, intent: command, executor: 'shell', spec: { shell: '/bin/sh' } }),
    finished,
    async forgedRun(patch, summary) {
      const forged = await store.createSession({ title: `${title} (forged)`, repo_id: described.repoId, repo_path: described.repoPath, base_ref: described.baseRef, lanes: ['A'] });
      const meta = {
        base: described.baseRef,
        files: summary.length,
        insertions: 0,
        deletions: 0,
        binaryFiles: 0,
        entries: summary.map((e) => ({ ...e, insertions: 0, deletions: 0, binary: false })),
        encoding: 'utf8',
        omitted: false,
      };
      const liar = new Worker(store, { id: `forger-${forged.id.slice(0, 8)}`, sessions: [forged.id], repos: [repo], pollMs: 250 }, {
        executor: (run, context): RunExecution => ({
          run,
          lost: false,
          processGroup: undefined,
          cancel: () => undefined,
          loseLease: () => undefined,
          async execute() {
            const lease = { runId: run.id, workerId: context.workerId, attempt: run.attempt };
            await context.store.putArtifact(lease, { kind: 'diff', name: 'lane-A.patch', mime: 'text/x-diff', content: patch, meta });
            return { status: 'succeeded', exitCode: 0, error: null };
          },
        }),
      });
      await liar.start();
      try {
        const queued = await store.createRun({ session_id: forged.id, lane: 'A', intent: 'forge a diff', executor: 'shell', spec: { shell: '/bin/sh' } });
        return { run: await finished(queued.id), session: forged };
      } finally {
        await liar.stop({ graceMs: 0 });
      }
    },
    stopWorker: () => worker.stop({ graceMs: 0 }),
    async dispose() {
      await worker.stop({ graceMs: 0 }).catch(() => undefined);
      await store.close().catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
      await resumeEditorWorker();
    },
  };
}
