import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffSummary } from '../../domain';
import { captureDiff } from '../../worker/engine/diff';
import { makeRepo, sh, tempDir } from '../../worker/engine/git.test-support';
import { applyLanePatch, lanePatch, planApply } from './patch';
import { checkPatchPaths, patchFiles, unsafePatchPath } from './patch-files';

const dir = tempDir();
afterAll(() => dir.remove());

function repoNamed(name: string, files: Record<string, string | Buffer>): { repo: string; base: string } {
  const repo = path.join(dir.path, name);
  mkdirSync(repo);
  return { repo, base: makeRepo(repo, files) };
}

const brief = (files: ReturnType<typeof patchFiles>) =>
  files.map((f) => [f.status, f.from ? `${f.from} -> ${f.path}` : f.path, f.binary ? 'binary' : `+${f.insertions} -${f.deletions}`, f.oldMode, f.newMode].filter(Boolean).join(' '));

const summaryOf = (entries: Array<{ path: string }>): DiffSummary =>
  DiffSummary.parse({
    base: 'HEAD',
    files: entries.length,
    insertions: 0,
    deletions: 0,
    binaryFiles: 0,
    entries: entries.map((e) => ({ path: e.path, status: 'modified', insertions: 0, deletions: 0, binary: false })),
    encoding: 'utf8',
    omitted: false,
  });

describe('patchFiles', () => {
  it('reads the same files from a worker\'s patch as its summary lists', async () => {
    const { repo, base } = repoNamed('worker', { 'edit.txt': 'one\ntwo\n', 'gone.txt': 'bye\n', 'logo.bin': Buffer.from([0, 1, 2, 255]) });
    writeFileSync(path.join(repo, 'edit.txt'), 'one\nTWO\nthree\n');
    writeFileSync(path.join(repo, 'new file.txt'), 'fresh\n');
    writeFileSync(path.join(repo, 'logo.bin'), Buffer.from([0, 9, 9, 255, 0]));
    writeFileSync(path.join(repo, 'tab\there "é".txt'), 'quoted\n');
    sh(repo, 'rm gone.txt');
    const diff = await captureDiff(repo, base);
    const files = patchFiles(diff.content);
    expect(files.map(({ path: p, status, insertions, deletions, binary }) => ({ path: p, status, insertions, deletions, binary }))).toEqual(diff.summary.entries);
    expect(brief(files)).toEqual([
      'modified edit.txt +2 -1',
      'deleted gone.txt +0 -1 100644',
      'modified logo.bin binary',
      'added new file.txt +1 -0 100644',
      'added tab\there "é".txt +1 -0 100644',
    ]);
  });

  it('reads renames, copies, mode changes and links as git writes them', () => {
    const { repo } = repoNamed('renames', { 'old name.txt': 'a\nb\nc\nd\ne\n', 'run.sh': 'echo hi\n', 'keep.txt': '1\n2\n3\n4\n5\n6\n' });
    sh(repo, 'git mv "old name.txt" "new name.txt" && chmod +x run.sh && cp keep.txt copy.txt && git add -A');
    symlinkSync('keep.txt', path.join(repo, 'link'));
    sh(repo, 'git add link');
    const patch = sh(repo, 'git diff --cached -M -C --find-copies-harder HEAD');
    expect(brief(patchFiles(patch))).toEqual([
      'copied keep.txt -> copy.txt +0 -0',
      'added link +1 -0 120000',
      'renamed old name.txt -> new name.txt +0 -0',
      'modified run.sh +0 -0 100644 100755',
    ]);
  });

  it('reads a traditional diff -u with timestamps, and a section that follows another file\'s hunks', () => {
    const traditional = [
      '--- a/src/app.ts\t2024-01-01 10:00:00.000000000 +0000',
      '+++ b/src/app.ts\t2024-01-01 10:00:01.000000000 +0000',
      '@@ -1,2 +1,2 @@',
      ' one',
      '--- two',
      '+++ three',
      '--- /dev/null',
      '+++ b/.vscode/tasks.json',
      '@@ -0,0 +1 @@',
      '+{}',
    ].join('\n');
    // "--- two" and "+++ three" are a removed and an added line of the first hunk, not a new file.
    expect(brief(patchFiles(traditional))).toEqual(['modified src/app.ts +1 -1', 'added .vscode/tasks.json +1 -0']);
    const hidden = [
      'diff --git a/a.txt b/a.txt',
      '--- a/a.txt',
      '+++ b/a.txt',
      '@@ -1 +1 @@',
      '-one',
      '+two',
      '--- a/.vscode/tasks.json',
      '+++ b/.vscode/tasks.json',
      '@@ -0,0 +1 @@',
      '+{}',
    ].join('\n');
    expect(patchFiles(hidden).map((f) => f.path)).toEqual(['a.txt', '.vscode/tasks.json']);
  });
});

