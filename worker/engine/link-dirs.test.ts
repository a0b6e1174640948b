import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseInput } from '../store/errors';
import { openStore } from '../store/open';
import { createTestDatabase } from '../store/testing';
import { captureDiff } from './diff';
import { makeRepo, sh, tempDir } from './git.test-support';
import { describeRepo } from './repo';
import type { LinkMode } from './link-dirs';
import { Worker, WorkerOptions } from './worker';
import { cleanSessionWorktrees, laneBranch, laneFolder, prepareLaneWorkspace } from './worktree';

const dir = tempDir('ocr-link-');
afterAll(() => dir.remove());

/** A checkout with an installed (ignored) node_modules holding one tiny package, x. */
function checkout(name: string, options: { ignore?: boolean } = {}) {
  const repo = path.join(dir.path, name);
  mkdirSync(repo, { recursive: true });
  const base = makeRepo(repo, {
    'package.json': '{"name":"app","dependencies":{"x":"1.0.0"}}\n',
    '.gitignore': options.ignore === false ? '.env\n' : 'node_modules/\n.venv/\n',
    'src/tracked/a.txt': 'tracked\n',
  });
  const x = path.join(repo, 'node_modules', 'x');
  mkdirSync(x, { recursive: true });
  writeFileSync(path.join(x, 'package.json'), '{"name":"x","version":"1.0.0","main":"index.js"}\n');
  writeFileSync(path.join(x, 'index.js'), "module.exports = 'x from the checkout';\n");
  const session = { id: randomUUID(), base_ref: base, repo_url: null, repo_path: repo };
  return { repo, session, root: path.join(dir.path, `${name}-worktrees`) };
}

function requireX(folder: string): string {
  return execFileSync(process.execPath, ['-e', "process.stdout.write(require('x'))"], { cwd: folder, encoding: 'utf8' });
}

function worktreesOf(repo: string): number {
  return sh(repo, 'git worktree list --porcelain').split('\n').filter((l) => l.startsWith('worktree ')).length;
}

function branchesOf(repo: string): string[] {
  return sh(repo, "git for-each-ref '--format=%(refname:short)' refs/heads/").split('\n').filter(Boolean);
}

