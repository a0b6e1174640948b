// What the editor tests and `npm start` need besides node_modules: code-server in .tools (installed from npm) and, for
// the tests, a Chromium. Everything missing is found first and only then installed, so a machine where this process may
// not install it stops at once with the one command to run, instead of after minutes of other tests.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { buildPrerequisites, installCodeServer, isCodeServerInstalled } from './install-code-server';
import { chromiumNames, codeServerVersion, findChromium, findOnPath } from './paths';

/** Something needed is missing and this process may not install it; the message is the one thing to do. */
export class MissingPrerequisiteError extends Error {
  readonly code = 'prerequisite_missing';
  constructor(message: string) {
    super(message);
    this.name = 'MissingPrerequisiteError';
  }
}

export interface Needs {
  /** The UI tests drive a Chromium; `npm start` leaves the browser to the user. */
  chromium: boolean;
  /** The pooler tests start a PgBouncer (Debian's pgbouncer, in /usr/sbin). */
  pgbouncer?: boolean;
}

export interface PrerequisitePlan {
  /** The Chromium to use, when one is there already. */
  chromium?: string;
  /** Debian packages to install with apt-get before anything else. */
  aptPackages: string[];
  /** code-server is to be installed into .tools. */
  codeServer: boolean;
  /** Why nothing can be installed here, as the one command or step to take; nothing is installed when set. */
  stop?: string;
}

/** Tools a native module compile needs, looked for where there is no dpkg to ask. */
const compilerTools = ['make', 'c++', 'python3'];

/** Decides what to install for `needs`, from the environment given (PATH, OCR_CHROMIUM) and this process's user. */
export function planPrerequisites(needs: Needs, env: NodeJS.ProcessEnv = process.env): PrerequisitePlan {
  const dpkgQuery = findOnPath(['dpkg-query'], env.PATH) ?? '';
  const debian = dpkgQuery !== '' && findOnPath(['apt-get'], env.PATH) !== undefined;
  const plan: PrerequisitePlan = { aptPackages: [], codeServer: !isCodeServerInstalled() };
  const stops: string[] = [];

  if (needs.chromium) plan.chromium = findChromium(env);
  if (needs.chromium && !plan.chromium) {
    if (env.OCR_CHROMIUM) {
      stops.push(`OCR_CHROMIUM is ${env.OCR_CHROMIUM}, which does not exist: point it at a Chromium or Chrome executable, or unset it`);
    } else if (debian) {
      plan.aptPackages.push('chromium');
    } else {
      stops.push(`no Chromium is on PATH (${chromiumNames.join(', ')}): install Chromium with your package manager, or set OCR_CHROMIUM to its path`);
    }
  }

  const pgbouncerThere = () =>
    debian ? debianPackageInstalled(dpkgQuery, 'pgbouncer') : findOnPath(['pgbouncer'], [env.PATH, '/usr/sbin', '/usr/local/sbin'].join(path.delimiter));
  if (needs.pgbouncer && !pgbouncerThere()) {
    if (debian) plan.aptPackages.push('pgbouncer');
    else stops.push('the pooler tests need PgBouncer, and no pgbouncer is on PATH or in /usr/sbin: install PgBouncer with your package manager');
  }

  if (plan.codeServer) {
    if (debian) {
      plan.aptPackages.push(...buildPrerequisites.filter((pkg) => !debianPackageInstalled(dpkgQuery, pkg)));
    } else {
      const missing = compilerTools.filter((tool) => !findOnPath([tool], env.PATH));
      if (missing.length > 0) {
        stops.push(`code-server's native modules compile, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not on PATH: install a C++ compiler, make, python3, pkg-config and the Kerberos (gssapi) headers with your package manager`);
      }
    }
  }

  if (plan.aptPackages.length > 0 && process.getuid?.() !== 0) {
    const what = plan.aptPackages.length === 1 ? `the Debian package ${plan.aptPackages[0]} is` : `the Debian packages ${plan.aptPackages.join(', ')} are`;
    stops.unshift(`${what} missing, and only root may install ${plan.aptPackages.length === 1 ? 'it' : 'them'}: run \`sudo ${aptInstallCommand(plan.aptPackages)}\``);
  }
  if (stops.length > 0) plan.stop = stops.join('; ');
  return plan;
}

export interface Prepared {
  chromium?: string;
  /** What was installed, in words ("chromium", "code-server 4.100.3"); empty when all was there. */
  installed: string[];
}

/** Installs what `needs` lacks, printing what and how long it took; throws MissingPrerequisiteError before installing anything when it cannot. */
export function ensurePrerequisites(needs: Needs, log: (line: string) => void = console.log): Prepared {
  const plan = planPrerequisites(needs);
  if (plan.stop) throw new MissingPrerequisiteError(`${needsWhat(needs)}: ${plan.stop}; then try again.`);
  const installed: string[] = [];
  if (plan.aptPackages.length > 0) {
    installWithApt(plan.aptPackages, log);
    installed.push(...plan.aptPackages);
  }
  if (plan.codeServer) {
    installCodeServer(log);
    installed.push(`code-server ${codeServerVersion}`);
  }
  let chromium = plan.chromium;
  if (needs.chromium && !chromium) {
    chromium = findChromium(process.env);
    if (!chromium) throw new MissingPrerequisiteError(`apt-get installed chromium, but none of ${chromiumNames.join(', ')} is on PATH: set OCR_CHROMIUM to its path`);
  }
  return { chromium, installed };
}

function needsWhat(needs: Needs): string {
  return needs.chromium ? 'The editor tests need code-server and Chromium' : 'VS Code in the browser needs code-server';
}

export function aptInstallCommand(packages: string[]): string {
  return `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

function debianPackageInstalled(dpkgQuery: string, pkg: string): boolean {
  const result = spawnSync(dpkgQuery, ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return result.stdout?.includes('install ok installed') ?? false;
}

/** apt-get's own output is shown only when it fails; a fresh machine may have empty package lists, so those are fetched once then. */
function installWithApt(packages: string[], log: (line: string) => void): void {
  const started = Date.now();
  log(`installing with apt-get: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => spawnSync('apt-get', args, { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const installArgs = ['install', '-y', '-q', '--no-install-recommends', ...packages];
  let result = run(installArgs);
  if (result.status !== 0) {
    const update = run(['update', '-q']);
    result = update.status === 0 ? run(installArgs) : update;
  }
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`${aptInstallCommand(packages)} failed (exit ${result.status ?? result.signal}):\n${output}`);
  }
  log(`${packages.join(', ')} installed with apt-get in ${seconds(started)} s`);
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(0);
}
