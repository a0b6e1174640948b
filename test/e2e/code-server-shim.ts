// Stands in for a VS Code executable (see ./code-server-shim): it accepts the command line that @vscode/test-electron,
// and so @vscode/test-cli, gives to VS Code and runs those extension-host tests in code-server instead. Profile folders
// on that command line are ignored: every run gets a fresh sandbox.
import path from 'node:path';
import { runExtensionTests } from './harness/extension-tests';
import { outputDir } from './harness/paths';

function parse(argv: string[]) {
  const extensionDevelopmentPath: string[] = [];
  let extensionTestsPath: string | undefined;
  let workspace: string | undefined;
  for (const arg of argv) {
    const option = /^--([^=]+)=(.*)$/.exec(arg);
    if (option?.[1] === 'extensionDevelopmentPath' && option[2]) extensionDevelopmentPath.push(option[2]);
    else if (option?.[1] === 'extensionTestsPath') extensionTestsPath = option[2];
    else if (!arg.startsWith('-')) workspace = arg;
  }
  if (!extensionTestsPath || extensionDevelopmentPath.length === 0) {
    throw new Error('usage: code-server-shim --extensionDevelopmentPath=<dir> --extensionTestsPath=<module> [folder]');
  }
  return { extensionDevelopmentPath, extensionTestsPath, workspace };
}

// What @vscode/test-cli hands its runner inside the extension host; the rest of the environment stays the sandbox's.
const forwarded = Object.fromEntries(Object.entries(process.env).filter(([name]) => /^(VSCODE_TEST_|MOCHA_|NODE_V8_COVERAGE$)/.test(name)));

runExtensionTests({ ...parse(process.argv.slice(2)), env: forwarded, logDir: path.join(outputDir, 'vscode-cli') }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
