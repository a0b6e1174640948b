// Compare attempts end to end: a comparison group of three attempts with different executors (two coding agents, played
// by the fake CLIs, and a shell command), each checked by a verify command in its worktree, run by a real worker on a
// real database and git repository; the Compare table's numbers are checked against git's own diff of each worktree.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgentCli, describeChecks, isFinal, type Session } from '../../domain';
import { eventually, makeRepo, sh, tempDir } from '../engine/git.test-support';
import { describeRepo } from '../engine/repo';
import { Worker } from '../engine/worker';
import { laneFolder } from '../engine/worktree';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { compareGroup, queueComparison, sessionGroups } from './compare';

const fakes = path.join(__dirname, '..', 'agents', 'fixtures', 'fake-cli');
const profiles = Object.fromEntries(AgentCli.options.map((cli) => [cli, { cli, program: path.join(fakes, cli) }]));

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const dir = tempDir('ocr-compare-');
const workers: Worker[] = [];
const worktreeRoot = path.join(dir.path, 'worktrees');

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore(db.url);
  process.env.FAKE_AGENT_STATE = path.join(dir.path, 'agent-state');
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

async function repoSession(name: string, lanes = ['A', 'B', 'C', 'D']): Promise<{ session: Session; repo: string }> {
  const repo = path.join(dir.path, name);
  mkdirSync(repo, { recursive: true });
  makeRepo(repo, { 'README.md': '# app\n', 'notes.md': 'first line\n' });
  const info = await describeRepo(repo);
  const session = await store.createSession({ title: name, repo_id: info.repoId, repo_path: info.repoPath, base_ref: info.baseRef, lanes });
  const worker = new Worker(store, { worktreeRoot, repos: [repo], sessions: [session.id], agents: profiles, passEnv: ['FAKE_AGENT_STATE'], concurrency: 3, pollMs: 300, recoverMs: 500 });
  workers.push(worker);
  await worker.start();
  return { session, repo };
}

/** git's own numbers for a lane's worktree against the session's base: files, insertions, deletions. */
function gitNumbers(session: Session, lane: string): { files: number; insertions: number; deletions: number } {
  const folder = laneFolder(worktreeRoot, session.id, lane);
  sh(folder, 'git add -A -N .');
  const rows = sh(folder, `git diff --numstat ${session.base_ref} -- . ':!.env' ':!.env.local'`).trim().split('\n').filter(Boolean);
  return {
    files: rows.length,
    insertions: rows.reduce((n, r) => n + Number(r.split('\t')[0]), 0),
    deletions: rows.reduce((n, r) => n + Number(r.split('\t')[1]), 0),
  };
}

// The verify command: passes when notes.md was edited by an agent, printing jest's summary either way.
const verify = `if grep -q 'edited by fake' notes.md; then echo 'Tests:       2 passed, 2 total'; else echo 'Tests:       1 failed, 1 passed, 2 total'; exit 1; fi`;

describe('compare attempts', () => {
  it('three attempts with different executors end in a table whose numbers match git, with checks from the verify command', async () => {
    const { session } = await repoSession('three-ways');
    const queued = await queueComparison(store, {
      session_id: session.id,
      intent: 'edit notes.md',
      attempts: [
        { lane: 'A', run_with: { executor: 'agent', profile: 'claude' } },
        { lane: 'B', run_with: { executor: 'agent', profile: 'codex' } },
        { lane: 'C', run_with: { executor: 'shell' }, intent: "printf 'one\\ntwo\\n' > shell.txt && sed -i 1d notes.md" },
      ],
      verify,
    });
    expect(queued.runs.map((r) => [r.lane, r.executor, r.spec.role ?? 'attempt'])).toEqual([
      ['A', 'agent', 'attempt'], ['A', 'shell', 'verify'], ['B', 'agent', 'attempt'], ['B', 'shell', 'verify'], ['C', 'shell', 'attempt'], ['C', 'shell', 'verify'],
    ]);
    expect(new Set(queued.runs.map((r) => r.group_id))).toEqual(new Set([queued.groupId]));

    let table = await compareGroup(store, queued.groupId);
    await eventually(async () => (table = await compareGroup(store, queued.groupId)).done, 'the comparison ended', 60_000);

    expect(table.intent).toBe('edit notes.md');
    expect(table.attempts.map((a) => [a.lane, a.executor, a.status, a.exitCode, a.checks.state, describeChecks(a.checks)])).toEqual([
      ['A', 'claude', 'succeeded', 0, 'passed', '2 passed'],
      ['B', 'codex', 'succeeded', 0, 'passed', '2 passed'],
      ['C', 'shell', 'succeeded', 0, 'failed', '1 passed, 1 failed'],
    ]);
    for (const attempt of table.attempts) {
      expect(attempt.diff, `lane ${attempt.lane}`).toMatchObject(gitNumbers(session, attempt.lane));
      expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(table.attempts.find((a) => a.lane === 'C')?.diff).toEqual({ files: 2, insertions: 2, deletions: 1, binaryFiles: 0 });
    // the agents report what they cost; the shell does not
    expect(table.attempts[0]!.costUsd).toBeGreaterThan(0);
    expect(table.attempts[2]!.costUsd).toBeUndefined();

    expect(await sessionGroups(store, session.id)).toEqual([expect.objectContaining({ groupId: queued.groupId, lanes: ['A', 'B', 'C'], done: true, intent: 'edit notes.md' })]);
  });

  it('refuses a comparison in one lane, in a lane the session lacks, or twice in a lane, queuing nothing', async () => {
    const { session } = await repoSession('bad-groups', ['A', 'B']);
    const attempt = (lane: string) => ({ lane, run_with: { executor: 'shell' as const } });
    await expect(queueComparison(store, { session_id: session.id, intent: 'true', attempts: [attempt('A')] })).rejects.toThrow(
      'attempts: a comparison needs at least 2 attempts, each in its own lane',
    );
    await expect(queueComparison(store, { session_id: session.id, intent: 'true', attempts: [attempt('A'), attempt('A')] })).rejects.toThrow('lane A has two attempts');
    await expect(queueComparison(store, { session_id: session.id, intent: 'true', attempts: [attempt('A'), attempt('Z')] })).rejects.toThrow(
      /lane: 'Z' is not a lane of session/,
    );
    // the database refuses a group built by hand, too
    await expect(store.createGroup([{ session_id: session.id, lane: 'A', intent: 'true' }])).rejects.toThrow('attempts: a comparison has 2 to 4 attempts, not 1');
    await expect(store.createGroup([{ session_id: session.id, lane: 'A', intent: 'true', spec: { role: 'verify' } }, { session_id: session.id, lane: 'A', intent: 'true' }, { session_id: session.id, lane: 'B', intent: 'true' }])).rejects.toThrow(
      'verify: lane A has a verify run without one attempt before it',
    );
    expect(await store.listRuns({ sessionId: session.id })).toEqual([]);
    await expect(compareGroup(store, '00000000-0000-4000-8000-000000000000')).rejects.toThrow('is not a comparison group');
    await eventually(async () => (await store.listRuns({ sessionId: session.id })).every((r) => isFinal(r.status)), 'nothing runs', 1000);
  });
});
