import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, sh, tempDir } from '../engine/git.test-support';
import { prepareLaneWorkspace } from '../engine/worktree';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import { refused, runOcr } from './cli.test-support';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
const dir = tempDir('ocr-conflicts-cli-');

beforeAll(async () => {
  db = await createTestDatabase('ocr_conflicts_cli');
  store = await openStore(db.url);
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

const env = () => ({ OCR_DATABASE_URL: db.url });

/** A session on a fresh repository, with worktrees for `lanes` made the way the worker makes them. */
async function sessionWithLanes(name: string, lanes: string[]) {
  const repo = path.join(dir.path, name);
  sh(dir.path, `mkdir -p ${name}`);
  const base = makeRepo(repo, { 'app.txt': 'one\ntwo\nthree\n', 'docs.txt': 'docs\n' });
  const session = await store.createSession({ title: name, lanes, repo_id: base, repo_path: repo, base_ref: base });
  const folders: Record<string, string> = {};
  for (const lane of lanes) {
    folders[lane] = (await prepareLaneWorkspace({ root: path.join(dir.path, `${name}-worktrees`), session, lane, repoPath: repo })).folder;
  }
  return { repo, session, folders };
}

describe('ocr conflicts', () => {
  it('names the lanes that conflict and their files; --json gives the same with each lane', async () => {
    const { session, folders } = await sessionWithLanes('two-conflict', ['A', 'B', 'C']);
    writeFileSync(path.join(folders.A!, 'app.txt'), 'one\nA\nthree\n');
    sh(folders.A!, 'git commit -qam "A"');
    writeFileSync(path.join(folders.B!, 'app.txt'), 'one\nB\nthree\n');
    writeFileSync(path.join(folders.C!, 'docs.txt'), 'C docs\n');

    const r = await runOcr(['conflicts', session.id.slice(0, 8)], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('lanes A and B conflict in 1 file:\n  app.txt\n');

    const j = await runOcr(['--json', 'conflicts', session.id], { env: env() });
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as { conflicts: unknown[]; lanes: Array<{ lane: string; uncommitted: boolean; folder: string }>; user_branch: { name: string }; checked: number };
    expect(doc.conflicts).toEqual([{ a: 'A', b: 'B', against: 'lane', files: ['app.txt'] }]);
    expect(doc.lanes.map((l) => [l.lane, l.uncommitted, l.folder])).toEqual([['A', false, folders.A], ['B', true, folders.B], ['C', true, folders.C]]);
    expect(doc.user_branch.name).toBe('main');
    expect(doc.checked).toBe(6);
  });

  it('says so when nothing conflicts, and names a lane that conflicts with your branch', async () => {
    const { repo, session, folders } = await sessionWithLanes('quiet', ['A', 'B', 'C']);
    writeFileSync(path.join(folders.A!, 'app.txt'), 'one\nA\nthree\n');
    writeFileSync(path.join(folders.B!, 'docs.txt'), 'B docs\n');
    const r = await runOcr(['conflicts', session.id], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('no conflicts between lanes A, B, C, nor with your branch main\n');

    writeFileSync(path.join(repo, 'docs.txt'), 'the user edits docs\n');
    sh(repo, 'git commit -qam "user"');
    const u = await runOcr(['conflicts', session.id], { env: env() });
    expect(u.stdout).toBe('lane B and your branch main conflict in 1 file:\n  docs.txt\n');
  });

  it('refuses, naming what is wrong: an unknown session, a session without a repository, no lanes here, another clone', async () => {
    refused(await runOcr(['conflicts', 'abcdef12'], { env: env() }), /session abcdef12 does not exist/);

    const bare = await store.createSession({ title: 'no repo', lanes: ['A'] });
    refused(await runOcr(['conflicts', bare.id], { env: env() }), /has no repository.*start a session with --repo/);

    const repo = path.join(dir.path, 'no-lanes');
    sh(dir.path, 'mkdir -p no-lanes');
    const base = makeRepo(repo, { 'x.txt': 'x\n' });
    const idle = await store.createSession({ title: 'idle', lanes: ['A'], repo_id: base, repo_path: repo, base_ref: base });
    refused(await runOcr(['conflicts', idle.id], { env: env() }), /has no lane worktrees or branches in .*no-lanes.*first run starts on this machine/);

    const elsewhere = path.join(dir.path, 'elsewhere');
    sh(dir.path, 'mkdir -p elsewhere');
    makeRepo(elsewhere, { 'y.txt': `${randomUUID()}\n` });
    refused(await runOcr(['conflicts', idle.id, '--repo', elsewhere], { env: env() }), /elsewhere is not a clone of the repository of session/);
  });
});
