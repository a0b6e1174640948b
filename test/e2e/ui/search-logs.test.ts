/// <reference types="mocha" />
// Search Run Logs… in a real VS Code: two runs (shell commands run by a worker of the test's own, on a repository the
// editor's worker does not have) print 150 lines each, one of them a line about a kumquat. OCR: Search Run Logs… asks
// for the text, lists that one line with its session, lane and run, and picking it opens that run's log scrolled to
// the line, the word selected.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFinal, type Run, shortId } from '../../../domain';
import { describeRepo } from '../../../worker/engine/repo';
import { Worker } from '../../../worker/engine/worker';
import { makeRepo } from '../../../worker/engine/git.test-support';
import { until } from '../until';
import { expectText } from './expect';
import { QuickInput } from './pages/quick-input';
import { useTestDatabase } from './test-database';
import { useVsCode } from './vscode-session';

/** 150 numbered lines of a lane, one of them (the 103rd) `special`. */
const script = (lane: string, special?: string) =>
  `for i in $(seq 1 150); do if [ "$i" = 103 ] && [ -n "${special ?? ''}" ]; then echo "${special ?? ''}"; else echo "lane ${lane} line $i of the build"; fi; done`;

describe('Search Run Logs', function () {
  this.timeout(240_000);
  const db = useTestDatabase('ocr_ui_search_logs');
  const vscode = useVsCode('search-logs', { settings: { 'ocr.worker.autoStart': false } });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-ui-search-logs-'));
  let worker: Worker | undefined;
  const runs: Record<string, Run> = {};

  before(async () => {
    const repo = path.join(dir, 'repo');
    mkdirSync(repo);
    makeRepo(repo, { 'README.md': '# app\n' });
    const info = await describeRepo(repo);
    const store = await db().store();
    const session = await store.createSession({ title: 'Fruit stand', lanes: ['A', 'B'], repo_id: info.repoId, repo_path: info.repoPath, base_ref: info.baseRef });
    runs.a = await store.createRun({ session_id: session.id, lane: 'A', intent: script('A') });
    // the word is put together as the run goes, so that the command itself (which the log shows too) does not hold it
    runs.b = await store.createRun({ session_id: session.id, lane: 'B', intent: script('B', "lane B: the \x1b[1m$(printf 'kum%s' quat)\x1b[0m crate is ripe") });
    worker = new Worker(store, { worktreeRoot: path.join(dir, 'worktrees'), repos: [repo], sessions: [session.id], pollMs: 500, recoverMs: 500 });
    await worker.start();
    for (const run of Object.values(runs)) {
      const ended = await until(`run ${run.lane} to end`, async () => {
        const now = await store.getRun(run.id);
        return isFinal(now.status) ? now : undefined;
      }, 90_000);
      assert.equal(ended.status, 'succeeded');
    }
  });

  after(async () => {
    await worker?.stop({ graceMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the line, and picking it opens its run\'s log at that line with the word selected', async () => {
    const { page, workbench } = vscode();
    await workbench.commandPalette.run('OCR: Search Run Logs…');
    const quick = new QuickInput(page);
    await quick.waitFor('Search Run Logs');
    await quick.submit('KUMQUAT');
    await quick.waitFor(/Search Run Logs: "KUMQUAT" — 1 line, newest first/);
    const row = quick.rows().first();
    await expectText(row, /lane B: the kumquat crate is ripe/);
    const store = await db().store();
    const seq = (await store.listEvents(runs.b!.id)).find((e) => e.text.includes('kumquat'))!.seq;
    await expectText(row, `Fruit stand · lane B · run ${shortId(runs.b!.id)} (succeeded) · line ${seq}`);
    // the lines around it
    await expectText(row, /lane B line 101 of the build {2}⏎ {2}lane B line 102 of the build {2}⏎ {2}▸ {2}⏎ {2}lane B line 104 of the build/);
    await row.click();

    // the run's log, scrolled to the line, the word in it selected
    await workbench.editorTab(`B-${shortId(runs.b!.id)}.log`).waitFor({ timeout: 30_000 });
    const editor = page.locator('.part.editor .editor-instance .monaco-editor').first();
    await expectText(editor.locator('.view-lines'), /lane\sB:\sthe\skumquat\scrate\sis\sripe/);
    await page.locator('.part.editor .monaco-editor .selected-text').first().waitFor({ timeout: 10_000 });
    // the status bar says where the cursor is: at the end of the word, 7 characters selected
    await expectText(workbench.statusBar.item('status.editor.selection'), /Ln \d+, Col 20 \(7 selected\)/);
    // scrolled there: the log's first lines are out of sight
    assert.equal(await editor.locator('.view-lines', { hasText: /lane\sB\sline\s2\sof\sthe\sbuild/ }).count(), 0);
    assert.ok(!(await editor.locator('.view-lines').innerText()).includes('lane A'), 'lane A\'s log is not the one shown');
  });
});
