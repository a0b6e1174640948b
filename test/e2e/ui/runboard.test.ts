/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { expectText } from './expect';
import { extensionId, useVsCode } from './vscode-session';

describe('Runboard', () => {
  const vscode = useVsCode('runboard');

  it('opens from the command palette and shows its placeholder', async () => {
    const { workbench } = vscode();
    await workbench.commandPalette.run('OCR: Open Runboard');
    await workbench.editorTab('Runboard').waitFor({ timeout: 30_000 });
    const runboard = await workbench.webview(extensionId, 'Runboard');
    await expectText(runboard.locator('#title'), 'Ops Control Room Runboard');
    // Written by the webview's script once the extension host answered its `ready`: scripts run under the CSP and
    // messages flow both ways.
    await expectText(runboard.locator('#status'), /^Connected to Ops Control Room \d+\.\d+\.\d+\./);
  });

  it('logs its activation and the webview handshake in the extension host', () => {
    const log = vscode().extensionHostLog;
    assert.ok(log.some((line) => /\[ocr\] Ops Control Room \S+ activated/.test(line)), `no activation line in:\n${log.join('\n')}`);
    assert.ok(log.some((line) => line.includes('[ocr] Runboard ready')), `no handshake line in:\n${log.join('\n')}`);
  });
});
