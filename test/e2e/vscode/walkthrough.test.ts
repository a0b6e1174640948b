/// <reference types="mocha" />
// What the first-run walkthrough's steps wait for, through the API: the context keys its `onContext:` events name
// follow what the person did (a session, a run in the first lane that ended, a run given to an agent), and the worker
// command line it copies is the README's, with this workspace's repository.
import assert from 'node:assert/strict';
import path from 'node:path';
import * as vscode from 'vscode';
import type { OcrApi } from '../../../extension/extension';
import { activateOcr } from './ocr-extension';
import { openStore } from '../../../worker/store/open';
import type { Store } from '../../../worker/store/store';
import { until } from './lane-fixture';


describe('the first-run walkthrough', function () {
  this.timeout(120_000);
  let api: OcrApi;
  let store: Store;

  before(async () => {
    api = await activateOcr();
    store = await openStore(process.env.OCR_DATABASE_URL);
  });
  after(async () => store?.close());

  it('says a session is there and a run in its first lane ended once one has, whatever its lanes are called', async () => {
    const sessionId = await vscode.commands.executeCommand<string>('ocr.newSession', { title: 'Walkthrough keys', lanes: ['X', 'Y'] });
    await until('the walkthrough to see a session', () => api.walkthroughProgress().hasSession);
    const other = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'Y', intent: 'echo second lane' });
    await until('the run in lane Y to end', async () => (await store.getRun(other)).finished_at !== null);
    const first = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'X', intent: 'echo first lane' });
    await until('the run in lane X to end', async () => (await store.getRun(first)).status === 'succeeded');
    await until('the walkthrough to see the first lane\'s run end', () => api.walkthroughProgress().firstLaneRunEnded);
  });

  it('copies the worker command line with this workspace\'s repository and concurrency', async () => {
    await vscode.env.clipboard.writeText('');
    const line = await vscode.commands.executeCommand<string>('ocr.copyWorkerCommand');
    const repo = path.basename(vscode.workspace.workspaceFolders![0]!.uri.fsPath);
    assert.equal(line, `OCR_DATABASE_URL_FILE=~/.config/ocr/db-url bin/ocr worker --repo ~/src/${repo} --concurrency 4`);
    assert.equal(await vscode.env.clipboard.readText(), line);
  });

  it('opens the README at "Add a worker machine"', async () => {
    await vscode.commands.executeCommand('ocr.openWorkerGuide');
    const editor = await until('the README to be shown', () => (vscode.window.activeTextEditor?.document.uri.path.endsWith('/README.md') ? vscode.window.activeTextEditor : undefined));
    assert.equal(editor.document.lineAt(editor.selection.active.line).text, '## Add a worker machine');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
