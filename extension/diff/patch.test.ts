import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureDiff } from '../../worker/engine/diff';
import { makeRepo, sh, tempDir } from '../../worker/engine/git.test-support';
import { applyLanePatch, laneFiles, lanePatch, parseApplyErrors, type LanePatch } from './patch';

const binary = Buffer.from([0, 1, 2, 3, 255, 254, 0, 9]);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A repository, the change a lane made in it (as the worker records it), and the repository reset to its base. */
async function laneChange(): Promise<{ repo: string; base: string; lane: LanePatch }> {
  const dir = tempDir();
  cleanups.push(dir.remove);
  const repo = dir.path;
  const base = makeRepo(repo, { 'src/app.ts': 'one\ntwo\nthree\n', 'gone.txt': 'bye\n', 'logo.bin': binary, 'keep.txt': 'same\n' });
  writeFileSync(path.join(repo, 'src/app.ts'), 'one\nTWO\nthree\nfour\n');
  rmSync(path.join(repo, 'gone.txt'));
  writeFileSync(path.join(repo, 'new.md'), 'brand new\n');
  writeFileSync(path.join(repo, 'logo.bin'), Buffer.concat([binary, binary]));
  const diff = await captureDiff(repo, base);
  sh(repo, 'git reset -q --hard && git clean -qfd');
  return { repo, base, lane: lanePatch(diff.summary, Buffer.from(diff.content, 'utf8')) };
}

describe('laneFiles', () => {
  it('rebuilds every file before and after the run from the patch and the base commit', async () => {
    const { repo, base, lane } = await laneChange();
    const files = await laneFiles(repo, base, lane);
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
    expect(Object.keys(byPath).sort()).toEqual(['gone.txt', 'logo.bin', 'new.md', 'src/app.ts']);
    expect(byPath['src/app.ts']).toMatchObject({ status: 'modified', before: 'one\ntwo\nthree\n', after: 'one\nTWO\nthree\nfour\n' });
    expect(byPath['new.md']).toMatchObject({ status: 'added', before: '', after: 'brand new\n' });
    expect(byPath['gone.txt']).toMatchObject({ status: 'deleted', before: 'bye\n', after: '' });
    expect(byPath['logo.bin']).toMatchObject({ binary: true });
    expect(byPath['logo.bin']!.before).toMatch(/^Binary file logo\.bin \(8 bytes\)/);
    expect(byPath['logo.bin']!.after).toMatch(/^Binary file logo\.bin \(16 bytes\)/);
    // Neither the user's index nor their files were touched.
    expect(sh(repo, 'git status --porcelain')).toBe('');
  });

  it('says so when the base commit is not in the repository', async () => {
    const { repo, lane } = await laneChange();
    await expect(laneFiles(repo, '0123456789abcdef0123456789abcdef01234567', lane)).rejects.toMatchObject({ code: 'diff_unavailable' });
  });
});

describe('applyLanePatch', () => {
  it('applies every file of the patch to a clean working tree', async () => {
    const { repo, lane } = await laneChange();
    const outcome = await applyLanePatch(path.join(repo, 'src'), lane);
    expect(outcome).toMatchObject({ applied: true, folder: repo });
    expect(readFileSync(path.join(repo, 'src/app.ts'), 'utf8')).toBe('one\nTWO\nthree\nfour\n');
    expect(readFileSync(path.join(repo, 'new.md'), 'utf8')).toBe('brand new\n');
    expect(existsSync(path.join(repo, 'gone.txt'))).toBe(false);
    expect(readFileSync(path.join(repo, 'logo.bin'))).toEqual(Buffer.concat([binary, binary]));
  });

  it('names each conflicting file and changes nothing', async () => {
    const { repo, lane } = await laneChange();
    writeFileSync(path.join(repo, 'src/app.ts'), 'one\nmine\nthree\n');
    writeFileSync(path.join(repo, 'new.md'), 'my own\n');
    const before = sh(repo, 'git status --porcelain && git diff');
    const outcome = await applyLanePatch(repo, lane);
    expect(outcome.applied).toBe(false);
    if (outcome.applied) return;
    expect(outcome.conflicts).toEqual([
      { path: 'new.md', reason: 'the lane adds this file, but your working tree already has one' },
      { path: 'src/app.ts', reason: 'your copy differs where the lane changed it' },
    ]);
    expect(sh(repo, 'git status --porcelain && git diff')).toBe(before);
    expect(existsSync(path.join(repo, 'gone.txt'))).toBe(true);
    expect(readFileSync(path.join(repo, 'logo.bin'))).toEqual(binary);
  });
});

describe('parseApplyErrors', () => {
  it('turns git apply --check output into one plain reason per file', () => {
    const stderr = [
      "error: the patch applies to 'bin.dat' (c52f1d1d), which does not match the current contents.",
      'error: bin.dat: patch does not apply',
      'error: gone.txt: No such file or directory',
      'error: patch failed: m.txt:1',
      'error: m.txt: patch does not apply',
      'error: new.txt: already exists in working directory',
    ].join('\n');
    expect(parseApplyErrors(stderr).map((c) => c.path)).toEqual(['bin.dat', 'gone.txt', 'm.txt', 'new.txt']);
    expect(parseApplyErrors('error: something else entirely\n')).toEqual([{ path: '', reason: 'something else entirely' }]);
  });
});
