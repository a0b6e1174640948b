// Configuration for @vscode/test-cli (`npx vscode-test --config test/e2e/vscode-test.config.mjs`). The same suite as
// `npm run test:vscode`: in code-server through the shim, or in a downloaded desktop VS Code with OCR_VSCODE=desktop.
import { defineConfig } from '@vscode/test-cli';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  label: 'extension-host',
  files: '../../dist/test/vscode/**/*.test.js', // relative to this file
  extensionDevelopmentPath: root,
  useInstallation: process.env.OCR_VSCODE === 'desktop' ? undefined : { fromPath: fileURLToPath(new URL('code-server-shim', import.meta.url)) },
  launchArgs: ['--disable-extensions'],
  mocha: { ui: 'bdd', timeout: 60_000 },
});
