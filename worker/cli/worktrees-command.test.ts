// `ocr worktrees list` and `ocr worktrees prune` on real git repositories and real PostgreSQL: lanes made by a real
// worker and the way the worker makes them, of sessions active, archived (one still stopping a run), gone from the
// database, and of another database; prune removes the archived and gone ones only, with their branches unless kept.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal } from '../../domain';
import { eventually, makeRepo, sh, tempDir } from '../engine/git.test-support';
import { describeRepo } from '../engine/repo';
import { Worker } from '../engine/worker';
import { prepareLaneWorkspace, sessionShortId } from '../engine/worktree';
import { noteLaneSession } from '../lanes/lane-worktrees';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { refused, runOcr } from './cli.test-support';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const dir = tempDir('ocr-worktrees-cli-');
const root = path.join(dir.path, 'worktrees');
const repo = path.join(dir.path, 'app');

beforeAll(async () => {
  db = await createTestDatabase('ocr_worktrees_cli');
  store = await openStore(db.url);
  mkdirSync(repo, { recursive: true });
  makeRepo(repo, { 'app.txt': 'app\n', '.gitignore': 'node_modules/\n' });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

const env = () => ({ OCR_DATABASE_URL: db.url, OCR_WORKTREES: root });
const short = sessionShortId;
const branches = () => sh(repo, "git for-each-ref --format='%(refname:short)' refs/heads/ocr/").split('\n').filter(Boolean).sort();

interface ListedLane {
  short_id: string;
  session_id: string | null;
  title: string | null;
  lane: string;
  kind: string;
  branch: string | null;
  state: string;
  running: number;
  prunable: boolean;
  bytes: number;
}

describe('ocr worktrees', () => {
  const ids: Record<'active' | 'archived' | 'stopping' | 'gone' | 'other' | 'scratch', string> = {
    active: '',
    archived: '',
    stopping: '',
    gone: randomUUID(),
    other: randomUUID(),
    scratch: '',
  };

  beforeAll(async () => {
    const d = await describeRepo(repo);
    const onRepo = (title: string) => store.createSession({ title, lanes: ['A', 'B'], repo_id: d.repoId, repo_path: d.repoPath, base_ref: d.baseRef });
    const active = await onRepo('still working');
    const archived = await onRepo('done with');
    const scratch = await store.createSession({ title: 'no repository', lanes: ['A'] });
    ids.active = active.id;
    ids.archived = archived.id;
    ids.scratch = scratch.id;
    // a real worker makes the lanes of three sessions, as it does for a person
    const runs = await store.createRuns([
      { session_id: active.id, lane: 'A', intent: 'echo work > work.txt' },
      { session_id: archived.id, lane: 'A', intent: 'head -c 200000 /dev/zero > build.bin' },
      { session_id: archived.id, lane: 'B', intent: 'echo b' },
      { session_id: scratch.id, lane: 'A', intent: 'echo scratch > s.txt' },
    ]);
    const worker = new Worker(store, { worktreeRoot: root, sessions: [active.id, archived.id, scratch.id], pollMs: 200 });
    await worker.start();
    try {
      for (const r of runs) await eventually(async () => isFinal((await store.getRun(r.id)).status), `run ${r.id} finished`, 30_000);
    } finally {
      await worker.stop({ graceMs: 0 });
    }
    expect((await Promise.all(runs.map((r) => store.getRun(r.id)))).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    await store.archiveSession(archived.id);
    await store.archiveSession(scratch.id);

    // archived while a run of it is still being stopped
    const stopping = await onRepo('stopping');
    ids.stopping = stopping.id;
    await prepareLaneWorkspace({ root, session: stopping, lane: 'A', repoPath: repo });
    await noteLaneSession(root, stopping, store.description);
    await store.createRun({ session_id: stopping.id, lane: 'A', intent: 'sleep 600' });
    await store.registerWorker({ id: 'holder', host: 'h', pid: 1, concurrency: 1, labels: {} });
    await store.claimRuns('holder', 1, { sessions: [stopping.id] });
    await store.archiveSession(stopping.id);

    // a session this database never had (deleted, or the data folder was reset), with a lane worktree and its branch
    await prepareLaneWorkspace({ root, session: { id: ids.gone, base_ref: d.baseRef, repo_url: null }, lane: 'C', repoPath: repo });
    // a lane of another database's session: never this database's to prune
    await prepareLaneWorkspace({ root, session: { id: ids.other, base_ref: d.baseRef, repo_url: null }, lane: 'A', repoPath: repo });
    await noteLaneSession(root, { id: ids.other }, 'postgres://team.example/ocr');
    writeFileSync(path.join(root, short(ids.other), 'A', 'precious.txt'), 'uncommitted work\n');
  });

  it('lists every lane worktree with its session, lane, size and what became of its session', async () => {
    const j = await runOcr(['--json', 'worktrees', 'list'], { env: env() });
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as { root: string; worktrees: ListedLane[] };
    expect(doc.root).toBe(root);
    const row = (id: string, lane: string) => doc.worktrees.find((w) => w.short_id === short(id) && w.lane === lane);
    expect(row(ids.active, 'A')).toMatchObject({ session_id: ids.active, title: 'still working', kind: 'worktree', branch: `ocr/${short(ids.active)}/A`, state: 'active', prunable: false });
    expect(row(ids.archived, 'A')).toMatchObject({ session_id: ids.archived, title: 'done with', state: 'archived', running: 0, prunable: true });
    expect(row(ids.archived, 'A')!.bytes).toBeGreaterThan(200_000);
    expect(row(ids.archived, 'B')).toMatchObject({ state: 'archived', prunable: true });
    expect(row(ids.stopping, 'A')).toMatchObject({ state: 'archived', running: 1, prunable: false });
    expect(row(ids.gone, 'C')).toMatchObject({ session_id: null, title: null, state: 'missing', branch: `ocr/${short(ids.gone)}/C`, prunable: true });
    expect(row(ids.other, 'A')).toMatchObject({ session_id: ids.other, state: 'other-database', prunable: false });
    expect(row(ids.scratch, 'A')).toMatchObject({ kind: 'scratch', branch: null, state: 'archived', prunable: true });
    expect(doc.worktrees).toHaveLength(7);

    const r = await runOcr(['worktrees', 'list'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^SESSION\s+TITLE\s+LANE\s+STATE\s+SIZE\s+BRANCH\s+FOLDER$/);
    expect(lines.find((l) => l.startsWith(`${short(ids.archived)}  done with`) && / A /.test(l))).toMatch(/ archived\s+\d+ KB\s+ocr\/\w{8}\/A\s+\//);
    expect(lines.find((l) => l.startsWith(short(ids.gone)))).toMatch(/ C\s+session gone\s+/);
    expect(lines.find((l) => l.startsWith(short(ids.stopping)))).toMatch(/ archived \(stopping\)\s+/);
    expect(lines.find((l) => l.startsWith(short(ids.other)))).toMatch(/ other database\s+/);
    expect(r.stdout).toContain('4 lane worktrees of sessions gone or archived: `ocr worktrees prune` removes them (--dry-run to see what)\n');
  });

  it('prune --dry-run says what it would remove and removes nothing', async () => {
    const before = branches();
    const r = await runOcr(['worktrees', 'prune', '--dry-run'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would remove session ${short(ids.archived)} (archived): ${path.join(root, short(ids.archived), 'A')}, ${path.join(root, short(ids.archived), 'B')}\n`);
    expect(r.stdout).toContain(`  would delete branches ocr/${short(ids.archived)}/A, ocr/${short(ids.archived)}/B\n`);
    expect(r.stdout).toContain(`would remove session ${short(ids.gone)} (gone from the database): ${path.join(root, short(ids.gone), 'C')}\n`);
    expect(r.stdout).toContain(`would remove session ${short(ids.scratch)} (archived): ${path.join(root, short(ids.scratch))}\n`);
    expect(r.stdout).toContain(`kept lane A of session ${short(ids.stopping)}: its runs are still stopping; prune again in a moment\n`);
    expect(branches()).toEqual(before);
    for (const id of [ids.archived, ids.gone, ids.scratch]) expect(existsSync(path.join(root, short(id)))).toBe(true);
  });

  it('prune removes the worktrees and branches of sessions archived or gone, and leaves the others alone', async () => {
    const j = await runOcr(['--json', 'worktrees', 'prune'], { env: env() });
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as { dry_run: boolean; sessions: Array<{ short_id: string; state: string; removed_worktrees: string[]; deleted_branches: string[] }>; stopping: ListedLane[] };
    expect(doc.dry_run).toBe(false);
    expect(doc.sessions.map((s) => [s.short_id, s.state]).sort()).toEqual([[short(ids.archived), 'archived'], [short(ids.gone), 'missing'], [short(ids.scratch), 'archived']].sort());
    expect(doc.stopping.map((s) => s.short_id)).toEqual([short(ids.stopping)]);
    for (const id of [ids.archived, ids.gone, ids.scratch]) expect(existsSync(path.join(root, short(id)))).toBe(false);
    for (const id of [ids.active, ids.stopping, ids.other]) expect(existsSync(path.join(root, short(id)))).toBe(true);
    expect(existsSync(path.join(root, short(ids.other), 'A', 'precious.txt'))).toBe(true);
    expect(branches()).toEqual([`ocr/${short(ids.active)}/A`, `ocr/${short(ids.other)}/A`, `ocr/${short(ids.stopping)}/A`].sort());
    expect(sh(repo, 'git worktree list --porcelain')).not.toContain(short(ids.archived));

    const again = await runOcr(['worktrees', 'prune'], { env: env() });
    expect(again.stdout).toBe(`kept lane A of session ${short(ids.stopping)}: its runs are still stopping; prune again in a moment\n`);
  });

  it('--keep-branches keeps the lanes\' branches, and an empty root says so', async () => {
    // the stopped run ends: its session's lane can go now, its branch kept
    const [held] = await store.listRuns({ sessionId: ids.stopping });
    await store.finishAndClaim('holder', [{ runId: held!.id, attempt: held!.attempt, status: 'canceled' }], 0);
    const r = await runOcr(['worktrees', 'prune', '--keep-branches'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`removed session ${short(ids.stopping)} (archived): ${path.join(root, short(ids.stopping), 'A')}\n`);
    expect(branches()).toContain(`ocr/${short(ids.stopping)}/A`);

    const empty = await runOcr(['worktrees', 'list', '--worktrees', path.join(dir.path, 'nowhere')], { env: env() });
    expect(empty.stdout).toBe(`no lane worktrees under ${path.join(dir.path, 'nowhere')}\n`);
    refused(await runOcr(['worktrees', 'prune', '--dry'], { env: env() }), /--dry/, 2);
  });
});
