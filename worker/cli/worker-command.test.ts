import { version as packageVersion } from '../../package.json';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFixture, eventually, makeRepo, sh, tempDir } from '../engine/git.test-support';
import { describeRepo } from '../engine/repo';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
let ocr: string;
const dir = tempDir();
const worktrees = path.join(dir.path, 'worktrees');

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore(db.url);
  ocr = await bundleFixture(path.join(__dirname, 'fixtures', 'ocr-worker.ts'), dir.path);
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

const env = (extra: Record<string, string> = {}) => ({ ...process.env, OCR_DATABASE_URL: db.url, OCR_WORKTREES: worktrees, ...extra });

function run(args: string[], extra: Record<string, string> = {}) {
  return spawnSync(process.execPath, [ocr, ...args], { env: env(extra), encoding: 'utf8', timeout: 60_000 });
}

describe('ocr worker, workers, diff', () => {
  it('`ocr worker --exit-when-idle` serves the queue, exits 0, and `ocr diff` prints a patch git apply accepts', async () => {
    const repo = path.join(dir.path, 'repo');
    sh(dir.path, 'mkdir -p repo');
    makeRepo(repo, { 'a.txt': 'a\n', 'b.txt': 'b\n' });
    const d = await describeRepo(repo);
    const session = await store.createSession({ title: 'cli', repo_id: d.repoId, repo_path: d.repoPath, base_ref: d.baseRef });
    const edit = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo more >> a.txt; rm b.txt; echo c > c.txt' });
    const plain = await store.createRun({ session_id: session.id, lane: 'B', intent: 'echo hello' });

    const worker = run(['worker', '--exit-when-idle', '--concurrency', '2', '--id', 'cli-worker', '--repo', repo]);
    expect(worker.stderr).toContain('nothing left to serve');
    expect(worker.status).toBe(0);
    expect((await store.getRun(edit.id)).status).toBe('succeeded');
    expect((await store.getRun(plain.id)).status).toBe('succeeded');

    const patch = run(['diff', edit.id.slice(0, 8)]);
    expect(patch.status).toBe(0);
    writeFileSync(path.join(dir.path, 'cli.patch'), patch.stdout);
    sh(repo, `git apply --check ${path.join(dir.path, 'cli.patch')}`);
    const stat = run(['diff', edit.id, '--stat']);
    expect(stat.stdout).toMatch(/a\.txt\s+\| 1 \+/);
    expect(stat.stdout).toContain('3 files changed, 2 insertions(+), 1 deletion(-)');

    const workers = JSON.parse(run(['--json', 'workers']).stdout) as Array<{ id: string; state: string; concurrency: number; labels: { repos: string[] } }>;
    expect(workers.find((w) => w.id === 'cli-worker')).toMatchObject({ state: 'stopped', concurrency: 2, labels: { repos: [d.repoId] } });
  });

  it('SIGTERM drains: no new claims, running runs get the grace period, then are canceled; WORKER_ID and CONCURRENCY are honoured, and the worker says its version', async () => {
    const session = await store.createSession({ title: 'drain', lanes: ['A'] });
    const slow = await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 600' });
    const next = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo never' });
    const child = spawn(process.execPath, [ocr, 'worker', '--grace', '1'], { env: env({ WORKER_ID: 'env-worker', CONCURRENCY: '3' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await eventually(async () => (await store.getRun(slow.id)).status === 'running', 'slow run started');
    const live = run(['workers']);
    expect(live.stdout).toMatch(/env-worker\s+running\s+\S+\s+\d+\s+1\/3/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM: no more claims');
    expect(await store.getRun(slow.id)).toMatchObject({ status: 'canceled', claimed_by: 'env-worker' });
    expect((await store.getRun(next.id)).status).toBe('queued');
    expect((await store.listWorkers()).find((w) => w.id === 'env-worker')).toMatchObject({ state: 'stopped', concurrency: 3, version: packageVersion });
  });

  it('bad flags and a run without a diff get a clear error', async () => {
    const bad = run(['worker', '--concurrency', 'lots']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--concurrency "lots": give a whole number from 1 to 256');
    const profiles = run(['worker', '--exit-when-idle'], { OCR_AGENT_PROFILES: '{"mine": ["my-cli"]}' });
    expect(profiles.status).toBe(1);
    expect(profiles.stderr).toContain('OCR_AGENT_PROFILES: mine: an agent profile needs an element with {prompt}');
    const session = await store.createSession({ title: 'no repo', lanes: ['A'] });
    const queued = await store.createRun({ session_id: session.id, lane: 'A', intent: 'true' });
    const none = run(['diff', queued.id]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('has no diff (it is queued; its diff is recorded when it ends)');
  });
});

describe('what a run can see of its worker', () => {
  it("finds no database credential in its environment, nor in any ancestor's environment or command line", async () => {
    const secret = `s3cr3t-${Date.now()}`;
    // the machine's PostgreSQL trusts local connections and ignores the password: it is there to be looked for
    const url = new URL(db.url);
    url.password = secret;
    const session = await store.createSession({ title: 'secrets', lanes: ['A'] });
    // the probe reads what to look for from a file, so that its own command line does not hold it
    const pattern = path.join(dir.path, 'secret.txt');
    writeFileSync(pattern, `${secret}\n`);
    // walks from itself to pid 1 and prints every process whose environment or command line holds the secret
    const probe = [
      'pid=$$; chain=""',
      'while [ -n "$pid" ] && [ "$pid" != 0 ]; do',
      '  chain="$chain $pid"',
      `  if tr '\\0' '\\n' < /proc/$pid/environ 2>/dev/null | grep -qF -f '${pattern}'; then echo "FOUND environ $pid"; fi`,
      `  if tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF -f '${pattern}'; then echo "FOUND cmdline $pid"; fi`,
      '  [ "$pid" = 1 ] && break',
      "  pid=$(awk '{print $4}' /proc/$pid/stat)",
      'done',
      'echo "chain$chain"',
      'env | grep -E "^(OCR_DATABASE_URL|DATABASE_URL|PGPASSWORD|PGUSER)=" || echo "no database variables"',
    ].join('\n');
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: probe });
    const worker = spawnSync(process.execPath, [ocr, 'worker', '--exit-when-idle', '--id', 'secret-holder'], {
      env: env({ OCR_DATABASE_URL: url.toString(), DATABASE_URL: url.toString(), PGPASSWORD: secret, PGUSER: 'postgres' }),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(worker.status, worker.stderr).toBe(0);
    expect((await store.getRun(run.id)).status).toBe('succeeded');
    const lines = (await store.listEvents(run.id)).filter((e) => e.stream === 'stdout').map((e) => e.text);
    expect(lines.filter((l) => l.startsWith('FOUND'))).toEqual([]);
    expect(lines).toContain('no database variables');
    // the chain reached init without passing through the worker
    const chain = lines.find((l) => l.startsWith('chain'))!.split(' ').slice(1).map(Number);
    expect(chain.at(-1)).toBe(1);
    expect(chain).not.toContain(worker.pid);
  });
});
