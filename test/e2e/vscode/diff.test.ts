/// <reference types="mocha" />
// A lane's changes in VS Code's own diff editor, and applied to a working tree: real git, a real worker, the test
// database, and the real `vscode` API.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { applyLaneChanges, applyQuestion, diffScheme, diffUri, laneDiffTitle, openLaneDiff } from '../../../extension/diff/lane-diff';
import { loadLanePatch } from '../../../extension/diff/patch';
import type { Run } from '../../../domain';
import { git, laneFixture, until, type LaneFixture } from './lane-fixture';

const logo = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d, 1, 2, 3]);

function allTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs);
}

/** The multi-file diff editor's tab input; not in the typed API of VS Code 1.100, so read by its shape. */
function multiDiffOf(tab: vscode.Tab): Array<{ original: vscode.Uri; modified: vscode.Uri }> | undefined {
  const input = tab.input as { textDiffs?: unknown } | undefined;
  return Array.isArray(input?.textDiffs) ? (input.textDiffs as Array<{ original: vscode.Uri; modified: vscode.Uri }>) : undefined;
}

async function textOf(uri: vscode.Uri): Promise<string> {
  return (await vscode.workspace.openTextDocument(uri)).getText();
}

/** Every file of a working tree with its content, and git's view of it: what must not change on a refused apply. */
function snapshot(folder: string): string {
  const files = git(folder, 'ls-files', '--cached', '--others', '--exclude-standard').split('\n').filter(Boolean).sort();
  return [git(folder, 'status', '--porcelain'), ...files.map((f) => `${f}\n${readFileSync(path.join(folder, f)).toString('base64')}`)].join('\n');
}

