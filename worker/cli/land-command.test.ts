// `ocr land` as a person runs it: the built CLI, a real PostgreSQL, real git repositories, and a real worker whose run
// makes the lane's changes.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type Run } from '../../domain';
import { eventually, makeRepo, sh, tempDir } from '../engine/git.test-support';
import { describeRepo } from '../engine/repo';
import { Worker } from '../engine/worker';
import { laneBranch, prepareLaneWorkspace } from '../engine/worktree';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import { refused, runOcr } from './cli.test-support';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
const dir = tempDir('ocr-land-cli-');
const worktreeRoot = path.join(dir.path, 'worktrees');

beforeAll(async () => {
  db = await createTestDatabase('ocr_land_cli');
  store = await openStore(db.url);
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

const env = (extra: NodeJS.ProcessEnv = {}) => ({ OCR_DATABASE_URL: db.url, ...extra });
const rev = (folder: string, ref: string) => sh(folder, `git rev-parse ${ref}`).trim();

async function repoSession(name: string, lanes = ['A', 'B']) {
  const repo = path.join(dir.path, name);
  mkdirSync(repo, { recursive: true });
  makeRepo(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n' });
  const d = await describeRepo(repo);
  const session = await store.createSession({ title: name, lanes, repo_id: d.repoId, repo_path: d.repoPath, base_ref: d.baseRef });
  return { repo, session };
}

async function finished(runId: string): Promise<Run> {
  let run = await store.getRun(runId);
  await eventually(async () => isFinal((run = await store.getRun(runId)).status), `run ${runId} finished`, 30_000);
  return run;
}

describe('ocr land', () => {
  it("lands a real worker run's changes on main as one commit with the run's intent, after --yes", async () => {
    const { repo, session } = await repoSession('worker-run');
    const worker = new Worker(store, { worktreeRoot, sessions: [session.id], pollMs: 300, recoverMs: 500 });
    await worker.start();
    let runId: string;
    try {
      runId = (await store.createRun({ session_id: session.id, lane: 'A', intent: 'printf "hello\\n" > greeting.txt && printf "a, by the run\\n" > a.txt' })).id;
      expect((await finished(runId)).status).toBe('succeeded');
    } finally {
      await worker.stop({ graceMs: 0 });
    }
    const before = rev(repo, 'main');

    const ask = await runOcr(['land', runId.slice(0, 8), '--squash'], { env: env() });
    refused(ask, /^ocr: landing lane A \(squash: 1 commit, 2 files\) changes your branch main \(pass --yes, or --onto main, to land it there\)\n$/);
    expect(rev(repo, 'main')).toBe(before);

    const r = await runOcr(['land', runId.slice(0, 8), '--squash', '--yes'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const after = rev(repo, 'main');
    expect(r.stdout).toBe([
      `landed lane A on main as ${after.slice(0, 12)} "printf "hello\\n" > greeting.txt && printf "a, by the run\\n" > a.txt": 2 files`,
      '  M a.txt',
      '  A greeting.txt',
      `lane A's uncommitted changes are commit ${rev(repo, laneBranch(session.id, 'A')).slice(0, 12)} on ${laneBranch(session.id, 'A')}`,
      `the lane keeps its own commits; \`ocr land A --reset --session ${session.id.slice(0, 8)}\` starts it again from main`,
      '',
    ].join('\n'));
    expect(rev(repo, 'main~1')).toBe(before);
    expect(sh(repo, 'git log -1 --format=%s main').trim()).toBe('printf "hello\\n" > greeting.txt && printf "a, by the run\\n" > a.txt');
    expect(readFileSync(path.join(repo, 'greeting.txt'), 'utf8')).toBe('hello\n');
    expect(sh(repo, 'git status --porcelain')).toBe('');

    // then Reset Lane: the lane starts again from main
    const reset = await runOcr(['land', 'A', '--session', session.id, '--reset'], { env: env() });
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(new RegExp(`^lane A starts again from main \\(${after.slice(0, 12)}\\): ${laneBranch(session.id, 'A')} and .*, clean\\n$`));
    expect(rev(repo, laneBranch(session.id, 'A'))).toBe(after);
  });

  /** A session with lane A's worktree made as the worker makes it, holding one uncommitted change. */
  async function laneWithChange(name: string) {
    const s = await repoSession(name);
    const folder = (await prepareLaneWorkspace({ root: path.join(dir.path, `${name}-worktrees`), session: s.session, lane: 'A', repoPath: s.repo })).folder;
    writeFileSync(path.join(folder, 'a.txt'), 'a from lane A\n');
    await store.createRun({ session_id: s.session.id, lane: 'A', intent: 'edit a' });
    return { ...s, folder };
  }

  it('refuses, in one line and changing nothing: another branch named, a dirty tree, a conflict, a reset with un-landed work', async () => {
    const { repo, session, folder } = await laneWithChange('refusals');
    const main = rev(repo, 'main');
    refused(await runOcr(['land', 'A', '--session', session.id, '--squash', '--onto', 'develop'], { env: env() }),
      /^ocr: landing lane A would change your branch main, not develop \(confirm with the branch's name, main\)\n$/);
    refused(await runOcr(['land', 'A', '--session', session.id, '--reset'], { env: env() }),
      /^ocr: lane A has changes main does not have: a\.txt \(land them first, or reset anyway to discard them\)\n$/);
    writeFileSync(path.join(repo, 'b.txt'), 'the user edits b\n');
    refused(await runOcr(['land', 'A', '--session', session.id, '--rebase', '--yes'], { env: env() }),
      /^ocr: your working tree in .*refusals has uncommitted changes: b\.txt \(commit or stash them, then land again\)\n$/);
    sh(repo, 'git checkout -q -- b.txt');
    writeFileSync(path.join(repo, 'a.txt'), 'a from the user\n');
    sh(repo, 'git commit -qam "user edits a"');
    refused(await runOcr(['land', 'A', '--session', session.id, '--squash', '--onto', 'main'], { env: env() }),
      /^ocr: lane A conflicts with main in 1 file: a\.txt \(nothing was changed; merge main into the lane .*\)\n$/);
    expect(rev(repo, 'main~1')).toBe(main);
    expect(sh(folder, 'git status --porcelain')).toBe(' M a.txt\n');
    expect(rev(repo, laneBranch(session.id, 'A'))).toBe(main);
  });

  it('--pr without gh on PATH pushes the lane to a bare origin and prints the command to open the request; --json has it too', async () => {
    const { repo, session } = await laneWithChange('pr');
    const remote = path.join(dir.path, 'pr-remote.git');
    sh(dir.path, `git init -q --bare ${remote}`);
    sh(repo, `git remote add origin ${remote} && git push -q -u origin main`);
    const bin = path.join(dir.path, 'only-git');
    mkdirSync(bin, { recursive: true });
    symlinkSync(execFileSync('/bin/sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim(), path.join(bin, 'git'));
    const branch = laneBranch(session.id, 'A');

    const r = await runOcr(['--json', 'land', 'A', '--session', session.id.slice(0, 8), '--pr', '--message', 'Edit a'], { env: env({ PATH: bin }) });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { mode: string; remote: string; base: string; commands: string[]; ghSkipped: string; laneCommit: string };
    expect(doc).toMatchObject({ mode: 'pr', remote: 'origin', base: 'main', ghSkipped: 'gh (the GitHub CLI) is not installed' });
    expect(doc.commands).toEqual([`gh pr create --head ${branch} --base main --title 'Edit a' --body 'Landed from lane A of session ${session.id.replace(/-/g, '').slice(0, 8)} (Ops Control Room): 1 commit, 1 file.'`]);
    expect(sh(remote, `git rev-parse refs/heads/${branch}`).trim()).toBe(doc.laneCommit);

    // again, as text: nothing new to push, still the same command
    writeFileSync(path.join(repo, '..', 'pr-worktrees', session.id.replace(/-/g, '').slice(0, 8), 'A', 'b.txt'), 'b from lane A\n');
    const t = await runOcr(['land', 'A', '--session', session.id, '--pr', '--message', 'Edit a and b'], { env: env({ PATH: bin }) });
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.split('\n').slice(0, 3)).toEqual([
      `pushed ${branch} to origin (pull request: 2 commits, 2 files); gh (the GitHub CLI) is not installed`,
      'open the pull request with:',
      `  gh pr create --head ${branch} --base main --title 'Edit a and b' --body 'Landed from lane A of session ${session.id.replace(/-/g, '').slice(0, 8)} (Ops Control Room): 2 commits, 2 files.'`,
    ]);
  });

  it('asks for how to land, and for the session of a lane, in one line', async () => {
    const { session } = await laneWithChange('usage');
    refused(await runOcr(['land', 'A', '--session', session.id], { env: env() }), /^ocr: say how to land: --squash, --rebase or --pr \(or --reset to start the lane again\) \(run `ocr land --help` for usage\)\n$/);
    refused(await runOcr(['land', 'A', '--session', session.id, '--squash', '--pr'], { env: env() }), /^ocr: choose one of --squash, --pr /);
    refused(await runOcr(['land', 'A', '--squash'], { env: env() }), /^ocr: "A" is not a run id; to land lane A, name its session \(pass --session S, or give a run of the lane\)\n$/);
    refused(await runOcr(['land', 'Z', '--session', session.id, '--squash'], { env: env() }), /^ocr: "Z" is neither a lane of session [0-9a-f]{8} \(A, B\) nor one of its runs/);
    refused(await runOcr(['land', 'A', '--session', session.id, '--squash', '--force'], { env: env() }), /^ocr: --force goes with --reset/);
  });
});
