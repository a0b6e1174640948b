// What a repository's own git config can make OCR run: nothing. Each test gives a real repository a setting that runs
// a command (it touches a marker file) and drives the worker's git calls over it.
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { captureDiff } from './diff';
import { checkArgument, emptyHooksFolder, git, gitCommandLine } from './git';
import { makeRepo, sh, tempDir } from './git.test-support';
import { describeRepo } from './repo';
import { laneBranch, prepareLaneWorkspace } from './worktree';

const dir = tempDir();
afterAll(() => dir.remove());

const restoreEnv: Array<() => void> = [];
afterEach(() => {
  for (const r of restoreEnv.splice(0)) r();
});
function setEnv(name: string, value: string): void {
  const was = process.env[name];
  process.env[name] = value;
  restoreEnv.push(() => (was === undefined ? delete process.env[name] : (process.env[name] = was)));
}

/** A folder for marker files, and the shell command that creates one there. */
function markers(name: string) {
  const folder = path.join(dir.path, `${name}-markers`);
  mkdirSync(folder, { recursive: true });
  return {
    touch: (what: string) => `touch ${path.join(folder, what)}`,
    made: () => readdirSync(folder).sort(),
    clear: () => readdirSync(folder).forEach((f) => rmSync(path.join(folder, f))),
  };
}

/** A repository whose config runs a command from every place git looks for one on the worker's path. */
function hostileRepo(name: string) {
  const repo = path.join(dir.path, name);
  mkdirSync(repo);
  const base = makeRepo(repo, { 'a.txt': 'one\n', '.gitattributes': '*.txt filter=evil\n' });
  const m = markers(name);
  sh(repo, `git config core.fsmonitor '${m.touch('fsmonitor')}; false'`);
  sh(repo, `git config filter.evil.clean '${m.touch('clean')}; cat'`);
  sh(repo, `git config filter.evil.smudge '${m.touch('smudge')}; cat'`);
  for (const hook of ['post-checkout', 'reference-transaction', 'post-index-change']) {
    writeFileSync(path.join(repo, '.git', 'hooks', hook), `#!/bin/sh\n${m.touch(`hook-${hook}`)}\n`);
    chmodSync(path.join(repo, '.git', 'hooks', hook), 0o755);
  }
  // What a plain git does in it: every one of them runs.
  sh(repo, 'git status --porcelain >/dev/null && echo two >> a.txt && git add a.txt && git reset -q --hard');
  expect(m.made()).toEqual(expect.arrayContaining(['clean', 'fsmonitor', 'hook-post-index-change']));
  m.clear();
  return { repo, base, markers: m };
}

