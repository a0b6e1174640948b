// A lane's disk usage on real folders: real lane worktrees whose node_modules came from the checkout as hard links or
// a symlink (linkDirs), checked against GNU du, which counts a hard-linked inode once per run over its arguments.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeRepo, tempDir } from '../engine/git.test-support';
import { prepareLaneWorkspace } from '../engine/worktree';
import { formatBytes } from '../../domain';
import { describeDiskUsage, laneDiskUsage } from './disk-usage';

const dir = tempDir('ocr-du-');
afterAll(() => dir.remove());

/** What du counts for `folder`, in bytes; with `after`, what it counts for `folder` once `after` was counted. */
function du(folder: string, after?: string): number {
  const out = execFileSync('du', ['-s', '--block-size=1', ...(after ? [after] : []), folder], { encoding: 'utf8' }).trim().split('\n');
  return Number(out.at(-1)!.split('\t')[0]);
}

const bytes = (n: number, fill = 'x') => fill.repeat(n);

/** A checkout with a 40-file (about 1.6 MB) ignored node_modules. */
function checkout(name: string) {
  const repo = path.join(dir.path, name);
  mkdirSync(repo, { recursive: true });
  const base = makeRepo(repo, { '.gitignore': 'node_modules/\n', 'src/app.js': bytes(5000) });
  for (let i = 0; i < 40; i++) {
    const pkg = path.join(repo, 'node_modules', `p${i}`);
    mkdirSync(pkg, { recursive: true });
    writeFileSync(path.join(pkg, 'index.js'), bytes(40_000, String(i % 10)));
  }
  return { repo, session: { id: randomUUID(), base_ref: base, repo_url: null } };
}

describe('laneDiskUsage', () => {
  it('does not count a hard-linked node_modules as the lane\'s own, and says how many files it shares', async () => {
    const { repo, session } = checkout('hardlinked');
    const lane = await prepareLaneWorkspace({ root: path.join(dir.path, 'wt-hard'), session, lane: 'A', repoPath: repo, linkDirs: ['node_modules'], linkMode: 'hardlink' });
    // the lane's own work: a 300 KB build output, and one file with two names inside the lane
    writeFileSync(path.join(lane.folder, 'out.bin'), bytes(300_000));
    linkSync(path.join(lane.folder, 'out.bin'), path.join(lane.folder, 'out-again.bin'));

    const usage = await laneDiskUsage(lane.folder);
    expect(usage.sharedFiles).toBe(40);
    expect(usage.sharedBytes).toBeGreaterThanOrEqual(40 * 40_000);
    // du over the checkout first, then the lane: the lane's inodes the checkout holds too are counted there, not again
    expect(usage.bytes).toBe(du(lane.folder, repo));
    // and du over the lane alone counts the shared files as the lane's
    expect(usage.bytes + usage.sharedBytes).toBe(du(lane.folder));
    // out.bin counted once for its two names
    expect(usage.bytes).toBeGreaterThanOrEqual(300_000);
    expect(usage.bytes).toBeLessThan(2 * 300_000);
    expect(describeDiskUsage(usage).detail).toMatch(/^\d+ KB of its own on disk; 40 hard-linked files shared with your checkout \(1\.\d MB\) not counted$/);
  });

  it('counts a symlinked node_modules as one link, and a copied one as the lane\'s own', async () => {
    const { repo, session } = checkout('symlinked');
    const linked = await prepareLaneWorkspace({ root: path.join(dir.path, 'wt-sym'), session, lane: 'A', repoPath: repo, linkDirs: ['node_modules'], linkMode: 'symlink' });
    symlinkSync('/nonexistent/target', path.join(linked.folder, 'dangling'));
    const usage = await laneDiskUsage(linked.folder);
    expect(usage).toMatchObject({ symlinks: 2, sharedFiles: 0, unreadable: 0 });
    expect(usage.bytes).toBe(du(linked.folder));
    expect(usage.bytes).toBeLessThan(200_000);
    expect(describeDiskUsage(usage).detail).toMatch(/; 2 symbolic links counted as links, not what they point to$/);

    // the same lane without links: its node_modules is its own
    const plain = await prepareLaneWorkspace({ root: path.join(dir.path, 'wt-plain'), session, lane: 'B', repoPath: repo });
    execFileSync('cp', ['-r', path.join(repo, 'node_modules'), path.join(plain.folder, 'node_modules')]);
    const copied = await laneDiskUsage(plain.folder);
    expect(copied.bytes).toBe(du(plain.folder));
    expect(copied.bytes).toBeGreaterThan(40 * 40_000);
    expect(copied.sharedFiles).toBe(0);
  });

  it('answers nothing for a folder that is not there, and stops when asked', async () => {
    expect(await laneDiskUsage(path.join(dir.path, 'missing'))).toMatchObject({ bytes: 0, entries: 0 });
    const stop = new AbortController();
    stop.abort();
    const { repo } = checkout('aborted');
    expect((await laneDiskUsage(repo, { signal: stop.signal })).entries).toBe(1);
  });

  it('reads sizes as people do', () => {
    expect([formatBytes(512), formatBytes(3.4 * 1024), formatBytes(412 * 1024 * 1024), formatBytes(1.25 * 1024 ** 3)]).toEqual(['512 B', '3.4 KB', '412 MB', '1.3 GB']);
  });
});
