/// <reference types="mocha" />
// The editor on a Supabase project, in a real VS Code: two users and one token-authenticated worker on one database,
// everything through the ops-api function (served by Deno behind a stand-in for the project's gateway, whose Auth
// routes answer as GoTrue does, with tokens minted with the project's secret). Before signing in, the Sessions view and
// the status bar say what to do; user A signs in with email and password through "OCR: Connect to Supabase…", starts
// a session on the Runboard and runs a command in lane A, which a worker of the test's own (the worker engine over
// HTTPS with a worker token, as `ocr worker --api` runs it) executes while A's Runboard streams its log live; A then
// creates a worker token for the editor, whose own worker runs the next run; then A signs out and user B signs in with
// a one-time code: B's editor shows B's session only, nothing of A's.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFinal } from '../../../domain';
import { startSupabaseProject, type SupabaseProject } from '../../../worker/api/api-client-store.test-support';
import { HttpWorkerStore } from '../../../worker/api/http-store';
import { Worker } from '../../../worker/engine/worker';
import { asUser } from '../../../worker/store/supabase.test-support';
import { until } from '../until';
import { expectText } from './expect';
import { QuickInput } from './pages/quick-input';
import { Runboard } from './pages/runboard';
import type { Workbench } from './pages/workbench';
import { extensionId, useVsCode } from './vscode-session';

const statusItem = `${extensionId}.ocr.status`;

