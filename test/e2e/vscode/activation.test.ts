/// <reference types="mocha" />
// Runs inside the extension host with the real `vscode` API; mocha's globals come from whichever runner loads it
// (test/e2e/vscode/index.ts, or @vscode/test-cli's own).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { until } from '../until';

const extensionId = 'ops-control-room.ops-control-room';

function runboardTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('ocr.runboard'));
}

describe('Ops Control Room extension', () => {
  const extension = () => {
    const found = vscode.extensions.getExtension(extensionId);
    assert.ok(found, `${extensionId} is not loaded`);
    return found;
  };

  it('is loaded with a lazy activation and the engine it was built for', () => {
    const manifest = extension().packageJSON as { engines: { vscode: string }; activationEvents: string[]; main: string };
    assert.equal(manifest.engines.vscode, '^1.100.0');
    assert.equal(manifest.main, './dist/extension.js');
    assert.ok(!manifest.activationEvents.includes('*'), 'must not activate on every start-up');
    assert.equal(extension().isActive, false, 'nothing of the extension was used yet, so it must not be active');
  });

  it('activates when its Sessions view is opened', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.ops-control-room');
    await until('activation', () => extension().isActive);
  });

  it('registers every command it contributes', async () => {
    const commands = await vscode.commands.getCommands(true);
    const contributed = (extension().packageJSON as { contributes: { commands: Array<{ command: string; title: string; category: string }> } }).contributes.commands;
    const expected = ['ocr.newSession', 'ocr.runInLane', 'ocr.cancelRun', 'ocr.retryRun', 'ocr.openRunboard', 'ocr.toggleWorker', 'ocr.showRunLog',
      'ocr.openLaneDiff', 'ocr.applyLaneChanges', 'ocr.archiveSession', 'ocr.connectPostgres', 'ocr.useEmbeddedDatabase'];
    for (const id of expected) {
      assert.ok(contributed.some((c) => c.command === id && c.category === 'OCR'), `${id} is not contributed in the OCR category`);
      assert.ok(commands.includes(id), `${id} is not registered`);
    }
    for (const c of contributed) assert.ok(commands.includes(c.command), `${c.command} is contributed but not registered`);
  });

  it('opens one Runboard panel, however often it is asked to', async () => {
    await vscode.commands.executeCommand('ocr.openRunboard');
    await vscode.commands.executeCommand('ocr.openRunboard');
    const tabs = await until('the Runboard tab', () => (runboardTabs().length > 0 ? runboardTabs() : undefined));
    assert.equal(tabs.length, 1);
    assert.equal(tabs[0]?.label, 'Runboard');
    await vscode.window.tabGroups.close(tabs);
    assert.equal(runboardTabs().length, 0);
  });
});