/** Whether this machine's filesystem makes copy-on-write clones, asked of cp itself. */
function clonesHere(): boolean {
  const probe = path.join(dir.path, `probe-${randomUUID()}`);
  mkdirSync(probe);
  writeFileSync(path.join(probe, 'f'), 'f');
  try {
    execFileSync('cp', process.platform === 'darwin' ? ['-c', path.join(probe, 'f'), path.join(probe, 'g')] : ['--reflink=always', path.join(probe, 'f'), path.join(probe, 'g')], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('worktrees.linkDirs: a new lane worktree gets the checkout’s installed folders', () => {
  it('links node_modules so that require works in the worktree, before the setup command, and logs how', async () => {
    const { repo, session, root } = checkout('auto');
    const notes: string[] = [];
    const lane = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo, linkDirs: ['node_modules'], hasSetupCommand: true, note: (t) => notes.push(t) });
    expect(lane).toMatchObject({ created: true, needsSetup: true });
    expect(requireX(lane.folder)).toBe('x from the checkout');
    const line = notes.find((n) => n.startsWith('linked node_modules'));
    expect(line).toMatch(clonesHere() ? /as a copy-on-write clone/ : /as a hard-linked copy .*changes your checkout's file too/);
    expect(line).toMatch(/ in \d+ ms$| in \d+\.\d s$/);
    expect(line).not.toMatch(/does not ignore/);
    // Ignored in the lane as in the checkout: none of it is the lane's change.
    const diff = await captureDiff(lane.folder, session.base_ref);
    expect(diff.summary.files).toBe(0);
    expect(sh(repo, 'git status --porcelain')).toBe('');
  });

  it.each<[LinkMode, (source: string, linked: string) => void]>([
    [
      'hardlink',
      (source, linked) => {
        expect(lstatSync(linked).isDirectory()).toBe(true);
        expect(statSync(path.join(linked, 'x/index.js')).ino).toBe(statSync(path.join(source, 'x/index.js')).ino);
      },
    ],
    [
      'symlink',
      (source, linked) => {
        expect(lstatSync(linked).isSymbolicLink()).toBe(true);
        expect(path.resolve(path.dirname(linked), execFileSync('readlink', [linked], { encoding: 'utf8' }).trim())).toBe(realpathSync(source));
      },
    ],
  ])('mode %s: the folder is there as that mode makes it, and removing the lane leaves the checkout’s folder whole', async (mode, check) => {
    const { repo, session, root } = checkout(mode);
    const notes: string[] = [];
    const lane = await prepareLaneWorkspace({ root, session, lane: 'B', repoPath: repo, linkDirs: ['node_modules'], linkMode: mode, note: (t) => notes.push(t) });
    const source = path.join(repo, 'node_modules');
    check(source, path.join(lane.folder, 'node_modules'));
    expect(requireX(lane.folder)).toBe('x from the checkout');
    expect(notes.some((n) => n.startsWith(`linked node_modules as a ${mode === 'hardlink' ? 'hard-linked copy' : 'symbolic link'}`))).toBe(true);
    await cleanSessionWorktrees(session, { worktreeRoot: root });
    expect(existsSync(lane.folder)).toBe(false);
    expect(readFileSync(path.join(source, 'x/index.js'), 'utf8')).toBe("module.exports = 'x from the checkout';\n");
  });

  it('mode clone: a private copy where the filesystem clones, else a clear refusal that leaves no worktree or branch', async () => {
    const { repo, session, root } = checkout('clone');
    const attempt = prepareLaneWorkspace({ root, session, lane: 'C', repoPath: repo, linkDirs: ['node_modules'], linkMode: 'clone' });
    if (clonesHere()) {
      const lane = await attempt;
      const linked = path.join(lane.folder, 'node_modules/x/index.js');
      expect(statSync(linked).ino).not.toBe(statSync(path.join(repo, 'node_modules/x/index.js')).ino);
      writeFileSync(linked, "module.exports = 'changed in the lane';\n");
      expect(readFileSync(path.join(repo, 'node_modules/x/index.js'), 'utf8')).toBe("module.exports = 'x from the checkout';\n");
    } else {
      await expect(attempt).rejects.toMatchObject({ code: 'workspace_failed', message: expect.stringMatching(/could not link node_modules/), hint: expect.stringMatching(/auto or hardlink/) });
      expect(existsSync(laneFolder(root, session.id, 'C'))).toBe(false);
      expect(worktreesOf(repo)).toBe(1);
      expect(branchesOf(repo)).not.toContain(laneBranch(session.id, 'C'));
      // The next try, in a mode the filesystem allows, makes the lane from nothing.
      const lane = await prepareLaneWorkspace({ root, session, lane: 'C', repoPath: repo, linkDirs: ['node_modules'], linkMode: 'auto' });
      expect(lane.created).toBe(true);
      expect(requireX(lane.folder)).toBe('x from the checkout');
    }
  });

  it.each([
    ['src/tracked', /"src\/tracked" is tracked by git/],
    ['.venv', /"\.venv" does not exist in/],
    ['../x', /"\.\.\/x": a folder inside the repository: "\.\." is not allowed/],
    ['/etc', /"\/etc": a path relative to the repository root/],
    ['package.json', /"package.json" in .* is not a folder/],
    ['.git', /not the repository root or its \.git folder/],
  ])('refuses %s with a clear error and makes nothing', async (name, message) => {
    const { repo, session, root } = checkout(`refuse-${name.replace(/\W/g, '_')}`);
    await expect(prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo, linkDirs: ['node_modules', name] })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(message),
    });
    expect(existsSync(laneFolder(root, session.id, 'A'))).toBe(false);
    expect(worktreesOf(repo)).toBe(1);
    expect(branchesOf(repo)).toEqual(['main']);
  });

  it('leaves an existing worktree alone', async () => {
    const { repo, session, root } = checkout('existing');
    const first = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo });
    const notes: string[] = [];
    const again = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo, linkDirs: ['node_modules'], note: (t) => notes.push(t) });
    expect(again).toMatchObject({ folder: first.folder, created: false });
    expect(existsSync(path.join(again.folder, 'node_modules'))).toBe(false);
    expect(notes).toEqual([]);
  });

  it('links an untracked folder git does not ignore, and says its files will count as the lane’s changes', async () => {
    const { repo, session, root } = checkout('not-ignored', { ignore: false });
    const notes: string[] = [];
    const lane = await prepareLaneWorkspace({ root, session, lane: 'A', repoPath: repo, linkDirs: ['node_modules'], note: (t) => notes.push(t) });
    expect(requireX(lane.folder)).toBe('x from the checkout');
    expect(notes.find((n) => n.startsWith('linked node_modules'))).toMatch(/git does not ignore node_modules in this lane.*add it to \.gitignore/);
  });

  it('worker options name the field of a bad folder or mode', () => {
    expect(() => parseInput(WorkerOptions, { linkDirs: ['node_modules', '../x'] })).toThrow(/linkDirs\.1: a folder inside the repository/);
    expect(() => parseInput(WorkerOptions, { linkMode: 'copy' })).toThrow(/linkMode: .*auto.*clone.*hardlink.*symlink/);
    expect(parseInput(WorkerOptions, {})).toMatchObject({ linkDirs: [], linkMode: 'auto' });
  });

  it('a worker with linkDirs runs require in a new lane: linked before the setup command, said in the run’s log', async () => {
    const { repo } = checkout('worker');
    const db = await createTestDatabase();
    const store = await openStore(db.url);
    try {
      const d = await describeRepo(repo);
      const session = await store.createSession({ title: 'linked', lanes: ['A'], repo_id: d.repoId, repo_path: d.repoPath, base_ref: d.baseRef });
      const run = await store.createRun({ session_id: session.id, lane: 'A', intent: `node -e "console.log(require('x'))"` });
      const worker = new Worker(store, { worktreeRoot: path.join(dir.path, 'worker-worktrees'), sessions: [session.id], pollMs: 500, linkDirs: ['node_modules'], setupCommand: 'test -f node_modules/x/index.js && echo setup-saw-x' });
      await worker.start();
      try {
        await worker.whenIdle();
      } finally {
        await worker.stop({ graceMs: 0 });
      }
      expect((await store.getRun(run.id)).status).toBe('succeeded');
      const texts = (await store.listEvents(run.id, 0, 1000)).map((e) => e.text);
      const linked = texts.findIndex((t) => t.startsWith('linked node_modules'));
      expect(linked).toBeGreaterThanOrEqual(0);
      expect(texts.indexOf('setup-saw-x')).toBeGreaterThan(linked);
      expect(texts).toContain('x from the checkout');
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
