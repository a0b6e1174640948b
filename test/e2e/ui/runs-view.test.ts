/// <reference types="mocha" />
// The Runs view in a real VS Code: the newest runs of two sessions in one list (docs/runs-view.png is taken here),
// Filter by Status… from the view's title bar narrows it to the failed and canceled ones and the view's description
// says so, and OCR: Export Runs… writes those runs as JSON through the editor's save dialog. The runs are queued and
// ended through the store by a worker of the test's own (their sessions work on a repository the editor's worker does
// not have, so it leaves them alone).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Run, Session } from '../../../domain';
import { repoRoot } from '../harness/paths';
import { until } from '../until';
import { expectText } from './expect';
import { QuickInput } from './pages/quick-input';
import { RunsView } from './pages/runs-view';
import { useTestDatabase } from './test-database';
import { useVsCode } from './vscode-session';

const screenshot = path.join(repoRoot, 'docs', 'runs-view.png');
const newestFirst = ['echo still queued', 'psql -f migrate.sql', 'npm test', 'npm run build'];

describe('Runs view', function () {
  this.timeout(240_000);
  const db = useTestDatabase('ocr_ui_runs_view');
  const vscode = useVsCode('runs-view');
  let web: Session;
  let api: Session;
  const runs: Record<string, Run> = {};
  let view: RunsView;

  before(async () => {
    const store = await db().store();
    web = await store.createSession({ title: 'Web app', intent: 'ship the new checkout', lanes: ['A', 'B'], repo_id: 'elsewhere' });
    api = await store.createSession({ title: 'API', intent: 'migrate the orders table', lanes: ['A', 'B'], repo_id: 'elsewhere' });
    runs.build = await store.createRun({ session_id: web.id, lane: 'A', intent: 'npm run build' });
    runs.test = await store.createRun({ session_id: web.id, lane: 'B', intent: 'npm test' });
    runs.migrate = await store.createRun({ session_id: api.id, lane: 'A', intent: 'psql -f migrate.sql' });
    const worker = 'ui-runs-view-worker';
    await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 3, labels: {}, version: 'test' });
    const { claimed } = await store.finishAndClaim(worker, [], 3, { sessions: [web.id, api.id] });
    assert.equal(claimed.length, 3);
    const ends = { build: 'succeeded', test: 'failed', migrate: 'canceled' } as const;
    await store.finishAndClaim(
      worker,
      claimed.map((c) => {
        const status = ends[(Object.keys(ends) as Array<keyof typeof ends>).find((k) => runs[k]!.id === c.id)!];
        return { runId: c.id, attempt: c.attempt, status, exitCode: status === 'succeeded' ? 0 : 1, error: status === 'failed' ? '2 tests failed' : null };
      }),
      0,
    );
    await store.setWorkerState(worker, 'stopped');
    runs.queued = await store.createRun({ session_id: api.id, lane: 'B', intent: 'echo still queued' });
  });

  it('lists the newest runs of both sessions, each with its session', async () => {
    const { page, workbench } = vscode();
    await workbench.activityBar.open('Ops Control Room');
    view = new RunsView(page, workbench.sideBar);
    await until('the four runs, newest first', async () => {
      const shown = await view.intents();
      return JSON.stringify(shown) === JSON.stringify(newestFirst) ? shown : undefined;
    });
    await expectText(view.row('npm test'), /Web app · B · failed · exit 1/);
    await expectText(view.row('psql -f migrate.sql'), /API · A · canceled/);
    await expectText(view.row('echo still queued'), /API · B · queued/);
    // the picture: the Runs view alone in a wider side bar (Runbooks and Workers folded), nothing hovered
    for (const name of ['Runbooks', 'Workers']) {
      const pane = workbench.sideBar.view(name).root;
      if ((await pane.count()) > 0 && (await pane.locator('.pane-header.expanded').count()) > 0) await pane.locator('.pane-header').click();
    }
    const bar = await workbench.sideBar.root.boundingBox();
    assert.ok(bar);
    await page.mouse.move(bar.x + bar.width + 1, bar.y + bar.height / 2);
    await page.mouse.down();
    await page.mouse.move(bar.x + bar.width + 320, bar.y + bar.height / 2, { steps: 8 });
    await page.mouse.up();
    await page.mouse.move(1200, 600);
    await expectText(view.row('npm test'), /Web app · B · failed · exit 1 · .* · ui-runs-view-worker/);
    const wide = await workbench.sideBar.root.boundingBox();
    assert.ok(wide);
    await page.screenshot({ path: screenshot, clip: { x: 0, y: 0, width: Math.min(1400, wide.x + wide.width + 24), height: 520 } });
  });

  it('narrows to the failed and canceled runs with Filter by Status…, and says so', async () => {
    const { page } = vscode();
    await view.action('Filter by Status…');
    const quick = new QuickInput(page);
    await quick.waitFor('Show runs in these statuses');
    await quick.pick('failed');
    await quick.pick('canceled');
    await page.keyboard.press('Enter');
    await quick.widget.waitFor({ state: 'hidden', timeout: 15_000 });
    await until('only the failed and canceled runs', async () => {
      const shown = await view.intents();
      return JSON.stringify(shown) === JSON.stringify(['psql -f migrate.sql', 'npm test']) ? shown : undefined;
    });
    await expectText(view.description(), 'failed, canceled');
  });

  it('exports the runs of the filter as JSON through the save dialog', async () => {
    const { page, workbench, workspace } = vscode();
    const file = path.join(workspace, 'runs.json');
    const palette = workbench.commandPalette;
    await palette.open();
    await palette.input.fill('>OCR: Export Runs');
    await palette.rows().filter({ has: page.locator('.label-name', { hasText: /^OCR: Export Runs…$/ }) }).first().click({ timeout: 30_000 });
    const quick = new QuickInput(page);
    await quick.waitFor('Export the runs as');
    await quick.pick('JSON');
    // the editor's own save dialog (here its simple one, a path to confirm), with the file name filled in
    const offered = await until('the dialog to offer runs.json', async () => {
      const value = await quick.input.inputValue();
      return value.endsWith('runs.json') ? value : undefined;
    }, 30_000);
    assert.equal(offered, file);
    await quick.input.press('Enter');
    await workbench.notifications.waitFor('Exported 2 runs to runs.json', 30_000);
    assert.ok(existsSync(file), `${file} was written`);
    const exported = JSON.parse(readFileSync(file, 'utf8')) as Array<Record<string, unknown>>;
    assert.deepEqual(
      exported.map((r) => [r.id, r.session_title, r.lane, r.status, r.intent]),
      [
        [runs.migrate!.id, 'API', 'A', 'canceled', 'psql -f migrate.sql'],
        [runs.test!.id, 'Web app', 'B', 'failed', 'npm test'],
      ],
    );
    assert.equal(exported[1]!.error, '2 tests failed');
  });
});