describe('lane diffs', function () {
  this.timeout(240_000);
  let lane: LaneFixture;
  let changed: Run;

  before(async function () {
    this.timeout(240_000);
    lane = await laneFixture('Diff session', { 'src/app.ts': 'one\ntwo\nthree\n', 'gone.txt': 'bye\n', 'logo.png': logo, 'keep.txt': 'same\n' });
    const command = "printf 'one\\nTWO\\nthree\\nfour\\n' > src/app.ts && rm gone.txt && printf 'brand new\\n' > new.md && printf 'xyz\\000' >> logo.png";
    changed = await lane.finished((await lane.run('A', command)).id);
    assert.equal(changed.status, 'succeeded', changed.error ?? '');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await lane?.dispose();
  });

  it('opens the run\'s files in the multi-file diff editor, titled by lane and run', async () => {
    const result = await openLaneDiff(lane.store, changed, lane.session);
    assert.equal(result.shown, 'changes');
    assert.equal(result.title, laneDiffTitle(changed));
    assert.match(result.title, /^Lane A — run [0-9a-f]{8}$/);
    assert.deepEqual(result.files.map((f) => `${f.status} ${f.path}`).sort(), ['added new.md', 'deleted gone.txt', 'modified logo.png', 'modified src/app.ts']);
    // VS Code adds the file count: "Lane A — run 1a2b3c4d (4 files)".
    const tab = await until('the diff tab', () => allTabs().find((t) => t.label.startsWith(result.title)));
    assert.equal(tab.label, `${result.title} (4 files)`);
    const diffs = multiDiffOf(tab);
    if (diffs) {
      assert.equal(diffs.length, 4);
      assert.ok(diffs.every((d) => d.original.scheme === diffScheme && d.modified.scheme === diffScheme));
    }
  });

  it('shows the base on the left and the run\'s result on the right; new files empty on the left, deleted ones on the right', async () => {
    assert.equal(await textOf(diffUri(changed.id, 'src/app.ts', 'before')), 'one\ntwo\nthree\n');
    assert.equal(await textOf(diffUri(changed.id, 'src/app.ts', 'after')), 'one\nTWO\nthree\nfour\n');
    assert.equal(await textOf(diffUri(changed.id, 'new.md', 'before')), '');
    assert.equal(await textOf(diffUri(changed.id, 'new.md', 'after')), 'brand new\n');
    assert.equal(await textOf(diffUri(changed.id, 'gone.txt', 'before')), 'bye\n');
    assert.equal(await textOf(diffUri(changed.id, 'gone.txt', 'after')), '');
    assert.match(await textOf(diffUri(changed.id, 'logo.png', 'before')), /^Binary file logo\.png \(11 bytes\)/);
    assert.match(await textOf(diffUri(changed.id, 'logo.png', 'after')), /^Binary file logo\.png \(15 bytes\)/);
    const document = await vscode.workspace.openTextDocument(diffUri(changed.id, 'src/app.ts', 'after'));
    assert.equal(document.languageId, 'typescript');
  });

  it('keeps showing what that run changed after later runs change the lane again', async () => {
    const later = await lane.finished((await lane.run('A', "printf 'rewritten\\n' > src/app.ts")).id);
    assert.equal(later.status, 'succeeded');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await openLaneDiff(lane.store, changed, lane.session);
    assert.equal(await textOf(diffUri(changed.id, 'src/app.ts', 'after')), 'one\nTWO\nthree\nfour\n');
    await openLaneDiff(lane.store, later, lane.session);
    // The lane's diff is against the session's base, so the later run carries the earlier one's other changes too.
    assert.equal(await textOf(diffUri(later.id, 'src/app.ts', 'after')), 'rewritten\n');
    assert.equal(await textOf(diffUri(later.id, 'new.md', 'after')), 'brand new\n');
  });

  it('says so, and opens nothing, when a run changed no files', async () => {
    const quiet = await lane.finished((await lane.run('B', 'echo looking only')).id);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const result = await openLaneDiff(lane.store, quiet, lane.session);
    assert.equal(result.shown, 'none');
    assert.match(result.message ?? '', /changed no files/);
    assert.equal(allTabs().length, 0);
  });

  it('says so when a run has not finished, so has no diff yet', async () => {
    const waiting = await lane.store.createRun({ session_id: lane.session.id, lane: 'B', intent: 'sleep 30', executor: 'shell', spec: { shell: '/bin/sh' } });
    try {
      const result = await openLaneDiff(lane.store, { ...waiting, status: 'queued' }, lane.session);
      assert.equal(result.shown, 'none');
      assert.match(result.message ?? '', /has not finished yet/);
    } finally {
      await lane.store.cancelRun(waiting.id);
    }
  });

  it('applies the run\'s changes to a working tree', async () => {
    const target = path.join(lane.scratch, 'clone-clean');
    git(lane.scratch, 'clone', '-q', lane.repo, target);
    const result = await applyLaneChanges(lane.store, changed, lane.session, target, { confirm: false });
    assert.equal(result.outcome, 'applied', JSON.stringify(result));
    assert.equal(readFileSync(path.join(target, 'src/app.ts'), 'utf8'), 'one\nTWO\nthree\nfour\n');
    assert.equal(readFileSync(path.join(target, 'new.md'), 'utf8'), 'brand new\n');
    assert.equal(existsSync(path.join(target, 'gone.txt')), false);
    assert.deepEqual(readFileSync(path.join(target, 'logo.png')), Buffer.concat([logo, Buffer.from('xyz\0')]));
  });

  it('names the conflicting files and leaves every file untouched when the changes do not apply', async () => {
    const target = path.join(lane.scratch, 'clone-edited');
    git(lane.scratch, 'clone', '-q', lane.repo, target);
    writeFileSync(path.join(target, 'src/app.ts'), 'one\nmy own two\nthree\n');
    writeFileSync(path.join(target, 'new.md'), 'mine\n');
    const before = snapshot(target);
    const result = await applyLaneChanges(lane.store, changed, lane.session, target, { confirm: false });
    assert.equal(result.outcome, 'conflict', JSON.stringify(result));
    if (result.outcome !== 'conflict') return;
    assert.deepEqual(result.conflicts.map((c) => c.path).sort(), ['new.md', 'src/app.ts']);
    assert.ok(result.conflicts.every((c) => c.reason.length > 0 && !c.reason.startsWith('error')));
    assert.equal(snapshot(target), before);
  });

  it('asks about the files the patch changes, .vscode/tasks.json among them, when the summary names only src/app.ts', async () => {
    const patch = [
      'diff --git a/src/app.ts b/src/app.ts',
      '--- a/src/app.ts',
      '+++ b/src/app.ts',
      '@@ -1,3 +1,3 @@',
      ' one',
      '-two',
      '+2',
      ' three',
      'diff --git a/.vscode/tasks.json b/.vscode/tasks.json',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/.vscode/tasks.json',
      '@@ -0,0 +1 @@',
      '+{"version":"2.0.0","tasks":[{"label":"x","type":"shell","command":"touch pwned","runOptions":{"runOn":"folderOpen"}}]}',
      '',
    ].join('\n');
    const { run, session } = await lane.forgedRun(patch, [{ path: 'src/app.ts', status: 'modified' }]);
    const target = path.join(lane.scratch, 'clone-tasks');
    git(lane.scratch, 'clone', '-q', lane.repo, target);
    const question = await applyQuestion((await loadLanePatch(lane.store, run))!, run, session, target);
    assert.equal(question.message, `Apply lane A's changes (run ${run.id.slice(0, 8)}) to ${target}?`);
    const listed = question.detail.split('\n').filter((l) => /^ {2}\S/.test(l));
    assert.deepEqual(listed, ['  ~ src/app.ts', '  + .vscode/tasks.json']);
    assert.equal(question.disagrees, true);
    assert.match(question.detail, /The worker's summary of this run lists other files \(src\/app\.ts\); the files above are what the patch changes\./);
    // What gets applied is that patch: both files.
    const result = await applyLaneChanges(lane.store, run, session, target, { confirm: false });
    assert.equal(result.outcome, 'applied', JSON.stringify(result));
    assert.deepEqual(result.outcome === 'applied' && result.files, ['src/app.ts', '.vscode/tasks.json']);
    assert.ok(existsSync(path.join(target, '.vscode', 'tasks.json')));
  });

  it('refuses, before asking, a patch that writes .git/config, and changes nothing', async () => {
    const patch = ['diff --git a/.git/config b/.git/config', '--- a/.git/config', '+++ b/.git/config', '@@ -1 +1,2 @@', ' [core]', '+\tfsmonitor = touch pwned', ''].join('\n');
    const { run, session } = await lane.forgedRun(patch, [{ path: 'src/app.ts', status: 'modified' }]);
    const target = path.join(lane.scratch, 'clone-git-config');
    git(lane.scratch, 'clone', '-q', lane.repo, target);
    const before = readFileSync(path.join(target, '.git', 'config'), 'utf8');
    // Were it to ask, the modal dialog would wait for an answer: the race says so instead of hanging.
    const asked = new Promise<'asked'>((resolve) => setTimeout(() => resolve('asked'), 15_000));
    const answer = await Promise.race([applyLaneChanges(lane.store, run, session, target).then((r) => r, (e: unknown) => e), asked]);
    assert.ok(answer instanceof Error, `expected a refusal, got ${JSON.stringify(answer)}`);
    assert.equal((answer as { code?: string }).code, 'invalid_input');
    assert.equal(
      answer.message,
      `the run's patch changes ".git/config", and it is inside a .git folder, which holds the repository's config and hooks; nothing was applied`,
    );
    await assert.rejects(applyQuestion((await loadLanePatch(lane.store, run))!, run, session, target), /"\.git\/config"/);
    await assert.rejects(openLaneDiff(lane.store, run, session), /"\.git\/config"/);
    assert.equal(readFileSync(path.join(target, '.git', 'config'), 'utf8'), before);
  });

  it("runs no core.fsmonitor of the repository: neither Open Lane Diff nor Apply", async () => {
    const marker = path.join(lane.scratch, 'fsmonitor-ran');
    const target = path.join(lane.scratch, 'clone-fsmonitor');
    git(lane.scratch, 'clone', '-q', lane.repo, target);
    for (const repo of [lane.repo, target]) git(repo, 'config', 'core.fsmonitor', `touch ${marker}; false`);
    try {
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
      const shown = await openLaneDiff(lane.store, changed, lane.session);
      assert.equal(shown.files.length, 4);
      assert.equal(await textOf(diffUri(changed.id, 'src/app.ts', 'after')), 'one\nTWO\nthree\nfour\n');
      const applied = await applyLaneChanges(lane.store, changed, lane.session, target, { confirm: false });
      assert.equal(applied.outcome, 'applied', JSON.stringify(applied));
      assert.equal(existsSync(marker), false, "the repository's core.fsmonitor ran");
      // The setting is real: the user's own git runs it.
      git(target, 'status', '--porcelain');
      assert.equal(existsSync(marker), true);
    } finally {
      git(lane.repo, 'config', '--unset', 'core.fsmonitor');
    }
  });
});
