/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { expectText } from './expect';
import { extensionId, useVsCode } from './vscode-session';

const statusItem = 'ops-control-room.ops-control-room.ocr.status';

describe('Ops Control Room in the workbench', () => {
  const vscode = useVsCode('workbench');

  it('has an activity-bar container whose Sessions view is empty and says what to do', async () => {
    const { workbench } = vscode();
    await workbench.activityBar.open('Ops Control Room');
    await expectText(workbench.sideBar.title(), /OPS CONTROL ROOM/i);
    const sessions = workbench.sideBar.view('Sessions');
    await expectText(sessions.welcome(), 'No sessions yet.');
    assert.equal(await sessions.rows().count(), 0);
    await sessions.button('Open Runboard').waitFor({ timeout: 10_000 });
  });

  it('shows its status-bar item once active', async () => {
    const { workbench } = vscode();
    await workbench.statusBar.item(statusItem).waitFor({ timeout: 60_000 });
    assert.equal(await workbench.statusBar.text(statusItem), 'OCR');
    assert.match((await workbench.statusBar.tooltip(statusItem)) ?? '', /open the Runboard/);
  });

  it('opens the Runboard from the status-bar item', async () => {
    const { workbench } = vscode();
    await workbench.statusBar.click(statusItem);
    await workbench.editorTab('Runboard').waitFor({ timeout: 30_000 });
    const runboard = await workbench.webview(extensionId, 'Runboard');
    await expectText(runboard.locator('#status'), 'Connected to Ops Control Room');
  });

  it('reads notifications (VS Code\'s git extension on the sample repository)', async () => {
    const { workbench } = vscode();
    await workbench.commandPalette.run('Git: Fetch');
    await workbench.notifications.waitFor(/no remotes/i, 60_000);
    await workbench.notifications.dismissAll();
    assert.deepEqual(await workbench.notifications.messages(), []);
  });
});
