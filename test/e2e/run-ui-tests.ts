// Runs the UI tests (test/e2e/ui) with mocha: each test file drives its own code-server through headless Chromium.
// Usage: npm run test:e2e [-- <file name filter>...]; OCR_TEST_GREP filters tests by title, OCR_E2E_SCREENSHOTS=1 keeps
// a screenshot of every test.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Mocha from 'mocha';
import { chromiumPath, codeServerVersion, outputDir, requireBuilt, requireCodeServer } from './harness/paths';

const uiTestsDir = path.join(__dirname, 'ui');
const resultsDir = path.join(outputDir, 'e2e');

async function main(): Promise<number> {
  requireBuilt();
  requireCodeServer();
  chromiumPath();
  rmSync(resultsDir, { recursive: true, force: true });
  // Whatever the test process itself puts in the temporary folder (Playwright's scratch files) is removed with it.
  const runTmp = mkdtempSync(path.join(os.tmpdir(), 'ocr-e2e-'));
  process.env.TMPDIR = runTmp;
  try {
    const filters = process.argv.slice(2);
    const files = readdirSync(uiTestsDir)
      .filter((f) => f.endsWith('.test.js') && (filters.length === 0 || filters.some((filter) => f.includes(filter))))
      .sort();
    const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', timeout: 120_000, slow: 20_000 });
    if (process.env.OCR_TEST_GREP) mocha.grep(process.env.OCR_TEST_GREP);
    for (const file of files) mocha.addFile(path.join(uiTestsDir, file));
    console.log(`UI tests in code-server ${codeServerVersion} + Chromium: ${files.length} file(s)`);
    await mocha.loadFilesAsync();
    const started = Date.now();
    const stats = await new Promise<Mocha.Stats>((resolve) => {
      const runner = mocha.run(() => resolve(runner.stats ?? { passes: 0, failures: 1, pending: 0 } as Mocha.Stats));
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const where = path.relative(process.cwd(), resultsDir);
    console.log(stats.failures === 0
      ? `UI tests passed: ${stats.passes} passing, ${stats.pending} pending (${seconds} s); output in ${where}`
      : `UI tests FAILED: ${stats.failures} failing, ${stats.passes} passing (${seconds} s); screenshots and logs in ${where}`);
    return stats.failures === 0 && stats.passes > 0 ? 0 : 1;
  } finally {
    rmSync(runTmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
