/// <reference types="mocha" />
// A runbook run on the Runboard, in a real VS Code: its steps turn green one after the other as the extension's own
// worker runs them, picking a step shows only its lines, the run's artifacts open in the editor, the log is exported
// through the save dialog, and runs waiting at an approval gate are approved and rejected from their card (Reject asks
// why in the editor's input box). The runs are queued through the store, as `ocr runbook run` would; the last one
// comes from a lane's menu (Run Runbook…), which asks for a runbook of the workspace. The screenshot
// docs/runboard-runbook.png is taken here.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../harness/paths';
import { isFinal, type Run } from '../../../domain';
import { parseRunbook } from '../../../worker/runbooks/files';
import { queueRunbookRun } from '../../../worker/runs/queue-runbook-run';
import type { Store } from '../../../worker/store/store';
import { until } from '../until';
import { expectText } from './expect';
import { QuickInput } from './pages/quick-input';
import { Runboard } from './pages/runboard';
import type { Workbench } from './pages/workbench';
import { useTestDatabase } from './test-database';
import { extensionId, useVsCode } from './vscode-session';

const screenshot = path.join(repoRoot, 'docs', 'runboard-runbook.png');


/** Preferences: Color Theme, then the theme by its id ("Default Dark Modern"). */
async function selectTheme(workbench: Workbench, name: string): Promise<void> {
  const palette = workbench.commandPalette;
  await palette.open();
  await palette.input.fill('>Preferences: Color Theme');
  await palette.rows().filter({ has: workbench.page.locator('.label-name', { hasText: /^Preferences: Color Theme$/ }) }).first().click({ timeout: 15_000 });
  await workbench.page.locator('.quick-input-widget .quick-input-box input[placeholder^="Select Color Theme"]').waitFor({ timeout: 15_000 });
  await palette.input.fill(name);
  await palette.rows().and(workbench.page.locator(`[aria-label$=", ${name}"]`)).first().click({ timeout: 15_000 });
  await palette.widget.waitFor({ state: 'hidden', timeout: 15_000 });
}

/** Four steps, a second or so each: what a person watches go green. The last one leaves a file and a link. */
const ship = `name: ship-web
title: Ship the web app
steps:
  - id: install
    title: Install
    run: 'echo "install: 214 packages"; sleep 1; echo "install: done"'
  - id: build
    title: Build
    run: 'echo "build: compiling 42 modules"; sleep 1; echo "build: dist/web.js 182 kB"'
  - id: test
    title: Test
    run: 'echo "test: 12 passed"; echo "test: 1 test slower than 2 s" >&2; sleep 1'
  - id: publish
    title: Publish
    run: 'echo "coverage 91%" > "$OCR_ARTIFACTS_DIR/coverage.txt"; echo "::artifact link Release https://example.com/releases/1"'
`;

/** A step, then a gate a person decides, then a step. */
const gated = `name: deploy-staging
title: Deploy to staging
steps:
  - id: plan
    title: Plan
    run: 'echo "plan: 3 services to update"'
  - id: approve
    title: Release manager
    approval: { message: "Deploy web, api and worker to staging?" }
  - id: deploy
    title: Deploy
    run: 'echo "deploy: done"'
`;

/** A step that fails twice (its retry policy allows two tries), so the run fails and the step after it is skipped. */
const failing = `name: smoke-prod
title: Smoke test production
steps:
  - id: ping
    title: Ping
    run: 'echo "ping: 200 OK"'
  - id: checkout
    title: Checkout flow
    retry: { max_attempts: 2, backoff: fixed, initial_seconds: 0.5 }
    run: 'echo "checkout: POST /cart"; echo "checkout: expected 200, got 503" >&2; exit 1'
  - id: report
    title: Report
    run: 'echo never'
`;

/** One step, in the workspace's .ocr/runbooks: what the lane menu's Run Runbook… offers. */
const recheck = `name: recheck
title: Recheck production
steps:
  - id: ping
    title: Ping
    run: 'echo "ping: 200 OK"'
`;

