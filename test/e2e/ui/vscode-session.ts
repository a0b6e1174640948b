/// <reference types="mocha" />
// One VS Code per test file: a fresh sandbox, the extension installed as a user would have it (the repository linked
// into the extensions folder), code-server, headless Chromium on the workbench, and the extension host's console in
// the test log. Screenshots are taken when a test fails, or after every test with OCR_E2E_SCREENSHOTS=1.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../harness/browser';
import { type CodeServer, startCodeServer } from '../harness/code-server';
import { type ConsoleCapture, captureConsole } from '../harness/console-log';
import { extensionId, outputDir } from '../harness/paths';
import { type Sandbox, createSandbox, createSampleWorkspace, installExtension, testUserSettings } from '../harness/sandbox';
import { Workbench } from './pages/workbench';

export { extensionId };

export interface VsCodeSession {
  readonly page: Page;
  readonly workbench: Workbench;
  readonly workspace: string;
  /** Every line the extension host logged so far. */
  readonly extensionHostLog: readonly string[];
  /** Saves a screenshot under test-output/e2e/<file>/ and returns its path. */
  screenshot(name: string): Promise<string>;
}

class Session implements VsCodeSession {
  private constructor(
    private readonly sandbox: Sandbox,
    private readonly server: CodeServer,
    private readonly browser: Browser,
    private readonly capture: ConsoleCapture,
    readonly page: Page,
    readonly workbench: Workbench,
    readonly workspace: string,
    readonly extensionHostLog: readonly string[],
    private readonly outputFolder: string,
  ) {}

  static async open(name: string, options: VsCodeOptions): Promise<Session> {
    const outputFolder = path.join(outputDir, 'e2e', name);
    mkdirSync(outputFolder, { recursive: true });
    const sandbox = createSandbox('ui', { settings: { ...testUserSettings, ...options.settings } });
    let browser: Browser | undefined;
    let page: Page | undefined;
    try {
      const workspace = createSampleWorkspace(sandbox.workspaceDir, sandbox.env);
      installExtension(sandbox.extensionsDir);
      const server = await startCodeServer(sandbox, { logFile: path.join(outputFolder, 'code-server.log') });
      browser = await launchChromium(sandbox);
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const extensionHostLog: string[] = [];
      const capture = captureConsole(page, {
        logFile: path.join(outputFolder, 'console.log'),
        onExtensionHostLine: (line) => {
          extensionHostLog.push(line);
          console.log(`      [extension host] ${line}`);
        },
        onWorkbenchError: (line) => console.log(`      [workbench error] ${line.split('\n')[0]}`),
      });
      const session = new Session(sandbox, server, browser, capture, page, new Workbench(page), workspace, extensionHostLog, outputFolder);
      await page.goto(server.url({ folder: workspace }));
      await session.workbench.ready();
      // The container's icon shows once VS Code has registered the extension's contributions.
      await session.workbench.activityBar.item('Ops Control Room').waitFor({ timeout: 120_000 });
      return session;
    } catch (error) {
      await page?.screenshot({ path: path.join(outputFolder, 'start.failed.png') }).catch(() => undefined);
      await browser?.close().catch(() => undefined);
      await sandbox.dispose();
      throw error;
    }
  }

  async screenshot(name: string): Promise<string> {
    const file = path.join(this.outputFolder, `${name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '')}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  async close(): Promise<void> {
    await this.capture.close().catch(() => undefined);
    await this.browser.close().catch(() => undefined);
    await this.server.stop();
    await this.sandbox.dispose();
  }
}

export interface VsCodeOptions {
  /** user settings over the harness's own (which keep the first-run walkthrough closed) */
  settings?: Record<string, unknown>;
}

/**
 * Registers the mocha hooks of one VS Code session for the calling test file and returns its accessor. `name` names
 * the output folder (screenshots and logs).
 */
export function useVsCode(name: string, options: VsCodeOptions = {}): () => VsCodeSession {
  let session: Session | undefined;
  before(async function () {
    this.timeout(240_000);
    session = await Session.open(name, options);
  });
  afterEach(async function () {
    const test = this.currentTest;
    if (!session || !test) return;
    const failed = test.state === 'failed';
    if (!failed && !process.env.OCR_E2E_SCREENSHOTS) return;
    const file = await session.screenshot(`${test.title}${failed ? '.failed' : ''}`).catch((error: unknown) => `not taken (${String(error)})`);
    console.log(`      screenshot: ${path.relative(process.cwd(), file)}`);
  });
  after(async function () {
    this.timeout(60_000);
    await session?.close();
    session = undefined;
  });
  return () => {
    if (!session) throw new Error('VS Code is not running: its `before all` hook failed');
    return session;
  };
}