describe('unsafe paths', () => {
  it('names why a path may not be applied', () => {
    for (const p of ['.git/config', 'sub/.git/hooks/pre-commit', '.GIT/config', '.git./config', 'GIT~1/config']) expect(unsafePatchPath(p)).toMatch(/inside a \.git folder/);
    for (const p of ['../outside.txt', 'a/../../b']) expect(unsafePatchPath(p)).toMatch(/leaves the working tree/);
    for (const p of ['/etc/passwd', 'C:/x', '\\\\server\\share']) expect(unsafePatchPath(p)).toMatch(/absolute/);
    for (const p of ['.gitignore', '.github/workflows/ci.yml', 'src/.gitkeep', 'a..b/c', '.vscode/tasks.json']) expect(unsafePatchPath(p)).toBeUndefined();
  });

  it('refuses a patch whose rename source or any header names such a path', () => {
    const rename = ['diff --git a/.git/hooks/x b/hooks/x', 'similarity index 100%', 'rename from .git/hooks/x', 'rename to hooks/x'].join('\n');
    expect(() => checkPatchPaths(patchFiles(rename), "the run's patch")).toThrow(
      `the run's patch changes ".git/hooks/x", and it is inside a .git folder, which holds the repository's config and hooks; nothing was applied`,
    );
  });

  it('planApply and applyLanePatch refuse a patch that writes .git/config, whatever its summary says, and change nothing', async () => {
    const { repo } = repoNamed('git-config', { 'a.txt': 'one\n' });
    const config = readFileSync(path.join(repo, '.git', 'config'), 'utf8');
    const patch = Buffer.from(['diff --git a/.git/config b/.git/config', '--- a/.git/config', '+++ b/.git/config', '@@ -1 +1,2 @@', ' [core]', '+\tfsmonitor = touch pwned', ''].join('\n'));
    const lane = lanePatch(summaryOf([{ path: 'a.txt' }]), patch);
    await expect(planApply(repo, lane)).rejects.toMatchObject({ code: 'invalid_input', message: expect.stringContaining('".git/config"') });
    await expect(applyLanePatch(repo, lane)).rejects.toMatchObject({ code: 'invalid_input' });
    expect(readFileSync(path.join(repo, '.git', 'config'), 'utf8')).toBe(config);
  });

  it("planApply lists the patch's files, not the summary's", async () => {
    const { repo } = repoNamed('plan', { 'a.txt': 'one\n' });
    const patch = Buffer.from(
      ['diff --git a/a.txt b/a.txt', '--- a/a.txt', '+++ b/a.txt', '@@ -1 +1 @@', '-one', '+two', 'diff --git a/.vscode/tasks.json b/.vscode/tasks.json', 'new file mode 100644', '--- /dev/null', '+++ b/.vscode/tasks.json', '@@ -0,0 +1 @@', '+{}', ''].join('\n'),
    );
    const plan = await planApply(path.join(repo), lanePatch(summaryOf([{ path: 'a.txt' }]), patch));
    expect(plan.files.map((f) => `${f.status} ${f.path}`)).toEqual(['modified a.txt', 'added .vscode/tasks.json']);
    expect(plan.unlisted).toEqual([]);
    expect(await applyLanePatch(repo, lanePatch(summaryOf([{ path: 'a.txt' }]), patch))).toMatchObject({ applied: true, files: ['a.txt', '.vscode/tasks.json'] });
  });
});
