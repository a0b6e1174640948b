// The extension-host test entry point (`extensionTestsPath`): VS Code loads this module inside the extension host and
// awaits run(). It runs every *.test.js bundled beside it with mocha, whose reporter writes to the console.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  // The runner knows whether its output is a terminal; the extension host does not.
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', color: process.env.OCR_TEST_COLOR === '1', timeout: 60_000 });
  if (process.env.OCR_TEST_GREP) mocha.grep(process.env.OCR_TEST_GREP);
  // The restricted-mode suite needs an untrusted workspace, so it runs in a workbench of its own.
  const untrusted = process.env.OCR_TEST_SUITE === 'untrusted';
  const files = readdirSync(__dirname).filter((f) => f.endsWith('.test.js') && f.endsWith('.untrusted.test.js') === untrusted);
  for (const file of files.sort()) mocha.addFile(path.join(__dirname, file));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension-host test(s) failed`)) : resolve()));
  });
}
