// Runs the extension-host suite (test/e2e/vscode) in a real VS Code. By default that is code-server, which needs no
// download; OCR_VSCODE=desktop runs the same suite in desktop VS Code through @vscode/test-electron where it can be
// downloaded.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { runExtensionTests } from './harness/extension-tests';
import { codeServerVersion, extensionDir, extensionTestsDir, outputDir, requireBuilt, requireCodeServer, toolsDir } from './harness/paths';
import { createSandbox, createSampleWorkspace } from './harness/sandbox';
import { createTestDatabase } from '../../worker/store/testing';

const testsEntry = path.join(extensionTestsDir, 'index.js');
const logDir = path.join(outputDir, 'vscode');

/** What the suite inside the extension host reads: OCR_TEST_GREP filters tests by title. */
function testEnv(): NodeJS.ProcessEnv {
  return { OCR_TEST_COLOR: process.stdout.isTTY ? '1' : '0', ...(process.env.OCR_TEST_GREP ? { OCR_TEST_GREP: process.env.OCR_TEST_GREP } : {}) };
}

/**
 * Two runs: the main suite in a trusted workspace, then the restricted-mode suite in an untrusted one. Both talk to a
 * fresh database on the test PostgreSQL (OCR_TEST_DATABASE_URL), dropped afterwards.
 */
async function inCodeServer(): Promise<number> {
  requireCodeServer();
  const db = await createTestDatabase('ocr_vscode');
  try {
    const env = { ...testEnv(), OCR_DATABASE_URL: db.url };
    console.log(`extension-host tests in code-server ${codeServerVersion}, trusted workspace`);
    const trusted = await runExtensionTests({ extensionDevelopmentPath: extensionDir, extensionTestsPath: testsEntry, logDir, env: { ...env, OCR_TEST_SUITE: 'trusted' } });
    console.log(`extension-host tests in code-server ${codeServerVersion}, untrusted workspace`);
    const untrusted = await runExtensionTests({
      extensionDevelopmentPath: extensionDir,
      extensionTestsPath: testsEntry,
      logDir: path.join(logDir, 'untrusted'),
      env: { ...env, OCR_TEST_SUITE: 'untrusted' },
      untrusted: true,
    });
    return trusted || untrusted;
  } finally {
    await db.drop();
  }
}

async function inDesktop(): Promise<number> {
  const { runTests } = await import('@vscode/test-electron');
  const sandbox = createSandbox('vscode-desktop');
  try {
    const workspace = createSampleWorkspace(sandbox.workspaceDir, sandbox.env);
    console.log('extension-host tests in desktop VS Code (@vscode/test-electron)');
    return await runTests({
      cachePath: path.join(toolsDir, 'vscode-test'),
      extensionDevelopmentPath: extensionDir,
      extensionTestsPath: testsEntry,
      launchArgs: [workspace, '--disable-extensions', `--user-data-dir=${sandbox.userDataDir}`, `--extensions-dir=${sandbox.extensionsDir}`],
      extensionTestsEnv: { ...sandbox.env, ...testEnv() },
    });
  } catch {
    return 1; // test-electron rejects when the tests fail; their output is already printed
  } finally {
    await sandbox.dispose();
  }
}

async function main(): Promise<number> {
  requireBuilt();
  rmSync(logDir, { recursive: true, force: true });
  const started = Date.now();
  const code = process.env.OCR_VSCODE === 'desktop' ? await inDesktop() : await inCodeServer();
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(code === 0 ? `extension-host tests passed (${seconds} s)` : `extension-host tests FAILED with exit code ${code} (${seconds} s); logs in ${path.relative(process.cwd(), logDir)}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