describe('git calls', () => {
  it('run no fsmonitor, hook or filter of the repository while a lane is made, changed and its diff taken', async () => {
    const { repo, base, markers: m } = hostileRepo('hostile-lane');
    const session = { id: randomUUID(), base_ref: base, repo_url: null };
    const lane = await prepareLaneWorkspace({ root: path.join(dir.path, 'hostile-lane-worktrees'), session, lane: 'A', repoPath: repo });
    writeFileSync(path.join(lane.folder, 'a.txt'), 'one\nTWO\n');
    writeFileSync(path.join(lane.folder, 'b.txt'), 'new\n');
    const diff = await captureDiff(lane.folder, base, { exclude: lane.git!.copied });
    expect(diff.summary.entries.map((e) => e.path)).toEqual(['a.txt', 'b.txt']);
    await describeRepo(repo);
    expect(m.made()).toEqual([]);
  });

  it('a lane diff sees a change made in the second its worktree index was written, with the same size (git racy-clean entries)', async () => {
    const repo = path.join(dir.path, 'racy-diff');
    mkdirSync(repo);
    const base = makeRepo(repo, { 'a.txt': 'a\n' });
    const lane = await prepareLaneWorkspace({ root: path.join(dir.path, 'racy-diff-worktrees'), session: { id: randomUUID(), base_ref: base, repo_url: null }, lane: 'A', repoPath: repo });
    const [, sec, nsec] = /mtime: (\d+):(\d+)/.exec(sh(lane.folder, 'git ls-files --debug a.txt'))!;
    writeFileSync(path.join(lane.folder, 'a.txt'), 'A\n'); // the same size
    // the file and the index dated as the index entry (the change time not compared: it cannot be set), as if the file
    // had changed in the second the index was written; only the index's own date tells git to look again
    sh(repo, 'git config core.trustctime false');
    const index = sh(lane.folder, 'git rev-parse --path-format=absolute --git-path index').trim();
    sh(lane.folder, `touch -d @${sec}.${nsec!.padStart(9, '0')} a.txt '${index}'`);
    await new Promise((r) => setTimeout(r, 1100)); // a copy of the index dated now would be a second younger than the file
    const diff = await captureDiff(lane.folder, base, { exclude: lane.git!.copied });
    expect(diff.summary.entries).toEqual([expect.objectContaining({ path: 'a.txt', status: 'modified', insertions: 1, deletions: 1 })]);
  });

  it("keep the user's own filters (system, global) working while the repository's are switched off", async () => {
    const repo = path.join(dir.path, 'user-filter');
    mkdirSync(repo);
    const base = makeRepo(repo, { 'a.up': 'one\n', '.gitattributes': '*.up filter=upper\n*.txt filter=evil\n' });
    const m = markers('user-filter');
    const global = path.join(dir.path, 'user-filter.gitconfig');
    writeFileSync(global, '[filter "upper"]\n\tclean = tr a-z A-Z\n');
    setEnv('GIT_CONFIG_GLOBAL', global);
    sh(repo, `git config filter.evil.clean '${m.touch('clean')}; cat'`);
    // The repository may also name the user's driver: its value is not the one that runs.
    sh(repo, `git config filter.upper.clean '${m.touch('upper-from-repo')}; cat'`);
    writeFileSync(path.join(repo, 'b.up'), 'shout\n');
    writeFileSync(path.join(repo, 'c.txt'), 'quiet\n');
    const diff = await captureDiff(repo, base);
    expect(diff.content).toContain('+SHOUT');
    expect(diff.content).toContain('+quiet');
    expect(m.made()).toEqual([]);
  });

  it("fetch with git's own upload-pack, never the remote's from the config, and never an ext:: URL", async () => {
    const origin = path.join(dir.path, 'fetch-origin');
    mkdirSync(origin);
    makeRepo(origin, { 'a.txt': 'one\n' });
    const clone = path.join(dir.path, 'fetch-clone');
    sh(dir.path, `git clone -q ${origin} ${clone}`);
    sh(origin, 'echo later > later.txt && git add later.txt && git commit -q -m later');
    const later = sh(origin, 'git rev-parse HEAD').trim();
    const m = markers('fetch');
    sh(clone, `git config remote.origin.uploadpack '${m.touch('uploadpack')}; git-upload-pack'`);
    sh(clone, `git remote add evil 'ext::sh -c ${m.touch('ext').replace(/ /g, '% ')}' && git config protocol.ext.allow always`);
    const session = { id: randomUUID(), base_ref: later, repo_url: null };
    const lane = await prepareLaneWorkspace({ root: path.join(dir.path, 'fetch-worktrees'), session, lane: 'A', repoPath: clone });
    expect(readFileSync(path.join(lane.folder, 'later.txt'), 'utf8')).toBe('later\n');
    await expect(git(clone, ['fetch', '--quiet', '--end-of-options', 'evil'])).rejects.toMatchObject({ stderr: expect.stringContaining("transport 'ext' not allowed") });
    expect(m.made()).toEqual([]);
  });

  it("ask no credential helper, askpass or ssh command of the repository's", async () => {
    const repo = path.join(dir.path, 'credentials');
    mkdirSync(repo);
    makeRepo(repo, { 'a.txt': 'one\n' });
    const m = markers('credentials');
    writeFileSync(path.join(dir.path, 'askpass'), `#!/bin/sh\n${m.touch('askpass')}\necho secret\n`);
    chmodSync(path.join(dir.path, 'askpass'), 0o755);
    sh(repo, `git config credential.helper '!${m.touch('credential')}; echo password=x' && git config core.askPass ${path.join(dir.path, 'askpass')}`);
    sh(repo, `git config core.sshCommand '${m.touch('ssh')}; false'`);
    await expect(git(repo, ['credential', 'fill'], { input: 'protocol=https\nhost=example.com\n\n' })).rejects.toMatchObject({
      stderr: expect.stringContaining('terminal prompts disabled'),
    });
    await expect(git(repo, ['fetch', '--quiet', '--end-of-options', 'ssh://127.0.0.1:1/x'])).rejects.toThrow();
    expect(m.made()).toEqual([]);
    // The same repository with plain git: each of them runs.
    sh(repo, "printf 'protocol=https\\nhost=example.com\\n\\n' | GIT_TERMINAL_PROMPT=0 git credential fill >/dev/null 2>&1 || true");
    sh(repo, 'git fetch -q ssh://127.0.0.1:1/x >/dev/null 2>&1 || true');
    expect(m.made()).toEqual(['askpass', 'credential', 'ssh']);
  });

  it('name every safety setting on the command line, with an empty hooks folder of their own', async () => {
    const { repo } = hostileRepo('command-line');
    const line = await gitCommandLine(repo, ['diff', '--cached', 'HEAD'], process.env);
    const settings = line.filter((_, i) => line[i - 1] === '-c');
    expect(settings).toEqual(
      expect.arrayContaining([
        'core.fsmonitor=false',
        `core.hooksPath=${emptyHooksFolder()}`,
        'protocol.ext.allow=never',
        'protocol.file.allow=never',
        'credential.helper=',
        'filter.evil.clean=',
        'filter.evil.smudge=',
      ]),
    );
    expect(settings.filter((s) => s.startsWith('filter.'))).toEqual(['filter.evil.clean=', 'filter.evil.smudge=']);
    expect(line.slice(line.indexOf('diff'))).toEqual(['diff', '--no-ext-diff', '--no-textconv', '--cached', 'HEAD']);
    expect(readdirSync(emptyHooksFolder())).toEqual([]);
    const fetch = await gitCommandLine(repo, ['fetch', 'origin'], process.env);
    expect(fetch).toContain('protocol.file.allow=always');
    expect(fetch.slice(fetch.indexOf('fetch'))).toEqual(['fetch', '--upload-pack=git-upload-pack', '--no-recurse-submodules', 'origin']);
    await expect(gitCommandLine(repo, ['--exec-path=/tmp', 'status'], process.env)).rejects.toThrow(/subcommand/);
  });

  it("a hooks folder of the user's, closed to others; one somebody put a file in is not used again", () => {
    const first = emptyHooksFolder();
    expect(path.basename(first)).toBe(`ocr-no-hooks-${process.getuid!()}`);
    expect(statSync(first).mode & 0o777).toBe(0o700);
    // A file no hook is named after, so that git calls of other processes using the folder meanwhile run nothing.
    const intruder = path.join(first, 'not-a-hook');
    writeFileSync(intruder, '');
    try {
      const second = emptyHooksFolder();
      expect(second).not.toBe(first);
      expect(readdirSync(second)).toEqual([]);
    } finally {
      rmSync(intruder);
    }
  });
});

