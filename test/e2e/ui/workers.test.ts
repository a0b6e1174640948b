/// <reference types="mocha" />
// The Workers view as a person uses it in a real VS Code: it lists the worker inside this editor, with Drain and Stop;
// an `ocr worker` started from the command line (another machine, as far as the view can tell) appears with its host,
// its slots, the run it holds (a click opens the run's log) and the repository it serves, and offers no action; once
// it is SIGKILLed it is marked stale as soon as its heartbeat is older than its lease, and the age goes on counting.
// Drain pauses this editor's worker, the row's Start brings it back. The screenshot docs/workers-view.png is taken here.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Run } from '../../../domain';
import { makeRepo, tempDir } from '../../../worker/engine/git.test-support';
import { describeRepo } from '../../../worker/engine/repo';
import { repoRoot } from '../harness/paths';
import { until } from '../until';
import { expectText } from './expect';
import { WorkersView } from './pages/workers-view';
import { useTestDatabase } from './test-database';
import { useVsCode } from './vscode-session';

const screenshot = path.join(repoRoot, 'docs', 'workers-view.png');
const cliWorkerId = 'build-box-1';
const editorWorker = /-editor-\d+$/;
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const statusItem = 'ops-control-room.ops-control-room.ocr.status';

describe('Workers view', function () {
  this.timeout(240_000);
  const db = useTestDatabase('ocr_ui_workers');
  const vscode = useVsCode('workers');
  const dir = tempDir('ocr-ui-workers-');
  let view: WorkersView;
  let cli: ChildProcess | undefined;
  let cliLog = '';
  let run: Run;

  after(() => {
    if (cli?.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
    dir.remove();
  });

  it('shows the worker inside this editor, with Drain and Stop', async () => {
    view = new WorkersView(vscode().workbench);
    await view.show();
    await view.widen(700);
    const own = view.worker(editorWorker);
    await expectText(own.description(), /^this editor · .+ · v0\.1\.0 · running · 0\/4 slots · (last heartbeat (just now|\d+ s ago))$/, 90_000);
    assert.deepEqual(await own.inlineActions(), ['Drain Worker', 'Stop Worker']);
  });

  it('lists a worker started from the command line, with its host, slots, the run it holds and its repository', async () => {
    const store = await db().store();
    // A repository only that worker has: its session was started on another machine, in a folder this one lacks, so
    // the editor's worker cannot serve it and the run is the command-line worker's.
    const repo = path.join(dir.path, 'shop');
    mkdirSync(repo);
    makeRepo(repo, { 'README.md': '# shop\n' });
    const described = await describeRepo(repo);
    const session = await store.createSession({
      title: 'Shop',
      repo_id: described.repoId,
      repo_path: '/srv/elsewhere/shop',
      base_ref: described.baseRef,
      lanes: ['A', 'B'],
    });
    run = await store.createRun({ session_id: session.id, lane: 'B', intent: 'sleep 300' });

    cli = spawn(
      process.execPath,
      [path.join(repoRoot, 'dist', 'ocr.js'), '--db', db().url, 'worker', '--id', cliWorkerId, '--concurrency', '3', '--lease', '5', '--repo', repo, '--worktrees', path.join(dir.path, 'worktrees')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cli.stdout?.on('data', (b: Buffer) => (cliLog += b.toString()));
    cli.stderr?.on('data', (b: Buffer) => (cliLog += b.toString()));
    await until(
      'the command-line worker to run the session\'s run',
      async () => {
        assert.equal(cli?.exitCode, null, `ocr worker exited: ${cliLog}`);
        const now = await store.getRun(run.id);
        return now.status === 'running' && now.claimed_by === cliWorkerId;
      },
      60_000,
    );

    const other = view.worker(cliWorkerId);
    await expectText(other.description(), new RegExp(`^${escapeRegExp(os.hostname())} · (v[\\d.]+ · )?running · 1/3 slots · last heartbeat (just now|\\d s ago)$`), 30_000);
    const runRow = view.child(/^B: sleep 300$/);
    await expectText(runRow.locator('.label-description'), new RegExp(`^${run.id.replace(/-/g, '').slice(0, 8)} · `));
    await expectText(view.child('shop'), /shop\s*repository it serves/);
    // the editor's worker serves the workspace's repository, named by its folder
    await expectText(view.child(path.basename(vscode().workspace)), /repository it serves/);
    // the editor's own worker is still listed, and only it offers Drain and Stop
    await expectText(view.worker(editorWorker).description(), /^this editor · .* · running · 0\/4 slots/);
    assert.deepEqual(await other.inlineActions(), []);

    mkdirSync(path.dirname(screenshot), { recursive: true });
    // nothing focused or hovered in the side bar: the view as it reads at a glance
    await vscode().page.locator('.part.editor').click();
    await vscode().page.mouse.move(0, 0);
    await view.screenshot(screenshot);
    console.log(`      screenshot: ${path.relative(process.cwd(), screenshot)}`);

    // a click on the run opens its log, as in the Sessions view
    await runRow.click();
    await vscode().workbench.editorTab(`B-${run.id.replace(/-/g, '').slice(0, 8)}.log`).waitFor({ timeout: 30_000 });
  });

  it('marks the command-line worker stale once it is killed and its heartbeat is older than its lease, and ages it', async () => {
    const killed = new Promise<void>((resolve) => cli!.once('exit', () => resolve()));
    cli!.kill('SIGKILL');
    await killed;
    const other = view.worker(cliWorkerId);
    // its lease is 5 s: stale from then on, never before
    const text = await expectText(other.description(), /· running · \d\/3 slots · stale: last heartbeat (\d+) s ago$/, 30_000);
    const first = Number(/(\d+) s ago$/.exec(text)![1]);
    assert.ok(first >= 5, text);
    await other.icon().and(vscode().page.locator('.codicon-warning')).waitFor({ timeout: 10_000 });
    // with nothing new from the database, the age still goes on
    await until('the stale heartbeat to age', async () => {
      const now = Number(/stale: last heartbeat (\d+) s ago$/.exec(await other.description().innerText())?.[1] ?? 0);
      return now >= first + 2;
    }, 30_000);
    // the editor's own worker beats on
    await expectText(view.worker(editorWorker).description(), /· running · \d\/4 slots · last heartbeat (just now|\d s ago)$/);
  });

  it('drains the worker inside this editor, and starts it again from its row', async () => {
    const { workbench } = vscode();
    const own = view.worker(editorWorker);
    await own.runInlineAction('Drain Worker');
    await until('the status bar to say the worker is paused', async () => (await workbench.statusBar.text(statusItem)).includes('OCR paused'), 30_000);
    await expectText(own.description(), /^this editor · .* · stopped · stopped (just now|\d+ s ago)$/, 30_000);
    assert.deepEqual(await own.inlineActions(), ['Toggle Worker']);
    await own.runInlineAction('Toggle Worker');
    await expectText(own.description(), /^this editor · .* · running · 0\/4 slots · last heartbeat/, 60_000);
    await until('the status bar to show the worker running', async () => /OCR \d\/4/.test(await workbench.statusBar.text(statusItem)), 30_000);
  });
});
