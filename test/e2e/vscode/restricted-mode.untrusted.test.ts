/// <reference types="mocha" />
// In an untrusted workspace nothing executes: the worker stays off, the status bar says why, runs only queue, and
// Open Lane Diff and Apply Lane Changes say so and run no git.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { activateOcr } from './ocr-extension';
import { applyLaneChanges, diffUri, openLaneDiff } from '../../../extension/diff/lane-diff';
import { describeRepo } from '../../../worker/engine/repo';
import { openStore } from '../../../worker/store/open';
import { git, laneFixture } from './lane-fixture';

describe('an untrusted workspace', function () {
  this.timeout(120_000);

  it('runs nothing: the worker stays off and says why, and a queued run stays queued', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'this suite must run in an untrusted workspace');
    const api = await activateOcr();
    assert.equal(api.workerState(), 'off');
    assert.equal(api.statusBar().text, '$(shield) OCR untrusted');
    assert.match(api.statusBar().tooltip, /runs nothing in an untrusted workspace/);

    const sessionId = await vscode.commands.executeCommand<string>('ocr.newSession', { title: 'Untrusted', intent: '', repo: null });
    const runId = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'A', intent: 'touch should-not-exist' });
    await vscode.commands.executeCommand('ocr.toggleWorker');
    await new Promise((resolve) => setTimeout(resolve, 4000));
    assert.equal(api.workerState(), 'off', 'Toggle Worker must not start it here');
    const store = await openStore(process.env.OCR_DATABASE_URL);
    try {
      const run = await store.getRun(runId);
      assert.equal(run.status, 'queued');
      assert.equal(run.claimed_by, null);
    } finally {
      await store.close();
    }
  });

  it('Open Lane Diff and Apply Lane Changes say so and run no git, from the palette or called directly', async function () {
    this.timeout(240_000);
    // A run another worker (the fixture's, outside this editor) finished, with a diff.
    const lane = await laneFixture('Untrusted diff', { 'a.txt': 'one\n' });
    const originalPath = process.env.PATH;
    try {
      const run = await lane.finished((await lane.run('A', "printf 'two\\n' > a.txt")).id);
      assert.equal(run.status, 'succeeded', run.error ?? '');
      await lane.stopWorker();
      const clone = path.join(lane.scratch, 'clone');
      git(lane.scratch, 'clone', '-q', lane.repo, clone);
      const marker = path.join(lane.scratch, 'fsmonitor-ran');
      for (const repo of [lane.repo, clone]) git(repo, 'config', 'core.fsmonitor', `touch ${marker}; false`);
      // From here on every git this extension host starts is written down.
      const bin = path.join(lane.scratch, 'bin');
      const calls = path.join(lane.scratch, 'git-calls');
      mkdirSync(bin);
      writeFileSync(calls, '');
      const realGit = execPathOfGit();
      writeFileSync(path.join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "$PWD $*" >> '${calls}'\nexec '${realGit}' "$@"\n`);
      chmodSync(path.join(bin, 'git'), 0o755);
      process.env.PATH = `${bin}:${originalPath}`;

      assert.equal(await vscode.commands.executeCommand('ocr.openLaneDiff', { runId: run.id }), undefined);
      assert.equal(await vscode.commands.executeCommand('ocr.applyLaneChanges', { runId: run.id, confirm: false }), undefined);
      const opened = await openLaneDiff(lane.store, run, lane.session);
      assert.equal(opened.shown, 'none');
      assert.match(opened.message ?? '', /^Open Lane Diff runs git in your repository, which Ops Control Room does not do in an untrusted workspace\./);
      const applied = await applyLaneChanges(lane.store, run, lane.session, clone, { confirm: false });
      assert.equal(applied.outcome, 'nothing');
      assert.match(applied.outcome === 'nothing' ? applied.message : '', /^Apply Lane Changes runs git in your repository/);
      // A diff editor restored from before stays empty rather than rebuilt with git.
      await vscode.workspace.openTextDocument(diffUri(run.id, 'a.txt', 'after')).then(
        (d) => assert.equal(d.getText(), ''),
        () => undefined,
      );

      const ours = readFileSync(calls, 'utf8').split('\n').filter((l) => l.includes(lane.scratch));
      assert.deepEqual(ours, [], 'no git may run on the repository');
      assert.equal(readFileSync(path.join(lane.repo, 'a.txt'), 'utf8'), 'one\n');
      assert.equal(readFileSync(path.join(clone, 'a.txt'), 'utf8'), 'one\n');
      assert.equal(existsSync(marker), false);
      // The recording git does see the extension's git calls: one made now is written down.
      await describeRepo(clone);
      assert.ok(readFileSync(calls, 'utf8').split('\n').some((l) => l.includes(clone)), 'the recording git saw no call');
    } finally {
      process.env.PATH = originalPath;
      await lane.dispose();
    }
  });
});

/** The git on this PATH, before the recording one is put in front of it. */
function execPathOfGit(): string {
  for (const folder of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(folder, 'git');
    if (folder && existsSync(candidate)) return candidate;
  }
  throw new Error('git is not on the PATH');
}
