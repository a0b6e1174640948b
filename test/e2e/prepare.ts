// The first step of `npm test` (and `npm run setup:vscode`): installs what the editor tests need — code-server into
// .tools, Chromium, PgBouncer (for the pooler tests) and code-server's compile prerequisites with apt-get when run as
// root on Debian — or stops at once with the one command to run. When all of it is there it says so in one line.
import { codeServerVersion } from './harness/paths';
import { ensurePrerequisites } from './harness/prerequisites';

try {
  const { chromium, installed } = ensurePrerequisites({ chromium: true, pgbouncer: true });
  if (installed.length === 0) console.log(`editor tests: code-server ${codeServerVersion} and ${chromium} are there`);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