/** Answers "OCR: Connect to Supabase…" as a person does: the project, then how they sign in. */
async function connect(workbench: Workbench, p: SupabaseProject, how: 'Email and password' | 'Email me a one-time code', email: string, secret: () => Promise<string>): Promise<void> {
  const input = new QuickInput(workbench.page);
  // the palette stays open: the command's own questions take its place
  const palette = workbench.commandPalette;
  await palette.open();
  await palette.input.fill('>OCR: Connect to Supabase');
  await palette.rows().filter({ has: workbench.page.locator('.label-name', { hasText: /^OCR: Connect to Supabase…$/ }) }).first().click({ timeout: 30_000 });
  await input.waitFor(/The project's URL/);
  await input.submit(p.gateway.url);
  await input.waitFor(/anon \(publishable\) key/);
  await input.submit(p.gateway.anonKey);
  await input.waitFor('How do you sign in?');
  // the choices carry an icon before their words
  await input.rows().filter({ hasText: how }).first().click({ timeout: 15_000 });
  await input.waitFor('Your email address on the project');
  await input.submit(email);
  await input.waitFor(how === 'Email and password' ? `The password of ${email}` : `The code Supabase sent to ${email}`);
  await input.submit(await secret());
}

describe('Supabase: two users and a token worker through the ops-api function', function () {
  this.timeout(300_000);
  const settings: Record<string, unknown> = { 'ocr.worker.autoStart': true };
  const databaseUrl = process.env.OCR_DATABASE_URL;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-ui-supabase-'));
  let p: SupabaseProject;
  let worker: Worker | undefined;
  let workerStore: HttpWorkerStore | undefined;

  before(async function () {
    this.timeout(180_000);
    // the editor must reach its queue through Supabase, not through a database URL in its environment
    delete process.env.OCR_DATABASE_URL;
    // streams end every 4 s: the Runboard follows the log across the function's own stream ends
    p = await startSupabaseProject({ streamSeconds: 4 });
    await asUser(p.pool, p.users.b.id, (c) => c.query('select ops.create_session($1)', ["B's own work"]));
    // read by the VS Code session when it starts, after this hook
    Object.assign(settings, { 'ocr.backend': 'supabase', 'ocr.supabase.url': p.gateway.url, 'ocr.supabase.anonKey': p.gateway.anonKey });
  });

  const vscode = useVsCode('supabase', { settings });

  after(async function () {
    this.timeout(60_000);
    await worker?.stop({ graceMs: 0 });
    await workerStore?.close();
    await p?.close();
    rmSync(dir, { recursive: true, force: true });
    if (databaseUrl !== undefined) process.env.OCR_DATABASE_URL = databaseUrl;
  });

  it('before anyone signs in, the Sessions view says to connect and the worker says it has no worker token', async () => {
    const { workbench } = vscode();
    await workbench.activityBar.open('Ops Control Room');
    const sessions = workbench.sideBar.view('Sessions');
    await expectText(sessions.rows().first(), new RegExp(`not signed in to ${p.gateway.url.replace(/[.]/g, '\\.')}.*Connect to Supabase`), 60_000);
    await expectText(workbench.statusBar.item(statusItem), 'OCR no worker token', 60_000);
    assert.match((await workbench.statusBar.tooltip(statusItem)) ?? '', /worker token, and none is set/);
  });

  it('user A signs in with email and password; the Sessions view shows nothing of B', async () => {
    const { workbench } = vscode();
    await connect(workbench, p, 'Email and password', p.users.a.email, async () => p.users.a.password);
    await workbench.notifications.waitFor(/now uses the Supabase project .* signed in as a@example\.com \(team "team a"\)\. The worker in this editor needs a worker token/, 60_000);
    const sessions = workbench.sideBar.view('Sessions');
    await until('the Sessions view read as A', async () => !/not signed in|Cannot reach/.test(await sessions.root.innerText()), 30_000);
    assert.doesNotMatch(await sessions.root.innerText(), /B's own work/);
    // signed in through supabase-js against the project's Auth, the session kept by the editor
    assert.ok(p.gateway.authCalls.some((c) => c === 'POST /auth/v1/token?grant_type=password'), p.gateway.authCalls.join(', '));
  });

  it("A's Runboard streams A's run live while the token worker runs it", async () => {
    const { page, workbench } = vscode();
    workerStore = new HttpWorkerStore({ url: p.gateway.functionUrl, token: p.token, waitMs: 5_000 });
    worker = new Worker(workerStore, { id: 'token-box', repos: [vscode().workspace], worktreeRoot: path.join(dir, 'worktrees'), pollMs: 500, recoverMs: 1000 });
    await worker.start();

    await page.setViewportSize({ width: 1440, height: 900 });
    await workbench.commandPalette.run('OCR: Open Runboard');
    await workbench.editorTab('Runboard').waitFor({ timeout: 30_000 });
    const runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    await expectText(runboard.message(), 'No session yet', 60_000);
    await runboard.newSession('Release train', 'Ship it through Supabase');
    await expectText(runboard.sessionTitle(), 'Release train');
    const lane = runboard.lane('A');
    await lane.run('for i in $(seq 1 40); do echo "A line $i"; sleep 0.25; done');

    // live: lines on the board while the run still runs
    const seenLive = await until(
      'lines of the run on the Runboard while it runs',
      async () => {
        const lines = (await lane.logTexts()).filter((t) => /^A line \d+$/.test(t));
        return lines.length >= 3 && (await lane.status()) === 'running' ? lines.length : undefined;
      },
      90_000,
    );
    assert.ok(seenLive < 40, `the run was still running with ${seenLive} of 40 lines shown`);
    await until('the run to succeed on the Runboard', async () => (await lane.status()) === 'succeeded', 60_000);
    await until('all 40 lines, each once', async () => {
      const lines = (await lane.logTexts()).filter((t) => /^A line \d+$/.test(t));
      return lines.length === 40 && lines.every((t, i) => t === `A line ${i + 1}`);
    }, 30_000);
    await vscode().screenshot('runboard-supabase');

    // what the database holds: A's session of team A, the run claimed by the token worker
    const [session] = (await p.pool.query<{ id: string; team_id: string; created_by: string }>(`select id, team_id, created_by from ops.sessions where title = 'Release train'`)).rows;
    assert.equal(session?.team_id, p.teams.a);
    assert.equal(session?.created_by, 'a@example.com');
    const [run] = await p.store.listRuns({ sessionId: session!.id });
    assert.equal(run?.claimed_by, 'token-box');
    assert.ok(run && isFinal(run.status));
  });

  it("A creates a worker token for the editor: the editor's own worker starts and runs A's next run", async () => {
    const { page, workbench } = vscode();
    await worker?.stop({ graceMs: 0 });
    worker = undefined;
    const palette = workbench.commandPalette;
    await palette.open();
    await palette.input.fill('>OCR: Set Worker Token');
    await palette.rows().filter({ has: page.locator('.label-name', { hasText: /^OCR: Set Worker Token…$/ }) }).first().click({ timeout: 30_000 });
    const input = new QuickInput(page);
    await input.waitFor('runs with a worker token of your team');
    await input.rows().filter({ hasText: 'Create a Worker Token for This Editor' }).first().click({ timeout: 15_000 });
    await workbench.notifications.waitFor(/now runs with the worker token it created/, 60_000);
    await expectText(workbench.statusBar.item(statusItem), /OCR \d+\/4/, 60_000);

    const runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    const lane = runboard.lane('B');
    await lane.run('echo "from the editor\'s worker"');
    await until("lane B's run to succeed", async () => (await lane.status()) === 'succeeded', 90_000);
    const [run] = await p.store.listRuns({ lane: 'B', limit: 1 });
    assert.match(run?.claimed_by ?? '', /-editor-\d+$/);
    const [token] = (await p.pool.query<{ name: string; team_id: string }>(`select name, team_id from ops.worker_tokens where name like '% editor'`)).rows;
    assert.equal(token?.team_id, p.teams.a);
  });

  it('user B signs in with a one-time code and sees nothing of A: not the session, not the run, not its log', async () => {
    const { workbench } = vscode();
    await workbench.notifications.dismissAll().catch(() => undefined);
    await workbench.commandPalette.run('OCR: Sign Out of Supabase');
    await workbench.notifications.waitFor(/Signed out of .* \(a@example\.com\)/, 30_000);
    await workbench.activityBar.open('Ops Control Room');
    const sessions = workbench.sideBar.view('Sessions');
    await expectText(sessions.rows().first(), /not signed in/, 30_000);

    await connect(workbench, p, 'Email me a one-time code', p.users.b.email, () =>
      until('the one-time code sent to b@example.com', () => p.gateway.codes.get(p.users.b.email), 30_000),
    );
    // (the toast saying so may be gone by now: a toast without buttons hides itself)
    await expectText(sessions.root, "B's own work", 60_000);
    assert.ok(vscode().extensionHostLog.some((l) => l.includes('signed in to') && l.includes('as b@example.com (team team b)')));
    assert.doesNotMatch(await sessions.root.innerText(), /Release train/);
    assert.ok(p.gateway.authCalls.includes('POST /auth/v1/verify'), p.gateway.authCalls.join(', '));

    await workbench.commandPalette.run('OCR: Open Runboard');
    const runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    await expectText(runboard.sessionTitle(), "B's own work", 60_000);
    const board = await runboard.body.innerText();
    assert.doesNotMatch(board, /Release train|A line \d+/);
    await vscode().screenshot('runboard-user-b');
  });
});