describe('Runboard: a runbook run', function () {
  this.timeout(240_000);
  const db = useTestDatabase('ocr_ui_runbook');
  const vscode = useVsCode('runboard-runbook');
  let store: Store;
  before(async () => {
    store = await db().store();
  });

  let runboard: Runboard;
  let sessionId: string;
  const runs: Record<string, Run> = {};

  async function queue(text: string, lane: string): Promise<Run> {
    const name = /^name: (\S+)$/m.exec(text)![1]!;
    const file = parseRunbook(text, path.join(vscode().workspace, '.ocr', 'runbooks', `${name}.yaml`));
    if ('problems' in file) throw new Error(file.problems.map((p) => p.message).join('; '));
    return queueRunbookRun(store, file, { session_id: sessionId, lane }, () => {
      throw new Error('these runbooks have no secret inputs');
    });
  }

  it('opens the Runboard on a new session', async () => {
    const { page, workbench } = vscode();
    // a runbook of the workspace, for the lane menu's Run Runbook… at the end (the editor reads it in meanwhile)
    mkdirSync(path.join(vscode().workspace, '.ocr', 'runbooks'), { recursive: true });
    writeFileSync(path.join(vscode().workspace, '.ocr', 'runbooks', 'recheck.yaml'), recheck);
    await page.setViewportSize({ width: 1440, height: 900 });
    await workbench.commandPalette.run('View: Close Primary Side Bar');
    await workbench.commandPalette.run('OCR: Open Runboard');
    runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    await expectText(runboard.message(), 'No session yet', 60_000);
    await runboard.newSession('Release 4.2', 'Ship the checkout work to staging');
    await expectText(runboard.sessionTitle(), 'Release 4.2');
    sessionId = await until('the session in the database', async () => (await store.listSessions()).find((s) => s.title === 'Release 4.2')?.id);
  });

  it('shows the run\'s steps turning green one after the other', async () => {
    runs.ship = await queue(ship, 'A');
    const a = runboard.lane('A');
    const seen = new Set<string>();
    const final = await until(
      'every step of the run to succeed',
      async () => {
        const statuses = await a.stepStatuses();
        for (const s of statuses) seen.add(s);
        return statuses.length === 4 && statuses.every((s) => s.endsWith(':succeeded')) ? statuses : undefined;
      },
      120_000,
    );
    assert.deepEqual(final, ['install:succeeded', 'build:succeeded', 'test:succeeded', 'publish:succeeded']);
    // the page saw the steps move: some step running while later ones still waited
    assert.ok(['install', 'build', 'test'].some((id) => seen.has(`${id}:running`)), `steps seen: ${[...seen].join(' ')}`);
    await until('the run to succeed', async () => (await a.status()) === 'succeeded', 60_000);
    await expectText(a.card().locator('.run-steps-summary'), '4 of 4 succeeded');
  });

  it('shows only the lines of the step picked, and every line again', async () => {
    const a = runboard.lane('A');
    const lines = () => a.logTexts();
    await until('the whole log', async () => (await lines()).some((t) => t.startsWith('runbook ship-web succeeded')), 60_000);
    await a.pickStep('build');
    const build = await until('only the build step\'s lines', async () => {
      const shown = await lines();
      return shown.includes('build: compiling 42 modules') && !shown.some((t) => t.startsWith('install:') || t.startsWith('test:')) ? shown : undefined;
    });
    assert.ok(build.some((t) => t.startsWith('step build: succeeded')), `the worker's own line about the step is the step's: ${build.join(' | ')}`);
    await expectText(a.root.locator('.log-filter'), /Step\s+build/);
    assert.match(await a.logCounts(), /^Total \d+ Success 1 Warnings 0 Errors 0$/);
    await a.pickStep('build');
    await until('every line again', async () => {
      const shown = await lines();
      return shown.includes('install: done') && shown.includes('build: compiling 42 modules') && shown.includes('test: 12 passed');
    });
    assert.equal(await a.root.locator('.log-filter').count(), 0);
  });

  it('lists the run\'s artifacts and opens its manifest as JSON in the editor', async () => {
    const { page } = vscode();
    const a = runboard.lane('A');
    await until('the artifacts', async () => (await a.artifacts().count()) === 3, 60_000);
    const names = await a.artifacts().locator('.artifact-name').allInnerTexts();
    assert.deepEqual([...names].sort(), ['Release', 'coverage.txt', 'manifest.json']);
    await a.artifact('manifest.json').click();
    const tab = page.locator('.part.editor .tab', { hasText: 'manifest.json' });
    await tab.waitFor({ timeout: 30_000 });
    await page.locator('.part.editor .monaco-editor .view-lines', { hasText: '"ship-web"' }).first().waitFor({ timeout: 30_000 });
    await expectText(page.locator('.part.statusbar'), 'JSON');
    await tab.locator('.codicon-close').click();
  });

  it('exports the step\'s lines through the save dialog', async () => {
    const { page } = vscode();
    const a = runboard.lane('A');
    const file = path.join(vscode().workspace, `A-${runs.ship!.id.replace(/-/g, '').slice(0, 8)}-test.log`);
    await a.pickStep('test');
    await until('only the test step\'s lines', async () => {
      const shown = await a.logTexts();
      return shown.includes('test: 1 test slower than 2 s') && !shown.includes('build: compiling 42 modules');
    });
    await a.exportLog('text');
    // the editor's own save dialog (here its simple one, a path to confirm), with the file name filled in
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ timeout: 30_000 });
    const offered = await until('the dialog to offer the file', async () => {
      const value = await input.inputValue();
      return value.endsWith(path.basename(file)) ? value : undefined;
    }, 15_000);
    assert.equal(offered, file);
    await input.press('Enter');
    await expectText(a.root.locator('.log-note'), /Exported \d+ lines to A-[0-9a-f]{8}-test\.log\./);
    assert.ok(existsSync(file), `${file} was written`);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /── step test only\n/);
    assert.match(text, /test: 1 test slower than 2 s/);
    assert.doesNotMatch(text, /build: compiling/);
  });

  it('shows a step that failed after its tries, and the steps it left skipped', async () => {
    runs.failing = await queue(failing, 'D');
    const d = runboard.lane('D');
    await until('the run to fail', async () => (await d.status()) === 'failed', 120_000);
    await until('its steps as they ended', async () => (await d.stepStatuses()).join(' ') === 'ping:succeeded checkout:failed report:skipped', 30_000);
    await expectText(d.step('checkout').locator('.run-step-tries'), '2 tries');
    await expectText(d.card().locator('.run-error'), 'step checkout exited 1');
    await until('its errors counted', async () => /Warnings [1-9]\d* Errors [1-9]/.test(await d.logCounts()), 30_000);
  });

  it('approves one waiting run and rejects another, asking why', async () => {
    const { page, workbench } = vscode();
    runs.approved = await queue(gated, 'B');
    runs.rejected = await queue(gated, 'C');
    const b = runboard.lane('B');
    const c = runboard.lane('C');
    for (const lane of [b, c]) {
      await until('the run to wait at its gate', async () => (await lane.status()) === 'waiting', 120_000);
      await expectText(lane.gate(), 'Waiting for approval at step approve: Deploy web, api and worker to staging?');
      await until('its gate step waiting', async () => (await lane.stepStatuses()).join(' ') === 'plan:succeeded approve:waiting deploy:queued');
    }
    // the picture for the README, in the dark theme: a run done with a step picked, two at their gates, one failed
    mkdirSync(path.dirname(screenshot), { recursive: true });
    await workbench.notifications.dismissAll();
    if ((await page.locator('.monaco-workbench.vs-dark').count()) === 0) await selectTheme(vscode().workbench, 'Default Dark Modern');
    await page.locator('.monaco-workbench.vs-dark').waitFor({ timeout: 30_000 });
    await until('the Runboard in the dark theme', async () => ((await runboard.body.getAttribute('class')) ?? '').split(/\s+/).includes('vscode-dark'), 30_000);
    await page.waitForTimeout(500);
    await page.locator('.part.editor').screenshot({ path: screenshot });
    console.log(`      screenshot: ${path.relative(process.cwd(), screenshot)}`);

    await b.approveButton().click();
    await until('the approved run to finish', async () => (await b.status()) === 'succeeded', 120_000);
    assert.deepEqual(await b.stepStatuses(), ['plan:succeeded', 'approve:succeeded', 'deploy:succeeded']);
    assert.equal((await store.getRun(runs.approved.id)).approval?.decision, 'approved');

    await c.rejectButton().click();
    const reason = page.locator('.quick-input-widget .quick-input-box input');
    await reason.waitFor({ timeout: 30_000 });
    await reason.fill('not during the freeze');
    await reason.press('Enter');
    await until('the rejected run to end', async () => (await c.status()) === 'canceled', 60_000);
    await expectText(c.card().locator('.run-error'), 'rejected: not during the freeze');
    assert.deepEqual(await c.stepStatuses(), ['plan:succeeded', 'approve:canceled', 'deploy:skipped']);
    assert.ok(isFinal((await store.getRun(runs.rejected.id)).status));
  });

  it('runs a runbook of the workspace from a lane\'s menu: the editor asks which one, and it runs in that lane', async () => {
    const { page } = vscode();
    const d = runboard.lane('D');
    await d.menu('Run Runbook…');
    const quick = new QuickInput(page);
    await quick.waitFor('Which runbook?');
    await quick.pick('Recheck production');
    // no inputs, the lane is the one whose menu it came from, no prod: nothing more to ask
    await until('the runbook run in lane D', async () => (await d.card().innerText({ timeout: 1_000 })).includes('Recheck production'), 60_000);
    await until('its step to succeed', async () => (await d.stepStatuses()).join(' ') === 'ping:succeeded', 120_000);
    assert.equal(await d.status(), 'succeeded');
    const [run] = await store.listRuns({ sessionId, lane: 'D', limit: 1 });
    assert.equal(run?.executor, 'runbook');
    assert.equal(run?.spec.name, 'recheck');
  });
});
