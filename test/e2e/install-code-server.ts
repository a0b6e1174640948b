// `npm run setup:vscode`: installs code-server into .tools/code-server, or confirms that it is there.
import { ensureCodeServer } from './harness/install-code-server';

try {
  ensureCodeServer();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
