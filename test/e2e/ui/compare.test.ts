/// <reference types="mocha" />
// Compare attempts and the conflict radar in a real VS Code. One intent tried three ways (the fake claude and codex
// CLIs and a shell command, each checked by a verify command) by a worker of the test's own; the Runboard's Compare
// view shows them side by side (the screenshot in docs/), and Pick lands lane B on the user's branch and archives the
// other lanes' branches, checked in git. Then two lanes edit the same line and the Runboard warns of the conflict.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFinal, type Session } from '../../../domain';
import { makeRepo } from '../../../worker/engine/git.test-support';
import { describeRepo } from '../../../worker/engine/repo';
import { Worker } from '../../../worker/engine/worker';
import { sessionShortId } from '../../../worker/engine/worktree';
import { queueComparison } from '../../../worker/lanes/compare';
import { repoRoot } from '../harness/paths';
import { until } from '../until';
import { expectText } from './expect';
import { Dialog } from './pages/dialog';
import { QuickInput } from './pages/quick-input';
import { Runboard } from './pages/runboard';
import { useTestDatabase } from './test-database';
import { extensionId, useVsCode } from './vscode-session';

const fakes = path.join(repoRoot, 'worker', 'agents', 'fixtures', 'fake-cli');
const docsDir = path.join(repoRoot, 'docs');
const verify = `if grep -q 'edited by fake' notes.md; then echo 'Tests:       2 passed, 2 total'; else echo 'Tests:       1 failed, 1 passed, 2 total'; exit 1; fi`;
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();

