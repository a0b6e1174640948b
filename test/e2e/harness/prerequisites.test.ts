// What `npm test` installs before any test runs, decided from the real environment: the PATH it searches, OCR_CHROMIUM,
// this machine's dpkg and the user it runs as. The programs run are the built `dist/test/prepare.js`, as `npm test`
// runs it; the cases that must stop do so before anything is installed.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCodeServerInstalled } from './install-code-server';
import { codeServerDir, codeServerVersion, findChromium, findOnPath, repoRoot } from './paths';
import { planPrerequisites } from './prerequisites';

const prepare = path.join(repoRoot, 'dist', 'test', 'prepare.js');
const marker = path.join(codeServerDir, '.installed');
const root = process.getuid?.() === 0;
const folders: string[] = [];

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

/** A PATH folder holding only the named programs of this machine (linked), readable by any user. */
function pathWith(programs: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-path-'));
  folders.push(dir);
  chmodSync(dir, 0o755);
  for (const program of programs) {
    const found = findOnPath([program]);
    if (!found) throw new Error(`${program} is not on this machine's PATH`);
    symlinkSync(found, path.join(dir, program));
  }
  return dir;
}

/** Runs prepare.js as `npm test` does; `asOtherUser` runs it as nobody when this process is root. */
function runPrepare(env: NodeJS.ProcessEnv, asOtherUser = false) {
  const result = spawnSync(process.execPath, [prepare], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    ...(asOtherUser && root ? { uid: 65534, gid: 65534 } : {}),
  });
  const lines = (text: string) => text.split('\n').filter(Boolean);
  return { status: result.status, out: lines(result.stdout), err: lines(result.stderr) };
}

describe('the editor tests\' prerequisites', () => {
  it('with code-server and Chromium there, installs nothing and says so in one line', () => {
    expect(isCodeServerInstalled(), 'code-server is installed by `npm test` (or `npm run setup:vscode`) before the unit tests').toBe(true);
    const chromium = findChromium(process.env);
    expect(chromium, 'Chromium is installed by `npm test` before the unit tests').toBeDefined();
    expect(planPrerequisites({ chromium: true })).toEqual({ chromium, aptPackages: [], codeServer: false });

    const markerBefore = statSync(marker).mtimeMs;
    const run = runPrepare(process.env);
    expect(run.err).toEqual([]);
    expect(run.out).toEqual([`editor tests: code-server ${codeServerVersion} and ${chromium} are there`]);
    expect(run.status).toBe(0);
    expect(statSync(marker).mtimeMs).toBe(markerBefore);
  });

  it('stops at once when OCR_CHROMIUM names a file that is not there, whoever runs it', () => {
    const run = runPrepare({ ...process.env, OCR_CHROMIUM: '/nonexistent/chromium' });
    expect(run.out).toEqual([]);
    expect(run.err).toEqual([
      'The editor tests need code-server and Chromium: OCR_CHROMIUM is /nonexistent/chromium, which does not exist: point it at a Chromium or Chrome executable, or unset it; then try again.',
    ]);
    expect(run.status).toBe(1);
  });

  it('without Chromium and without apt-get, stops at once and says how to get one', () => {
    const run = runPrepare({ ...process.env, PATH: pathWith([]) });
    expect(run.out).toEqual([]);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toContain('no Chromium is on PATH (chromium, chromium-browser, google-chrome, google-chrome-stable): install Chromium with your package manager, or set OCR_CHROMIUM to its path');
    expect(run.status).toBe(1);
  });

  it('without Chromium on Debian as a user other than root, stops at once with the apt-get command to run', () => {
    const run = runPrepare({ ...process.env, PATH: pathWith(['dpkg-query', 'apt-get']) }, true);
    expect(run.out).toEqual([]);
    expect(run.err).toEqual([
      'The editor tests need code-server and Chromium: the Debian package chromium is missing, and only root may install it: run `sudo apt-get install -y --no-install-recommends chromium`; then try again.',
    ]);
    expect(run.status).toBe(1);
  });

  it('without Chromium on Debian as root, plans to install it with apt-get; npm start does not need it', () => {
    const env = { ...process.env, PATH: pathWith(['dpkg-query', 'apt-get']) };
    const plan = planPrerequisites({ chromium: true }, env);
    expect(plan.aptPackages).toEqual(['chromium']);
    expect(plan.stop).toBe(root ? undefined : 'the Debian package chromium is missing, and only root may install it: run `sudo apt-get install -y --no-install-recommends chromium`');
    expect(planPrerequisites({ chromium: false }, env)).toEqual({ aptPackages: [], codeServer: false });
  });
});
