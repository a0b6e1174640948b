// Runs extension-host tests in code-server under the contract of @vscode/test-electron: the extensions under
// development plus a module whose `run()` executes the tests with the real `vscode` API. The workbench is opened in
// headless Chromium with a development payload; VS Code reports the result through window.codeAutomationExit.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium } from './browser';
import { startCodeServer } from './code-server';
import { captureConsole } from './console-log';
import { createSandbox, createSampleWorkspace, testUserSettings } from './sandbox';

const untrustedSettings = {
  ...testUserSettings,
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.untrustedFiles': 'open',
};

export interface ExtensionTestOptions {
  extensionDevelopmentPath: string | string[];
  /** A module (built JS) exporting `run(): Promise<void>`. */
  extensionTestsPath: string;
  /** A folder or .code-workspace to open; a fresh sample repository when omitted. */
  workspace?: string;
  /** Extra environment for the extension host (for instance @vscode/test-cli's VSCODE_TEST_OPTIONS). */
  env?: NodeJS.ProcessEnv;
  /** Folder for code-server's log and the full browser console. */
  logDir: string;
  timeoutMs?: number;
  /** Receives the extension host's console, which carries the test reporter's output. */
  log?: (line: string) => void;
  /** Open the workspace untrusted (workspace trust on, never asked), to test restricted mode. */
  untrusted?: boolean;
}

/** Resolves with the exit code the test runner reported (0 when every test passed). */
export async function runExtensionTests(options: ExtensionTestOptions): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(line));
  const timeoutMs = options.timeoutMs ?? 600_000;
  mkdirSync(options.logDir, { recursive: true });
  const sandbox = createSandbox('vscode-tests', options.untrusted ? { settings: untrustedSettings } : {});
  let server: Awaited<ReturnType<typeof startCodeServer>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    const workspace = options.workspace ? path.resolve(options.workspace) : createSampleWorkspace(sandbox.workspaceDir, sandbox.env);
    server = await startCodeServer(sandbox, { logFile: path.join(options.logDir, 'code-server.log'), env: options.env, workspaceTrust: options.untrusted });
    browser = await launchChromium(sandbox);
    const page = await browser.newPage();
    let reportExit: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => (reportExit = resolve));
    await page.exposeFunction('codeAutomationExit', (code: number) => reportExit(code));
    const capture = captureConsole(page, {
      logFile: path.join(options.logDir, 'console.log'),
      extensionTestRun: true,
      onExtensionHostLine: log,
      onWorkbenchError: (line) => log(`[workbench error] ${line}`),
    });
    const remote = (p: string) => `vscode-remote://${server!.authority}${path.resolve(p)}`;
    const payload: [string, string][] = [
      ...[options.extensionDevelopmentPath].flat().map((p): [string, string] => ['extensionDevelopmentPath', remote(p)]),
      ['extensionTestsPath', remote(options.extensionTestsPath)],
      ['skipWelcome', 'true'],
      ['skipReleaseNotes', 'true'],
    ];
    await page.goto(server.url({ folder: workspace, payload }));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const code = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    await capture.close();
    if (code === 'timeout') {
      log(`the extension-host tests did not finish within ${timeoutMs / 1000} s`);
      return 1;
    }
    return code;
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await sandbox.dispose();
  }
}