describe('arguments', () => {
  it('refuses a ref or URL git would read as an option, with one line that says what to do', () => {
    expect(() => checkArgument('--upload-pack=touch /tmp/pwned', "the session's base ref", 'start again')).toThrow(
      `the session's base ref "--upload-pack=touch /tmp/pwned" starts with "-", so git would read it as an option`,
    );
    expect(() => checkArgument('-cx=y', 'a ref', 'fix it')).toThrowError(expect.objectContaining({ code: 'invalid_input', hint: 'fix it' }));
    expect(() => checkArgument('main\n--x', 'a ref', 'fix it')).toThrow(/control character/);
    expect(() => checkArgument('', 'a ref', 'fix it')).toThrow(/is empty/);
    expect(checkArgument('ocr/1234/A', 'a ref', 'fix it')).toBe('ocr/1234/A');
  });

  it('a session whose base ref or URL starts with "-" is refused before git runs, and nothing is made', async () => {
    const origin = path.join(dir.path, 'dash-origin');
    mkdirSync(origin);
    makeRepo(origin, { 'a.txt': 'one\n' });
    const clone = path.join(dir.path, 'dash-clone');
    sh(dir.path, `git clone -q ${origin} ${clone}`);
    const m = markers('dash');
    const root = path.join(dir.path, 'dash-worktrees');
    const branchesBefore = sh(clone, 'git branch -a');
    for (const session of [
      { id: randomUUID(), base_ref: `--upload-pack=${m.touch('base-ref')}`, repo_url: null },
      { id: randomUUID(), base_ref: 'f'.repeat(40), repo_url: `--upload-pack=${m.touch('repo-url')}` },
    ]) {
      await expect(prepareLaneWorkspace({ root, session, lane: 'A', repoPath: clone })).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringMatching(/^the session's (base ref|repository URL) "--upload-pack=.*" starts with "-", so git would read it as an option$/),
      });
      expect(sh(clone, `git branch --list '${laneBranch(session.id, 'A')}'`)).toBe('');
    }
    expect(m.made()).toEqual([]);
    expect(existsSync(root)).toBe(false);
    expect(sh(clone, 'git branch -a')).toBe(branchesBefore);
    expect(sh(clone, 'git worktree list').trim().split('\n')).toHaveLength(1);
  });
});
