/// <reference types="mocha" />
// In an untrusted workspace nothing executes: the worker stays off, the status bar says why, runs only queue.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { OcrApi } from '../../../extension/extension';
import { openStore } from '../../../worker/store/open';

describe('an untrusted workspace', function () {
  this.timeout(120_000);

  it('runs nothing: the worker stays off and says why, and a queued run stays queued', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'this suite must run in an untrusted workspace');
    const extension = vscode.extensions.getExtension<OcrApi>('ops-control-room.ops-control-room');
    assert.ok(extension);
    const api = await extension.activate();
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
});