describe('Compare attempts', function () {
  this.timeout(300_000);
  const db = useTestDatabase('ocr_ui_compare');
  const vscode = useVsCode('compare', { settings: { 'ocr.worker.autoStart': false } });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-ui-compare-'));
  const repo = path.join(dir, 'repo');
  let worker: Worker | undefined;
  let session: Session;
  let runboard: Runboard;

  before(async () => {
    mkdirSync(repo);
    makeRepo(repo, { 'README.md': '# app\n', 'notes.md': 'first line\n', 'app.txt': 'one\ntwo\nthree\n' });
    const info = await describeRepo(repo);
    const store = await db().store();
    session = await store.createSession({ title: 'Fix the notes', lanes: ['A', 'B', 'C', 'D'], repo_id: info.repoId, repo_path: info.repoPath, base_ref: info.baseRef });
    process.env.FAKE_AGENT_STATE = path.join(dir, 'agent-state');
    worker = new Worker(store, {
      worktreeRoot: path.join(dir, 'worktrees'),
      repos: [repo],
      sessions: [session.id],
      agents: { claude: { cli: 'claude', program: path.join(fakes, 'claude') }, codex: { cli: 'codex', program: path.join(fakes, 'codex') } },
      passEnv: ['FAKE_AGENT_STATE'],
      concurrency: 4,
      pollMs: 300,
      recoverMs: 500,
    });
    await worker.start();
  });

  after(async () => {
    await worker?.stop({ graceMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows three attempts side by side, and Pick lands lane B on main and archives the others', async () => {
    const { page, workbench } = vscode();
    const store = await db().store();
    await page.setViewportSize({ width: 1440, height: 900 });
    const queued = await queueComparison(store, {
      session_id: session.id,
      intent: 'edit notes.md',
      attempts: [
        { lane: 'A', run_with: { executor: 'agent', profile: 'claude' } },
        { lane: 'B', run_with: { executor: 'agent', profile: 'codex' } },
        { lane: 'C', run_with: { executor: 'shell' }, intent: "printf 'one\\ntwo\\n' > shell.txt" },
      ],
      verify,
    });
    await until('the comparison to end', async () => (await store.listRuns({ groupId: queued.groupId })).every((r) => isFinal(r.status)), 120_000);

    await workbench.commandPalette.run('View: Close Primary Side Bar');
    await workbench.commandPalette.run('OCR: Open Runboard');
    await workbench.editorTab('Runboard').waitFor({ timeout: 30_000 });
    runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    await expectText(runboard.sessionTitle(), 'Fix the notes', 60_000);
    await runboard.webview.locator('vscode-button').filter({ hasText: 'Compare view' }).click();

    const rows = runboard.webview.locator('.compare-table tbody tr');
    await until('the Compare table to show three attempts', async () => (await rows.count()) === 3, 30_000);
    const cells = async (lane: string) => (await runboard.webview.locator(`.compare-table .attempt[data-lane="${lane}"]`).locator('th, td').allInnerTexts()).map((t) => t.trim());
    const [a, b, c] = [await cells('A'), await cells('B'), await cells('C')];
    assert.deepEqual([a.slice(0, 3), a[5], a[6]], [['A', 'claude', 'succeeded'], '1 file changed, +1 -0', '2 passed']);
    assert.deepEqual([b.slice(0, 3), b[5], b[6]], [['B', 'codex', 'succeeded'], '1 file changed, +1 -0', '2 passed']);
    assert.deepEqual([c.slice(0, 3), c[5], c[6]], [['C', 'shell', 'succeeded'], '1 file changed, +2 -0', '1 passed, 1 failed']);
    assert.match(a[8]!, /^\$[\d.]+$/, 'the agent reported its cost');
    mkdirSync(docsDir, { recursive: true });
    await page.locator('.part.editor').screenshot({ path: path.join(docsDir, 'compare.png') });

    // Pick lane B: how (squash), the message (the intent, as proposed), then the question that names the branch
    await runboard.webview.locator('vscode-button[aria-label="Pick lane B"]').click();
    const input = new QuickInput(page);
    await input.waitFor('Land the lane how?');
    await input.submit('Squash');
    await input.waitFor('Land lane B: the commit message');
    await page.keyboard.press('Enter');
    const dialog = new Dialog(page);
    await expectText(dialog.message(), 'Land lane B on your branch main?', 30_000);
    await expectText(dialog.detail(), /lanes \(A, C\) are archived/);
    await dialog.choose('Land on main');

    const short = sessionShortId(session.id);
    await expectText(runboard.webview.locator('.compare-picked'), `Picked lane B: landed on main (squash). Archived lane A as ocr/archive/${short}/A, lane C as ocr/archive/${short}/C.`, 60_000);
    assert.equal(await runboard.webview.locator('.attempt[data-lane="B"]').getAttribute('data-picked'), 'true');
    // in git: one commit on main with the intent, lane B's edit in the user's tree; the others' work kept under ocr/archive/
    assert.equal(git(repo, 'log', '-1', '--format=%s', 'main'), 'edit notes.md');
    assert.equal(readFileSync(path.join(repo, 'notes.md'), 'utf8'), 'first line\nedited by fake codex\n');
    assert.equal(git(repo, 'status', '--porcelain'), '');
    assert.deepEqual(git(repo, 'branch', '--list', `ocr/archive/${short}/*`, '--format=%(refname:short)').split('\n'), [`ocr/archive/${short}/A`, `ocr/archive/${short}/C`]);
    assert.equal(git(repo, 'show', `ocr/archive/${short}/C:shell.txt`), 'one\ntwo');
  });

  it('warns on the Runboard when two lanes edit the same line', async () => {
    const store = await db().store();
    await runboard.webview.locator('.compare-bar vscode-button').filter({ hasText: 'Lanes' }).click();
    await runboard.lanes().first().waitFor({ timeout: 15_000 });
    for (const lane of ['C', 'D']) await store.createRun({ session_id: session.id, lane, intent: `sed -i 's/two/two from ${lane}/' app.txt` });
    const banner = runboard.webview.locator('.session-conflicts');
    await expectText(banner, /lanes C and D conflict in 1 file: app\.txt/, 90_000);
    await runboard.lane('C').root.locator('.lane-conflict[aria-label="Lane C conflicts with lane D"]').waitFor({ timeout: 15_000 });
    assert.equal(await runboard.lane('A').root.locator('.lane-conflict').count(), 0);
  });
});
