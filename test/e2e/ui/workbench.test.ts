/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { expectText } from './expect';
import { useVsCode } from './vscode-session';

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
    await sessions.button('New Session').waitFor({ timeout: 10_000 });
    await sessions.button('Open Runboard').waitFor({ timeout: 10_000 });
  });

  it('shows the in-editor worker in the status bar once it runs', async () => {
    const { workbench } = vscode();
    await workbench.statusBar.item(statusItem).waitFor({ timeout: 60_000 });
    await expectText(workbench.statusBar.item(statusItem), /OCR 0\/4/, 90_000);
    assert.match((await workbench.statusBar.tooltip(statusItem)) ?? '', /Ops Control Room worker/);
  });

  it('pauses and resumes the worker from the status-bar item', async () => {
    const { workbench } = vscode();
    await workbench.statusBar.click(statusItem);
    await expectText(workbench.statusBar.item(statusItem), /OCR paused/, 30_000);
    assert.match((await workbench.statusBar.tooltip(statusItem)) ?? '', /paused/);
    await workbench.statusBar.click(statusItem);
    await expectText(workbench.statusBar.item(statusItem), /OCR 0\/4/, 30_000);
  });

  it('reads notifications (VS Code\'s git extension on the sample repository)', async () => {
    const { workbench } = vscode();
    await workbench.commandPalette.run('Git: Fetch');
    await workbench.notifications.waitFor(/no remotes/i, 60_000);
    await workbench.notifications.dismissAll();
    assert.deepEqual(await workbench.notifications.messages(), []);
  });
});
