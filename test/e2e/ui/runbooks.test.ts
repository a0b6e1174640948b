/// <reference types="mocha" />
// Runbooks as a person uses them in a real VS Code: a runbook file added to the workspace shows in the Runbooks view;
// run from the view's inline action, the editor asks for its input (refusing empty for a required one), its lane and,
// as it acts on prod, a confirmation; the run waits at its approval gate and the notification's Approve resumes it. Run
// again from the palette, the notification's Reject asks the reason and the run ends canceled with it. The extension's
// own worker runs the steps against a fresh database on the test PostgreSQL.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Run, Session } from '../../../domain';
import { describeRepo } from '../../../worker/engine/repo';
import { until } from '../until';
import { expectText } from './expect';
import { Dialog } from './pages/dialog';
import { QuickInput } from './pages/quick-input';
import { useTestDatabase } from './test-database';
import { useVsCode } from './vscode-session';

const release = `name: release
title: Release
kind: deploy
env: prod
lane: A
inputs:
  - key: version
    required: true
steps:
  - id: build
    run: 'echo "building $OCR_INPUT_VERSION"'
  - id: approve
    approval:
      message: "Ship {{ inputs.version }} to prod?"
  - id: ship
    run: 'echo "shipped $OCR_INPUT_VERSION"'
`;


describe('Runbooks', function () {
  this.timeout(240_000);
  let session: Session;
  const db = useTestDatabase('ocr_ui_runbooks');
  const vscode = useVsCode('runbooks');

  /** The newest run of the session once it is `status`. */
  const newestRun = (status: Run['status']) =>
    until(`the newest run to be ${status}`, async () => {
      const [run] = await (await db().store()).listRuns({ sessionId: session.id, limit: 1 });
      return run?.status === status ? run : undefined;
    });

  it('shows a runbook file added to the workspace in the Runbooks view', async () => {
    const { workbench, workspace } = vscode();
    await workbench.activityBar.open('Ops Control Room');
    const view = workbench.sideBar.view('Runbooks');
    await expectText(view.welcome(), 'No runbooks in this workspace', 60_000);
    await view.button('Add Example Runbooks').waitFor({ timeout: 10_000 });
    mkdirSync(path.join(workspace, '.ocr', 'runbooks'), { recursive: true });
    writeFileSync(path.join(workspace, '.ocr', 'runbooks', 'release.yaml'), release);
    await expectText(view.rows().first(), /Release\s*deploy · prod/, 60_000);
  });

  it('runs it from the view: asks for its input, its lane and a confirmation for prod; the notification\'s Approve resumes it', async () => {
    const { page, workbench, workspace } = vscode();
    const store = await db().store();
    const repo = await describeRepo(workspace);
    session = await store.createSession({ title: 'Release train', repo_id: repo.repoId, repo_path: repo.repoPath, base_ref: repo.baseRef, lanes: ['A', 'B'] });
    await expectText(workbench.sideBar.view('Sessions').root, 'Release train', 60_000);

    const row = workbench.sideBar.view('Runbooks').rows().filter({ hasText: 'Release' }).first();
    await row.hover();
    await row.locator('.action-label[aria-label^="Run Runbook"]').click({ timeout: 15_000 });
    const quick = new QuickInput(page);
    await quick.waitFor('Run "Release" (1/1): version');
    await quick.submit('');
    await expectText(quick.message(), 'version is required');
    await quick.submit('2.0.0');
    await quick.waitFor('In which lane of "Release train"?');
    await expectText(quick.rows().first(), /Lane A.*the runbook's lane/);
    await page.keyboard.press('Enter');

    const dialog = new Dialog(page);
    await expectText(dialog.message(), 'Run "Release" in prod?');
    await expectText(dialog.detail(), /lane A of "Release train"\.[\s\S]*version=2\.0\.0/);
    await dialog.choose('Run in Prod');

    const asked = await workbench.notifications.waitFor(/waits for approval: Ship 2\.0\.0 to prod\?/, 120_000);
    assert.match(asked, /^Run [0-9a-f]{8} \(runbook release\) in lane A waits for approval/);
    const waiting = await newestRun('waiting');
    assert.equal(waiting.approval?.step_id, 'approve');
    await workbench.notifications.button(/Ship 2\.0\.0 to prod/, 'Approve').click({ timeout: 15_000 });
    const done = await newestRun('succeeded');
    assert.equal(done.id, waiting.id);
    assert.equal(done.approval?.decision, 'approved');
    assert.deepEqual((await store.listSteps(done.id)).map((s) => s.status), ['succeeded', 'succeeded', 'succeeded']);
    await workbench.notifications.dismissAll();
  });

  it('runs it again from the palette; the notification\'s Reject asks why, and the run ends canceled with the reason', async () => {
    const { page, workbench } = vscode();
    // the palette stays open: the command's own quick pick takes its place
    const palette = workbench.commandPalette;
    await palette.open();
    await palette.input.fill('>OCR: Run Runbook');
    await palette.rows().filter({ has: page.locator('.label-name', { hasText: /^OCR: Run Runbook…$/ }) }).first().click({ timeout: 30_000 });
    const quick = new QuickInput(page);
    await quick.waitFor('Which runbook?');
    await quick.pick('Release');
    await quick.waitFor('Run "Release" (1/1): version');
    await quick.submit('2.0.1');
    await quick.waitFor('In which lane of "Release train"?');
    await page.keyboard.press('Enter');
    await new Dialog(page).choose('Run in Prod');

    await workbench.notifications.waitFor(/waits for approval: Ship 2\.0\.1 to prod\?/, 120_000);
    const waiting = await newestRun('waiting');
    await workbench.notifications.button(/Ship 2\.0\.1 to prod/, 'Reject').click({ timeout: 15_000 });
    await quick.waitFor(/Reject run [0-9a-f]{8} in lane A/);
    await quick.submit('not during the freeze');
    const done = await newestRun('canceled');
    assert.equal(done.id, waiting.id);
    assert.equal(done.error, 'rejected: not during the freeze');
    assert.deepEqual((await (await db().store()).listSteps(done.id)).map((s) => [s.step_id, s.status]), [['build', 'succeeded'], ['approve', 'canceled'], ['ship', 'skipped']]);
  });
});
