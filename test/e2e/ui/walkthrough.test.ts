/// <reference types="mocha" />
// The first-run walkthrough as a new user meets it in a real VS Code: it opens on the extension's first activation,
// each step is ticked when the person does what it asks (from the step's own buttons), and after a window reload it
// does not open again. The profile is fresh and opts in to opening it (the harness keeps it closed for other tests);
// the extension's own worker runs the lane against a fresh database on the test PostgreSQL.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../harness/paths';
import { until } from '../until';
import { expectText } from './expect';
import { QuickInput } from './pages/quick-input';
import { Walkthrough } from './pages/walkthrough';
import { useTestDatabase } from './test-database';
import { extensionId, useVsCode } from './vscode-session';

const walkthroughId = `${extensionId}#ocr.firstRun`;
const statusItem = 'ops-control-room.ops-control-room.ocr.status';

describe('the first-run walkthrough', () => {
  useTestDatabase('walkthrough');
  const vscode = useVsCode('walkthrough', { settings: { 'ocr.walkthrough.openOnFirstRun': true } });
  const walkthrough = () => new Walkthrough(vscode().page, walkthroughId);

  it('opens on the first activation, nothing done yet', async () => {
    const { workbench, extensionHostLog } = vscode();
    assert.equal(await walkthrough().root.count(), 0, 'no walkthrough before the extension activates');
    await workbench.activityBar.open('Ops Control Room');
    await expectText(walkthrough().title(), 'Get Started with OCR', 60_000);
    await until('the extension to say it opened the walkthrough', () => extensionHostLog.some((l) => l.includes('walkthrough: opened on the first activation')), 30_000);
    for (const step of ['database', 'session', 'run', 'runboard', 'agent', 'worker']) {
      assert.equal(await walkthrough().step(step).isDone(), false, `step ${step} is not done yet`);
    }
  });

  it('ticks "Start a session" once a session is made from its New Session button', async () => {
    const { page } = vscode();
    const step = walkthrough().step('session');
    await step.open('A session');
    const input = new QuickInput(page);
    await step.press('New Session', () => input.waitFor('New Session (1/2)', 5_000).then(() => true, () => false));
    await input.submit('First steps');
    await input.waitFor('New Session (2/2)');
    await input.submit('try Ops Control Room');
    await step.waitUntilDone();
    assert.equal(await walkthrough().step('run').isDone(), false);
  });

  it('ticks "Run a command in lane A" when the run started from its button has ended', async () => {
    const { page, workbench } = vscode();
    const step = walkthrough().step('run');
    await step.open('A run in lane A');
    const input = new QuickInput(page);
    await step.press('Run in Lane', () => input.waitFor('Run in which lane of "First steps"?', 5_000).then(() => true, () => false));
    await input.pick('Lane A');
    await input.waitFor('Run in lane A of "First steps"');
    await input.submit('echo hello from lane A');
    // "Run it with…" is asked only when an agent CLI is on this machine's PATH: then Shell
    await until('the run in lane A to end and its step to be ticked', async () => {
      if ((await input.widget.isVisible()) && (await input.input.getAttribute('placeholder', { timeout: 1_000 }).catch(() => null)) === 'Run it with…') {
        await input.rows().filter({ hasText: 'Shell' }).first().click({ timeout: 5_000 });
      }
      return step.isDone();
    }, 90_000);
    // the worker in this editor ran it
    await expectText(workbench.statusBar.item(statusItem), /OCR 0\/4/, 30_000);
  });

  it('ticks "Open the Runboard" when its Open Runboard button opens the Runboard', async () => {
    const { workbench } = vscode();
    const step = walkthrough().step('runboard');
    await step.open('The Runboard');
    await step.button('Open Runboard').click();
    await workbench.editorTab('Runboard').waitFor({ timeout: 30_000 });
    await walkthrough().tab().click();
    await step.waitUntilDone();
  });

  it('ticks "Add a worker machine" when the worker command line is copied, and saves docs/walkthrough.png', async () => {
    const { workbench } = vscode();
    const step = walkthrough().step('worker');
    await step.open('Another worker machine');
    await step.button('Copy the Worker Command Line').click();
    // the sample workspace's folder is `w`; the test database is a shared PostgreSQL, so nothing more is asked first
    const said = await workbench.notifications.waitFor(/^Copied: /, 30_000);
    assert.match(said, /OCR_DATABASE_URL_FILE=~\/\.config\/ocr\/db-url bin\/ocr worker --repo ~\/src\/w --concurrency 4/);
    await step.waitUntilDone();
    await workbench.notifications.dismissAll();
    for (const done of ['session', 'run', 'runboard', 'worker']) assert.equal(await walkthrough().step(done).isDone(), true, `step ${done} is done`);
    for (const open of ['database', 'agent']) assert.equal(await walkthrough().step(open).isDone(), false, `step ${open} is not done`);
    const docs = path.join(repoRoot, 'docs');
    mkdirSync(docs, { recursive: true });
    // the whole window: the step's media is a webview laid over the editor, which an element's screenshot leaves out
    await step.media().getByText('Another worker machine').waitFor({ timeout: 30_000 });
    await workbench.page.screenshot({ path: path.join(docs, 'walkthrough.png') });
  });

  it('does not open again after the window reloads', async () => {
    const { workbench, page, extensionHostLog } = vscode();
    await workbench.commandPalette.run('View: Close All Editors');
    await walkthrough().root.waitFor({ state: 'detached', timeout: 15_000 });
    const seen = extensionHostLog.length;
    await workbench.commandPalette.run('Developer: Reload Window');
    await until('the extension to activate again and decide', () => extensionHostLog.slice(seen).some((l) => l.includes('walkthrough: not opened, the first activation on this machine is past')), 120_000);
    await workbench.ready();
    await workbench.activityBar.open('Ops Control Room');
    await expectText(workbench.statusBar.item(statusItem), /OCR 0\/4/, 90_000);
    assert.equal(await page.locator('.part.editor .gettingStartedContainer').count(), 0, 'the walkthrough stays closed');
    assert.ok(!extensionHostLog.slice(seen).some((l) => l.includes('walkthrough: opened')));
  });
});
