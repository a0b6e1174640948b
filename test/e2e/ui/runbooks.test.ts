/// <reference types="mocha" />
// Runbooks as a person uses them in a real VS Code, with the example runbooks the extension ships: the Runbooks view's
// "Add Example Runbooks" puts them in the workspace and lists them. `healthcheck` runs from the palette with its
// inputs and its step goes green on the Runboard. `db-migrate` on prod, run from the view, asks for its inputs (the
// database URL in a password box), its lane and a confirmation; it waits at its approval gate after the dry run, and the
// notification's Approve applies the migration to a real database. Run again, the notification's Reject asks the
// reason, and the run ends canceled with it, applying nothing. The extension's own worker runs the steps against a fresh
// queue database on the test PostgreSQL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import type { Run, Session } from '../../../domain';
import { createTestDatabase } from '../../../worker/store/testing';
import { until } from '../until';
import { expectText } from './expect';
import { Dialog } from './pages/dialog';
import { QuickInput } from './pages/quick-input';
import { Runboard } from './pages/runboard';
import { useTestDatabase } from './test-database';
import { extensionId, useVsCode } from './vscode-session';

describe('Runbooks', function () {
  this.timeout(240_000);
  const db = useTestDatabase('ocr_ui_runbooks');
  const vscode = useVsCode('runbooks');
  let session: Session;
  let runboard: Runboard;

  // what healthcheck checks: a service on this machine answering 200 at /health
  let service: Server;
  let serviceUrl = '';
  // what db-migrate migrates: a database of its own
  let target: Awaited<ReturnType<typeof createTestDatabase>>;
  before(async () => {
    service = createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end('ok'));
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    serviceUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
    target = await createTestDatabase('ocr_ui_migrate_target');
  });
  after(async () => {
    service?.close();
    await target?.drop();
  });

  /** What the target database says, one value. */
  async function query(sql: string): Promise<unknown> {
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    try {
      return Object.values((await client.query(sql)).rows[0] ?? {})[0];
    } finally {
      await client.end();
    }
  }

  /** The newest run of the session once it is `status`. */
  const newestRun = (status: Run['status']) =>
    until(`the newest run to be ${status}`, async () => {
      const [run] = await (await db().store()).listRuns({ sessionId: session.id, limit: 1 });
      return run?.status === status ? run : undefined;
    });

  /** OCR: Run Runbook… from the palette, and the runbook picked by its title; the quick input that asks on. */
  async function runRunbookFromPalette(title: string): Promise<QuickInput> {
    const { page, workbench } = vscode();
    // the palette stays open: the command's own quick pick takes its place
    const palette = workbench.commandPalette;
    await palette.open();
    await palette.input.fill('>OCR: Run Runbook');
    await palette.rows().filter({ has: page.locator('.label-name', { hasText: /^OCR: Run Runbook…$/ }) }).first().click({ timeout: 30_000 });
    const quick = new QuickInput(page);
    await quick.waitFor('Which runbook?');
    await quick.pick(title);
    return quick;
  }

  it('adds the example runbooks from the Runbooks view and lists them', async () => {
    const { workbench, workspace } = vscode();
    await workbench.activityBar.open('Ops Control Room');
    const view = workbench.sideBar.view('Runbooks');
    await expectText(view.welcome(), 'No runbooks in this workspace', 60_000);
    await view.button('Add Example Runbooks').click({ timeout: 10_000 });
    const added = await workbench.notifications.waitFor(/Added \d+ example runbooks to \.ocr\/runbooks/, 30_000);
    for (const file of ['healthcheck.yaml', 'db-migrate.yaml']) assert.ok(added.includes(file), added);
    await expectText(view.rows().filter({ hasText: 'HTTP health check' }).first(), /HTTP health check\s*healthcheck/, 60_000);
    await expectText(view.rows().filter({ hasText: 'Apply SQL migrations' }).first(), /Apply SQL migrations\s*schema_sync/);
    // what the notification says to do: commit them with their scripts (a run's worktree is made from the commits),
    // and a migration for db-migrate to apply
    mkdirSync(path.join(workspace, 'migrations'), { recursive: true });
    writeFileSync(path.join(workspace, 'migrations', '001_orders.sql'), 'create table orders (id bigint primary key, total numeric not null);\n');
    for (const args of [['add', '.ocr', 'migrations'], ['-c', 'user.name=OCR', '-c', 'user.email=ocr@example.invalid', 'commit', '-q', '-m', 'Runbooks and the first migration']]) {
      const git = spawnSync('git', args, { cwd: workspace, encoding: 'utf8' });
      assert.equal(git.status, 0, git.stderr);
    }
    await workbench.notifications.dismissAll();
  });

  it('runs healthcheck from the palette with its inputs, and the Runboard shows its step go green', async () => {
    const { page, workbench } = vscode();
    await workbench.commandPalette.run('OCR: Open Runboard');
    runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    await expectText(runboard.message(), 'No session yet', 60_000);
    await runboard.newSession('Ops', 'Check the service, migrate its database');
    await expectText(runboard.sessionTitle(), 'Ops');
    session = await until('the session in the database', async () => (await (await db().store()).listSessions()).find((s) => s.title === 'Ops'));

    const quick = await runRunbookFromPalette('HTTP health check');
    await quick.waitFor('Run "HTTP health check" (1/2): URLs and their expected status');
    await quick.submit(`${serviceUrl}/health=200`);
    await quick.waitFor('Run "HTTP health check" (2/2): Seconds to wait for each answer');
    assert.equal(await quick.input.inputValue(), '10'); // its default, filled in
    await page.keyboard.press('Enter');
    await quick.waitFor('In which lane of "Ops"?');
    await page.keyboard.press('Enter');

    const a = runboard.lane('A');
    await until('the check step to go green', async () => (await a.stepStatuses()).join(' ') === 'check:succeeded', 120_000);
    assert.equal(await a.status(), 'succeeded');
    const lines = await a.logTexts();
    assert.ok(lines.some((l) => l.startsWith(`ok   200 ${serviceUrl}/health`)), lines.join('\n'));
    assert.ok(lines.includes('all 1 URL(s) answered as expected'), lines.join('\n'));
    const run = await newestRun('succeeded');
    assert.deepEqual(run.spec.inputs, { urls: `${serviceUrl}/health=200`, timeout: 10 });
  });

  it('db-migrate on prod: asks, waits at its gate after the dry run, and the notification\'s Approve applies it', async () => {
    const { page, workbench } = vscode();
    await workbench.activityBar.open('Ops Control Room');
    const row = workbench.sideBar.view('Runbooks').rows().filter({ hasText: 'Apply SQL migrations' }).first();
    await row.hover();
    await row.locator('.action-label[aria-label^="Run Runbook"]').click({ timeout: 15_000 });
    const quick = new QuickInput(page);
    await quick.waitFor('Run "Apply SQL migrations" (1/4): Environment');
    await quick.pick('prod');
    await quick.waitFor('(2/4): Database URL');
    assert.equal(await quick.input.getAttribute('type'), 'password');
    await quick.submit('');
    await expectText(quick.message(), 'Database URL (postgres://user:password@host:5432/database) is required');
    await quick.submit(target.url);
    await quick.waitFor('(3/4): Folder of the .sql files');
    assert.equal(await quick.input.inputValue(), 'migrations');
    await page.keyboard.press('Enter');
    await quick.waitFor('(4/4): SQL client');
    await quick.pick('auto');
    await quick.waitFor('In which lane of "Ops"?');
    await page.keyboard.press('Enter');
    const dialog = new Dialog(page);
    await expectText(dialog.message(), 'Run "Apply SQL migrations" in prod?');
    await expectText(dialog.detail(), /lane A of "Ops"\.[\s\S]*env=prod[\s\S]*database_url=\*\*\*/);
    await dialog.choose('Run in Prod');

    const asked = await workbench.notifications.waitFor(/waits for approval: Apply the new SQL files of migrations to prod\?/, 120_000);
    assert.match(asked, /^Run [0-9a-f]{8} \(runbook db-migrate\) in lane A waits for approval/);
    const waiting = await newestRun('waiting');
    const store = await db().store();
    assert.deepEqual((await store.listSteps(waiting.id)).map((s) => [s.step_id, s.status]), [['check', 'succeeded'], ['approve', 'waiting'], ['apply', 'queued']]);
    assert.equal(await query("select to_regclass('public.orders')::text"), null); // the dry run changed nothing
    await workbench.notifications.button(/Apply the new SQL files/, 'Approve').click({ timeout: 15_000 });
    const done = await newestRun('succeeded');
    assert.equal(done.id, waiting.id);
    assert.equal(done.approval?.decision, 'approved');
    assert.equal(await query("select to_regclass('public.orders')::text"), 'orders');
    assert.equal(await query('select string_agg(name, \',\') from ocr_schema_migrations'), '001_orders.sql');
    // the database URL is a secret: sealed in the queue, never in the log
    const events = await store.listEvents(done.id, 0, 10_000);
    assert.ok(events.length > 0);
    assert.deepEqual(events.filter((e) => e.text.includes(target.name)).map((e) => e.text), []);
    assert.ok(!JSON.stringify(done.spec).includes(target.name));
    await workbench.notifications.dismissAll();
  });

  it('db-migrate again: the notification\'s Reject asks why, and the run ends canceled with the reason, applying nothing', async () => {
    const { page, workbench } = vscode();
    const quick = await runRunbookFromPalette('Apply SQL migrations');
    await quick.waitFor('(1/4): Environment');
    await quick.pick('prod');
    await quick.waitFor('(2/4): Database URL');
    await quick.submit(target.url);
    await quick.waitFor('(3/4): Folder of the .sql files');
    await page.keyboard.press('Enter');
    await quick.waitFor('(4/4): SQL client');
    await quick.pick('auto');
    await quick.waitFor('In which lane of "Ops"?');
    await page.keyboard.press('Enter');
    await new Dialog(page).choose('Run in Prod');

    await workbench.notifications.waitFor(/waits for approval: Apply the new SQL files of migrations to prod\?/, 120_000);
    const waiting = await newestRun('waiting');
    await workbench.notifications.button(/Apply the new SQL files/, 'Reject').click({ timeout: 15_000 });
    await quick.waitFor(/Reject run [0-9a-f]{8} in lane A/);
    await quick.submit('not during the freeze');
    const done = await newestRun('canceled');
    assert.equal(done.id, waiting.id);
    assert.equal(done.error, 'rejected: not during the freeze');
    assert.deepEqual((await (await db().store()).listSteps(done.id)).map((s) => [s.step_id, s.status]), [['check', 'succeeded'], ['approve', 'canceled'], ['apply', 'skipped']]);
    assert.equal(await query('select count(*)::int from ocr_schema_migrations'), 1);
  });
});
