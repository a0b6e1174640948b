import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { DiffSummary, isFinal, type Run, type RunEvent, type Session } from '../../domain';
import { alive, bundleFixture, eventually, groupMembers, makeRepo, sh, tempDir } from './git.test-support';
import { describeRepo } from './repo';
import { Worker, type WorkerOptions } from './worker';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
const dir = tempDir();
const workers: Worker[] = [];
const children: ChildProcess[] = [];
const worktreeRoot = path.join(dir.path, 'worktrees');

beforeAll(async () => {
  db = await createTestDatabase();
  store = await openStore(db.url);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

async function startWorker(session: Session, options: WorkerOptions = {}): Promise<Worker> {
  const worker = new Worker(store, { worktreeRoot, sessions: [session.id], pollMs: 500, recoverMs: 500, ...options });
  workers.push(worker);
  await worker.start();
  return worker;
}

async function finished(runId: string, limitMs = 30_000): Promise<Run> {
  let run = await store.getRun(runId);
  await eventually(async () => isFinal((run = await store.getRun(runId)).status), `run ${runId} finished`, limitMs);
  return run;
}

async function allEvents(runId: string): Promise<RunEvent[]> {
  const events: RunEvent[] = [];
  for (;;) {
    const batch = await store.listEvents(runId, events.at(-1)?.seq ?? 0, 5000);
    if (batch.length === 0) return events;
    events.push(...batch);
  }
}

async function waitForLine(runId: string, pattern: RegExp): Promise<RegExpMatchArray> {
  let match: RegExpMatchArray | null = null;
  await eventually(async () => {
    for (const e of await allEvents(runId)) if ((match = pattern.exec(e.text))) return true;
    return false;
  }, `a line matching ${pattern}`);
  return match!;
}

const scratchSession = (lanes = ['A', 'B', 'C', 'D']) => store.createSession({ title: 'scratch', lanes });

async function repoSession(name: string): Promise<{ session: Session; repo: string }> {
  const repo = path.join(dir.path, name);
  sh(dir.path, `mkdir -p ${name}`);
  makeRepo(repo, { 'edit.txt': 'one\ntwo\n', 'gone.txt': 'bye\n' });
  const d = await describeRepo(repo);
  const session = await store.createSession({ title: name, repo_id: d.repoId, repo_path: d.repoPath, base_ref: d.baseRef });
  return { session, repo };
}

function pgidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

describe('worker', () => {
  it('runs 4 lanes at once, and the runs of one lane one after another', async () => {
    const session = await scratchSession();
    const runs = await store.createRuns(
      ['A', 'B', 'C', 'D'].flatMap((lane) => [1, 2, 3].map((i) => ({ session_id: session.id, lane, intent: `sleep 0.4; echo ${lane}${i}` }))),
    );
    const worker = await startWorker(session, { concurrency: 4 });
    const idle = worker.whenIdle();
    const done = await Promise.all(runs.map((r) => finished(r.id)));
    await idle;
    expect(done.every((r) => r.status === 'succeeded' && r.exit_code === 0)).toBe(true);
    const time = (t: string | null) => Date.parse(t!);
    for (const lane of ['A', 'B', 'C', 'D']) {
      const inLane = done.filter((r) => r.lane === lane).sort((a, b) => a.seq - b.seq);
      for (let i = 1; i < inLane.length; i++) expect(time(inLane[i]!.started_at)).toBeGreaterThanOrEqual(time(inLane[i - 1]!.finished_at));
    }
    const edges = done.flatMap((r) => [[time(r.started_at), 1] as const, [time(r.finished_at), -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let most = 0;
    for (const [, d] of edges) most = Math.max(most, (now += d));
    expect(most).toBe(4);
    const [row] = (await store.listWorkers()).filter((w) => w.id === worker.id);
    expect(row).toMatchObject({ concurrency: 4, state: 'running' });
  });

  it('runs what is queued while the worker a notification names is gone or busy', async () => {
    // No polling: only queue notifications bring these workers to claim.
    const session = await scratchSession(['A', 'B']);
    // a worker that registered and then died: live for the queue until its heartbeat is a minute old
    await store.registerWorker({ id: `gone-${session.id}`, host: 'nowhere', pid: 1, concurrency: 4, labels: {}, version: 'test' });
    const busy = await startWorker(session, { id: `busy-${session.id}`, concurrency: 1, lanes: ['A'], pollMs: 600_000 });
    const blocker = await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 600' });
    await eventually(async () => (await store.getRun(blocker.id)).status === 'running', 'the busy worker runs its blocker');
    const idle = await startWorker(session, { id: `idle-${session.id}`, concurrency: 1, lanes: ['B'], pollMs: 600_000 });
    // each of these notifications names one of the three at random: the dead one, the busy one, or the idle one
    // (the dead one, for one of them at least, but once in 100 runs of this test)
    for (let i = 0; i < 12; i++) {
      const run = await store.createRun({ session_id: session.id, lane: 'B', intent: `echo ${i}` });
      const done = await finished(run.id);
      expect(done).toMatchObject({ status: 'succeeded', claimed_by: idle.id });
    }
    await store.cancelRun(blocker.id);
    expect((await finished(blocker.id)).claimed_by).toBe(busy.id);
  });

  it('delivers a run\'s output in order and complete, then an exit line', async () => {
    const session = await scratchSession(['A']);
    const run = await store.createRun({
      session_id: session.id,
      lane: 'A',
      intent: 'seq 1 20000; echo to-stderr >&2; head -c 100000 /dev/zero | tr "\\0" x; echo; printf "\\033[32mgreen\\033[0m\\n"; printf "no newline"',
    });
    await startWorker(session);
    expect((await finished(run.id)).status).toBe('succeeded');
    const events = await allEvents(run.id);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const stdout = events.filter((e) => e.stream === 'stdout').map((e) => e.text);
    expect(stdout.slice(0, 20000)).toEqual(Array.from({ length: 20000 }, (_, i) => String(i + 1)));
    expect(stdout.slice(20000, 20002).join('')).toBe('x'.repeat(100000));
    expect(stdout.slice(-2)).toEqual(['\u001b[32mgreen\u001b[0m', 'no newline']);
    expect(events.filter((e) => e.stream === 'stderr').map((e) => e.text)).toEqual(['to-stderr']);
    expect(events.at(-1)).toMatchObject({ stream: 'system', data: { exitCode: 0 } });
    expect(events.at(-1)!.text).toMatch(/^exited 0 in (\d+ ms|\d+\.\d s)$/);
    const env = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo "$OCR_RUN_ID $OCR_SESSION_ID $OCR_LANE $OCR_WORKTREE"' });
    await finished(env.id);
    const line = (await allEvents(env.id)).find((e) => e.stream === 'stdout')!.text;
    expect(line).toBe(`${env.id} ${session.id} A ${path.join(worktreeRoot, session.id.replace(/-/g, '').slice(0, 8), 'A')}`);
  });

  it('cancel of a running sleep 600 ends its whole process tree and the run is canceled', async () => {
    const session = await scratchSession(['A']);
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 600 & echo "child $!"; sleep 600' });
    const worker = await startWorker(session);
    const child = Number((await waitForLine(run.id, /^child (\d+)$/))[1]);
    const group = worker.processGroupOf(run.id)!;
    expect(groupMembers(group).length).toBeGreaterThanOrEqual(3);
    expect((await store.cancelRun(run.id)).outcome).toBe('cancel_requested');
    const done = await finished(run.id);
    expect(done.status).toBe('canceled');
    expect(groupMembers(group)).toEqual([]);
    expect(alive(child)).toBe(false);
    expect((await allEvents(run.id)).at(-1)!.text).toMatch(/^canceled: exited/);
  });

  it('a worker killed with SIGKILL leaves no process behind, and a second worker recovers and completes its run', async () => {
    const session = await scratchSession(['A']);
    const run = await store.createRun({
      session_id: session.id,
      lane: 'A',
      intent: 'if [ "$OCR_ATTEMPT" = 1 ]; then sleep 600 & echo "child $!"; wait; else echo "second attempt"; fi',
    });
    const fixture = await bundleFixture(path.join(__dirname, 'fixtures', 'worker-process.ts'), dir.path);
    const doomed = spawn(process.execPath, [fixture, db.url, JSON.stringify({ id: 'doomed', worktreeRoot, sessions: [session.id], leaseSeconds: 2, recoverMs: 60_000 })], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(doomed);
    const child = Number((await waitForLine(run.id, /^child (\d+)$/))[1]);
    const group = pgidOf(child);
    doomed.kill('SIGKILL');
    await eventually(() => groupMembers(group).length === 0 && !alive(child), 'the run died with its worker');
    const rescuer = await startWorker(session, { id: 'rescuer', leaseSeconds: 2, recoverMs: 200 });
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2, claimed_by: rescuer.id });
    expect((await allEvents(run.id)).map((e) => e.text)).toContain('second attempt');
  });

  it('a run whose first read meets a connection the server ended is not failed: it reads again, then runs', async () => {
    const session = await scratchSession(['A']);
    const first = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo first; sleep 2' });
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo after the blip' });
    await startWorker(session);
    await waitForLine(first.id, /^first$/);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    // While the sessions are locked the second run's read of its session waits; the server then ends that connection,
    // as a restart does, and the read waits again on a new one.
    const reading = async () => {
      await admin.query('select pg_stat_clear_snapshot()'); // a transaction sees one snapshot of the statistics otherwise
      return (await admin.query<{ pid: number }>(
        `select pid from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query like 'select * from ops.sessions where id = %'`)).rows;
    };
    try {
      await admin.query('begin');
      await admin.query('lock table ops.sessions in access exclusive mode');
      await eventually(async () => (await reading()).length > 0, 'the second run reading its session', 10_000);
      const [blocked] = await reading();
      await admin.query('select pg_terminate_backend($1)', [blocked!.pid]);
      await eventually(async () => (await reading()).some((w) => w.pid !== blocked!.pid), 'the run reading its session again', 10_000);
    } finally {
      await admin.query('commit').catch(() => undefined);
      await admin.end();
    }
    expect(await finished(first.id)).toMatchObject({ status: 'succeeded' });
    expect(await finished(run.id)).toMatchObject({ status: 'succeeded', attempt: 1 });
    const lines = (await allEvents(run.id)).map((e) => e.text);
    expect(lines).toContain('after the blip');
    expect(lines).toContain('the database is away (terminating connection due to administrator command); trying again in 100 ms');
  });

  it('a worker whose heartbeat comes too late kills its run at once and writes nothing more for it', async () => {
    const session = await scratchSession(['A']);
    const run = await store.createRun({
      session_id: session.id,
      lane: 'A',
      intent: 'if [ "$OCR_ATTEMPT" = 1 ]; then sleep 600 & echo "child $!"; wait; else echo "second attempt"; fi',
    });
    const late = await startWorker(session, { id: 'late', concurrency: 1, leaseSeconds: 2, heartbeatMs: 3500, recoverMs: 60_000 });
    const child = Number((await waitForLine(run.id, /^child (\d+)$/))[1]);
    const group = late.processGroupOf(run.id)!;
    await eventually(async () => (await store.recoverExpired()).some((r) => r.runId === run.id), 'lease expired and recovered');
    await eventually(() => groupMembers(group).length === 0 && !alive(child), 'the lost run was killed');
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'succeeded', attempt: 2 });
    // Attempt 1 never said how it ended: it was not its worker's to finish any more.
    const texts = (await allEvents(run.id)).map((e) => e.text);
    expect(texts.filter((t) => /^(canceled|exited)/.test(t))).toHaveLength(1);
  });

  it('leaves a diff artifact listing an edited, a new and a deleted file', async () => {
    const { session, repo } = await repoSession('diff-repo');
    const run = await store.createRun({
      session_id: session.id,
      lane: 'B',
      intent: 'echo three >> edit.txt && echo fresh > new.txt && rm gone.txt',
    });
    await startWorker(session);
    expect((await finished(run.id)).status).toBe('succeeded');
    const artifact = await store.getArtifact(run.id, 'diff');
    const summary = DiffSummary.parse(artifact!.meta);
    expect(summary.entries.map((e) => [e.path, e.status])).toEqual([
      ['edit.txt', 'modified'],
      ['gone.txt', 'deleted'],
      ['new.txt', 'added'],
    ]);
    expect(summary).toMatchObject({ files: 3, insertions: 2, deletions: 1 });
    writeFileSync(path.join(dir.path, 'run.patch'), artifact!.content!);
    sh(repo, `git apply --check ${path.join(dir.path, 'run.patch')}`);
    expect(sh(repo, 'git status --porcelain')).toBe('');
  });

  it('runs the setup command once per new worktree, its output in the first run\'s log', async () => {
    const { session } = await repoSession('setup-repo');
    const first = await store.createRun({ session_id: session.id, lane: 'A', intent: 'cat .setup-done' });
    const second = await store.createRun({ session_id: session.id, lane: 'A', intent: 'cat .setup-done' });
    const worker = await startWorker(session, { setupCommand: 'echo setup-ran; echo yes > .setup-done' });
    await worker.whenIdle();
    const texts = async (id: string) => (await allEvents(id)).map((e) => e.text);
    expect(await texts(first.id)).toEqual(expect.arrayContaining(['setup-ran', 'yes']));
    expect(await texts(second.id)).not.toContain('setup-ran');
    expect((await store.getRun(second.id)).status).toBe('succeeded');
  });

  it('serves a session started on another machine only with a clone of its repository, fetching the base commit', async () => {
    const origin = path.join(dir.path, 'origin');
    sh(dir.path, 'mkdir -p origin');
    makeRepo(origin, { 'readme.txt': 'hi\n' });
    const clone = path.join(dir.path, 'clone');
    sh(dir.path, `git clone -q ${origin} ${clone}`);
    sh(origin, 'echo later > later.txt && git add later.txt && git commit -q -m later');
    const d = await describeRepo(origin);
    const session = await store.createSession({ title: 'elsewhere', lanes: ['A'], repo_id: d.repoId, repo_path: '/a/folder/on/another/machine', base_ref: d.baseRef });
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'cat later.txt' });
    const without = await startWorker(session, { id: 'no-clone' });
    await without.whenIdle();
    expect((await store.getRun(run.id)).status).toBe('queued');
    await without.stop({ graceMs: 0 });
    const withClone = await startWorker(session, { id: 'with-clone', repos: [clone] });
    expect(await finished(run.id)).toMatchObject({ status: 'succeeded', claimed_by: withClone.id });
    const texts = (await allEvents(run.id)).map((e) => e.text);
    expect(texts).toContain('later');
    expect(texts.some((t) => t.startsWith('fetching'))).toBe(true);
  });

  it('an agent intent of $(touch pwned) reaches the agent as one argument and creates nothing', async () => {
    const { session, repo } = await repoSession('agent-repo');
    const bin = path.join(dir.path, 'bin');
    sh(dir.path, 'mkdir -p bin');
    writeFileSync(path.join(bin, 'claude'), '#!/bin/sh\nfor a in "$@"; do printf "arg:%s\\n" "$a"; done\n');
    chmodSync(path.join(bin, 'claude'), 0o755);
    const originalPath = process.env.PATH;
    process.env.PATH = `${bin}:${originalPath}`;
    try {
      const run = await store.createRun({ session_id: session.id, lane: 'A', intent: '$(touch pwned)', executor: 'agent' });
      const worker = await startWorker(session);
      const done = await finished(run.id);
      expect(done.status).toBe('succeeded');
      const stdout = (await allEvents(run.id)).filter((e) => e.stream === 'stdout').map((e) => e.text);
      // the built-in claude profile's options, then the intent, whole, after `--`
      expect(stdout.slice(0, 6)).toEqual(['arg:-p', 'arg:--output-format', 'arg:stream-json', 'arg:--verbose', 'arg:--permission-mode', 'arg:acceptEdits']);
      expect(stdout.slice(-2)).toEqual(['arg:--', 'arg:$(touch pwned)']);
      const worktree = path.join(worktreeRoot, session.id.replace(/-/g, '').slice(0, 8), 'A');
      for (const folder of [worktree, repo, process.cwd(), dir.path]) expect(existsSync(path.join(folder, 'pwned'))).toBe(false);
      const [row] = (await store.listWorkers()).filter((w) => w.id === worker.id);
      expect(row!.labels).toMatchObject({ agents: expect.arrayContaining(['claude']), repos: expect.arrayContaining([session.repo_id]) });
    } finally {
      process.env.PATH = originalPath;
    }
  });

  it('an agent whose CLI is missing fails the run with an error naming the CLI and how to configure it', async () => {
    const session = await scratchSession(['A']);
    const run = await store.createRun({
      session_id: session.id,
      lane: 'A',
      intent: 'fix the tests',
      executor: 'agent',
      spec: { profile: 'missing-agent' },
    });
    await startWorker(session, { agents: { 'missing-agent': ['ocr-no-such-agent-cli', '--prompt', '{prompt}'] } });
    const done = await finished(run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toContain('agent CLI "ocr-no-such-agent-cli"');
    expect(done.error).toContain('OCR_AGENT_PROFILES');
    expect((await allEvents(run.id)).some((e) => e.level === 'error' && e.text.includes('ocr-no-such-agent-cli'))).toBe(true);
  });

  it('a run past its timeout fails and says so', async () => {
    const session = await scratchSession(['A']);
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 600', spec: { timeoutSeconds: 0.3 } });
    await startWorker(session, { killGraceMs: 200 });
    const done = await finished(run.id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/^timed out after 300 ms/);
  });

  it('stop lets runs finish within the grace period, then cancels what is left', async () => {
    const session = await scratchSession(['A', 'B']);
    const quick = await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 0.3' });
    const slow = await store.createRun({ session_id: session.id, lane: 'B', intent: 'sleep 600' });
    const worker = await startWorker(session);
    await eventually(() => worker.status().running.length === 2, 'both running');
    await worker.stop({ graceMs: 1500 });
    expect((await store.getRun(quick.id)).status).toBe('succeeded');
    const canceled = await store.getRun(slow.id);
    expect(canceled.status).toBe('canceled');
    expect(canceled.error).toContain('stopped before the run finished');
    expect((await store.listWorkers()).find((w) => w.id === worker.id)?.state).toBe('stopped');
  });
});

describe('what a run may choose, and what it cannot leave behind', () => {
  it('ignores a cancel notification the database does not confirm, and obeys one it does', async () => {
    const session = await scratchSession(['A']);
    const worker = await startWorker(session, { concurrency: 1 });
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo started; sleep 30' });
    await waitForLine(run.id, /^started$/);
    // anyone connected may send a notification: a forged one names the run and its worker
    const forger = new pg.Client({ connectionString: db.url });
    await forger.connect();
    await forger.query(`select pg_notify('ops_cancel', $1)`, [JSON.stringify({ run_id: run.id, worker_id: worker.id })]);
    await forger.end();
    await new Promise((r) => setTimeout(r, 700));
    expect((await store.getRun(run.id)).status).toBe('running');
    await store.cancelRun(run.id);
    expect((await finished(run.id)).status).toBe('canceled');
  });

  it("refuses a shell and an environment the worker does not allow, naming them", async () => {
    const session = await scratchSession(['A', 'B', 'C']);
    await startWorker(session, { concurrency: 3, allowEnv: ['CI', 'MY_FLAG'] });
    const shell = await store.createRun({ session_id: session.id, lane: 'A', intent: 'print("hi")', spec: { shell: '/usr/bin/python3' } });
    const preload = await store.createRun({ session_id: session.id, lane: 'B', intent: 'echo hi', spec: { env: { LD_PRELOAD: '/tmp/evil.so' } } });
    const allowed = await store.createRun({ session_id: session.id, lane: 'C', intent: 'echo "flag=$MY_FLAG"', spec: { env: { MY_FLAG: 'on' } } });
    expect(await finished(shell.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('spec.shell: this worker does not run "/usr/bin/python3"') });
    expect(await finished(preload.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('spec.env.LD_PRELOAD') });
    expect((await finished(allowed.id)).status).toBe('succeeded');
    await waitForLine(allowed.id, /^flag=on$/);
  });

  it('an agent profile named like a property of every object is an unknown profile, not a crash', async () => {
    const session = await scratchSession(['A']);
    await startWorker(session);
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'fix it', executor: 'agent', spec: { profile: 'constructor' } });
    expect(await finished(run.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('spec.profile: no agent profile named "constructor"') });
  });

  it('kills a process that left the run\'s process group when the run ends', async () => {
    const session = await scratchSession(['A']);
    await startWorker(session);
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'setsid sleep 600 < /dev/null > /dev/null 2>&1 & echo "escaped $!"' });
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    const [, pid] = await waitForLine(run.id, /^escaped (\d+)$/);
    await eventually(() => !alive(Number(pid)), 'the escaped process is gone');
    await waitForLine(run.id, /stopped the processes the run left running/);
  });
});
