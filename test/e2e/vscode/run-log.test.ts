/// <reference types="mocha" />
// A run's log as a read-only document that grows while the run is live: a real worker runs a real command, the
// document follows the test database.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { runLogScheme, runLogUri, showRunLog } from '../../../extension/runs/run-log';
import { laneFixture, until, type LaneFixture } from './lane-fixture';

// Prints a numbered line every 150 ms, each also in red on stderr, then a last line.
const chatty = "i=1; while [ $i -le 40 ]; do echo \"line $i\"; printf '\\033[31mred %s\\033[0m\\n' $i >&2; i=$((i+1)); sleep 0.15; done; echo done-now";

describe('run logs', function () {
  this.timeout(240_000);
  let lane: LaneFixture;

  before(async function () {
    this.timeout(240_000);
    lane = await laneFixture('Log session', { 'README.md': '# logs\n' });
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await lane?.dispose();
  });

  it('opens a live run\'s log and keeps it growing until the run ends, without escape codes', async () => {
    const run = await lane.run('A', chatty);
    await until('the run to print', async () => (await lane.store.listEvents(run.id)).some((e) => e.text === 'line 2'));
    const editor = await showRunLog(lane.store, run.id);
    const document = editor.document;
    assert.equal(document.uri.toString(), runLogUri(run).toString());
    assert.equal(document.uri.scheme, runLogScheme);
    assert.match(document.uri.path, /^\/A-[0-9a-f]{8}\.log$/);
    assert.equal(document.languageId, 'log');
    assert.match(document.getText(), /^── Lane A — run [0-9a-f]{8} \(shell\): i=1;/);
    assert.match(document.getText(), /^line 2$/m);
    const firstLength = document.getText().length;

    const updates: number[] = [];
    const listener = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.toString() === document.uri.toString()) updates.push(Date.now());
    });
    const started = Date.now();
    try {
      await until('the last line in the document', () => /^done-now$/m.test(document.getText()), 120_000);
      await until('the exit line', () => /^── exited 0 in /m.test(document.getText()), 30_000);
    } finally {
      listener.dispose();
    }
    const text = document.getText();
    assert.ok(text.length > firstLength, 'the document grew');
    assert.ok(updates.length >= 2, `the document changed ${updates.length} time(s) while the run was live`);
    // Coalesced: at most about ten updates a second.
    const seconds = (Date.now() - started) / 1000;
    assert.ok(updates.length <= Math.ceil(seconds * 10) + 2, `${updates.length} updates in ${seconds.toFixed(1)} s`);
    assert.doesNotMatch(text, /\x1b/);
    assert.match(text, /^red 40$/m);
    for (let i = 1; i <= 40; i++) assert.match(text, new RegExp(`^line ${i}$`, 'm'));
    assert.match(text, /^── claimed by /m);
    assert.equal((await lane.store.getRun(run.id)).status, 'succeeded');
  });

  it('opens a finished run\'s log complete', async () => {
    const run = await lane.finished((await lane.run('B', 'echo first; echo second >&2; exit 3')).id);
    assert.equal(run.status, 'failed');
    const editor = await showRunLog(lane.store, run.id);
    const text = editor.document.getText();
    assert.match(text, /^first\nsecond$/m);
    assert.match(text, /^── exited 3 in /m);
    assert.equal(editor.document.isDirty, false);
  });

  it('stops following when its editor is closed, and catches up when shown again', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const run = await lane.run('A', chatty);
    await until('the run to print', async () => (await lane.store.listEvents(run.id)).some((e) => e.text === 'line 2'));
    const editor = await showRunLog(lane.store, run.id);
    const uri = editor.document.uri.toString();
    await until('the log to grow', () => /^line 5$/m.test(editor.document.getText()));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    let changes = 0;
    const listener = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.toString() === uri) changes++;
    });
    try {
      // The run goes on printing (a line every 150 ms) while nobody looks.
      const printed = (await lane.store.listEvents(run.id)).length;
      await until('the run to print more', async () => (await lane.store.listEvents(run.id)).length > printed + 6);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(changes, 0, 'a closed log is no longer fed');
    } finally {
      listener.dispose();
    }
    const again = await showRunLog(lane.store, run.id);
    await until('the log to catch up to the end', () => /^done-now$/m.test(again.document.getText()), 120_000);
    for (let i = 1; i <= 40; i++) assert.match(again.document.getText(), new RegExp(`^line ${i}$`, 'm'));
  });

  it('shows one tab per run however often it is asked', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const [run] = await lane.store.listRuns({ sessionId: lane.session.id, lane: 'B', limit: 1 });
    assert.ok(run);
    await showRunLog(lane.store, run.id);
    await showRunLog(lane.store, run.id);
    const tabs = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.scheme === runLogScheme);
    assert.equal(tabs.length, 1);
    assert.equal(tabs[0]?.label, runLogUri(run).path.slice(1));
  });
});
