/// <reference types="mocha" />
// The Runboard's host on what only the editor has: the extension's own deps (its sessions model, its active session, its
// commands), so the palette's active session switches the board, a switch on the board makes a session the editor's
// active one, and the board opens VS Code's diff editor and the run's log document. A stand-in for the page checks every
// message as the page does (parseHostMessage). The protocol itself is tested without VS Code in
// extension/runboard/runboard-host.test.ts; what the page makes of it is the UI tests' part.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { OcrApi } from '../../../extension/extension';
import { activateOcr } from './ocr-extension';
import { RecordingPage as Page } from '../../../extension/runboard/recording-page.test-support';
import { RunboardHost, type RunboardDeps } from '../../../extension/runboard/runboard-host';
import { laneDiffTitle } from '../../../extension/diff/lane-diff';
import { runLogScheme } from '../../../extension/runs/run-log';
import { protocolVersion, type ResponseMessage } from '../../../webview/protocol';
import { laneFixture, until, type LaneFixture } from './lane-fixture';



function allTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((group) => group.tabs);
}

describe('the Runboard host in the editor', function () {
  this.timeout(180_000);
  let api: OcrApi;
  let deps: RunboardDeps;
  const opened: Array<{ host: RunboardHost; page: Page }> = [];
  let nextId = 1;

  function open(openedFor?: string): { host: RunboardHost; page: Page } {
    const page = new Page();
    const host = new RunboardHost(deps, page, openedFor);
    opened.push({ host, page });
    host.receive({ kind: 'notify', method: 'ready', params: { protocol: protocolVersion, session_id: null } });
    return { host, page };
  }

  async function request(host: RunboardHost, page: Page, method: string, params: unknown): Promise<ResponseMessage> {
    const id = nextId++;
    host.receive({ kind: 'request', id, method, params });
    return until(`the answer to ${method}`, () => page.response(id), 60_000);
  }

  const shows = (page: Page, sessionId: string) => until(`the board to show ${sessionId}`, () => page.snapshots.at(-1)?.session?.id === sessionId, 60_000);
  const newSession = async (title: string) => (await vscode.commands.executeCommand<string>('ocr.newSession', { title, intent: '' }))!;

  before(async () => {
    api = await activateOcr();
    deps = api.runboardDeps();
  });

  afterEach(() => {
    for (const { host, page } of opened.splice(0)) {
      host.dispose();
      assert.deepEqual(page.refused, [], 'every message the host posted is one the page reads');
    }
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('switches to the session made active from the palette or the tree, and stays when it is the one shown', async () => {
    const first = await newSession('Runboard first');
    const { page } = open(first);
    await shows(page, first);
    const second = await newSession('Runboard second');
    await shows(page, second);
    await vscode.commands.executeCommand('ocr.setActiveSession', { sessionId: first });
    await shows(page, first);
    const snapshots = page.snapshots.length;
    await vscode.commands.executeCommand('ocr.setActiveSession', { sessionId: first });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(page.snapshots.length, snapshots, 'the session it shows is shown already');
  });

  it('makes the session picked on the board the editor\'s active one; a session created there is on the workspace\'s repository', async () => {
    const one = await newSession('Runboard picked');
    const two = await newSession('Runboard other');
    const { host, page } = open(two);
    await shows(page, two);
    const answer = await request(host, page, 'selectSession', { session_id: one });
    assert.ok(answer.ok, JSON.stringify(answer));
    await shows(page, one);
    assert.equal(api.activeSessionId(), one);

    const created = await request(host, page, 'createSession', { title: 'Runboard created', intent: 'from the board' });
    assert.ok(created.ok, JSON.stringify(created));
    const id = (created.result as { session_id: string }).session_id;
    await shows(page, id);
    assert.equal(api.activeSessionId(), id);
    const session = page.snapshots.at(-1)!.session!;
    assert.equal(session.title, 'Runboard created');
    assert.equal(session.repo_path, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  });

  describe('with a finished run', () => {
    let lane: LaneFixture;
    let runId: string;

    before(async function () {
      this.timeout(240_000);
      lane = await laneFixture('Runboard diff', { 'notes.md': 'one\n' });
      const run = await lane.finished((await lane.run('A', "printf 'two\\n' >> notes.md && echo edited")).id);
      assert.equal(run.status, 'succeeded', run.error ?? '');
      runId = run.id;
    });

    after(async () => {
      await lane?.dispose();
    });

    it('opens the run\'s changes in VS Code\'s diff editor from the board', async () => {
      const { host, page } = open(lane.session.id);
      await shows(page, lane.session.id);
      assert.ok(page.snapshots.at(-1)!.diffs.some((d) => d.run_id === runId && d.files === 1));
      const answer = await request(host, page, 'openDiff', { run_id: runId });
      assert.ok(answer.ok, JSON.stringify(answer));
      const title = laneDiffTitle({ id: runId, lane: 'A' });
      await until('the diff tab', () => allTabs().find((t) => t.label.includes(title)), 30_000);
    });

    it('opens the run\'s log as a document from the board', async () => {
      const { host, page } = open(lane.session.id);
      await shows(page, lane.session.id);
      const answer = await request(host, page, 'openLog', { run_id: runId });
      assert.ok(answer.ok, JSON.stringify(answer));
      const editor = await until('the log document', () => (vscode.window.activeTextEditor?.document.uri.scheme === runLogScheme ? vscode.window.activeTextEditor : undefined), 30_000);
      await until('its last line', () => editor.document.getText().includes('edited'), 30_000);
    });
  });
});
