// The Runboard's host against the protocol, without VS Code: a real RunboardHost on a real SessionsModel on a real
// PostgresStore (a database of its own), and a stand-in for the page that checks every message it is posted the way the
// page does (parseHostMessage) and refuses what fails. No worker runs: the test moves runs through the queue's own
// functions (claim, heartbeat, append, put the diff, finish; plan and move a runbook run's steps, park it at a gate), as a
// worker would. What needs the editor (its commands, the palette's active session, the diff editor, the save dialog) is
// tested in test/e2e/vscode/runboard.test.ts and the UI tests.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DiffSummary, type Run, type RunStep, type Session } from '../../domain';
import { parseRunbook } from '../../worker/runbooks/files';
import { compareGroup } from '../../worker/lanes/compare';
import { queueLaneRun } from '../../worker/runs/queue-lane-run';
import { queueRunbookRun } from '../../worker/runs/queue-runbook-run';
import { PostgresStore } from '../../worker/store/postgres';
import type { Lease } from '../../worker/store/types';
import { createTestDatabase } from '../../worker/store/testing';
import { protocolVersion, type ResponseMessage } from '../../webview/protocol';
import type { Log } from '../log';
import { Emitter, SessionsModel } from '../sessions/sessions-model';
import { toFile, writeLogExport } from './log-export';
import { RecordingPage as Page } from './recording-page.test-support';
import { RunboardHost, type RunboardDeps } from './runboard-host';

const refreshMs = 150;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}


describe('the Runboard host', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: PostgresStore;
  let model: SessionsModel;
  let deps: RunboardDeps;
  const storeSwitched = new Emitter<unknown>();
  const activeChanged = new Emitter<string | undefined>();
  const warnings: string[] = [];
  const asked: string[] = [];
  let madeActive: string | undefined;
  let copyGate: Promise<void> | undefined;
  /** what the person answers when asked why they reject; undefined: they backed out */
  let rejectReason: string | undefined;
  const exportDir = mkdtempSync(path.join(os.tmpdir(), 'ocr-runboard-export-'));
  const hosts: Array<{ host: RunboardHost; page: Page }> = [];
  let nextId = 1;
  const worker = 'hand-worker';

  const log: Log = {
    info: () => undefined,
    warn: (m) => void warnings.push(m),
    error: (m, e) => void warnings.push(`${m}: ${(e as Error | undefined)?.message ?? ''}`),
  };

  beforeAll(async () => {
    db = await createTestDatabase('ocr_runboard');
    store = new PostgresStore({ url: db.url });
    await store.migrate();
    await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 4, labels: {} });
    model = new SessionsModel({ store: async () => store, onDidChange: storeSwitched.event }, log, { heartbeatRefreshMs: refreshMs });
    const setActiveSession = async (id: string) => {
      madeActive = id;
      activeChanged.fire(id);
    };
    deps = {
      store: async () => store,
      model,
      setActiveSession,
      onDidChangeActiveSession: activeChanged.event,
      executors: () => [{ id: 'shell', label: 'Shell', run_with: { executor: 'shell' } }],
      actions: {
        // what "New Session" does, less the repository of the workspace
        startSession: async ({ title, intent }) => {
          const session = await store.createSession({ title, intent });
          await setActiveSession(session.id);
          return session.id;
        },
        queueLaneRun: async (request) => (await queueLaneRun(store, request)).id,
        cancelRun: async (runId) => (await store.cancelRun(runId)).outcome,
        retryRun: async (runId) => (await store.retryRun(runId)).id,
        // the editor's own: its diff editor, its documents, its clipboard
        openDiff: async (runId, file) => void asked.push(file === undefined ? `openDiff ${runId}` : `openDiff ${runId} ${file}`),
        applyDiff: async (runId) => (asked.push(`applyDiff ${runId}`), { outcome: 'declined' }),
        openLog: async (runId) => void asked.push(`openLog ${runId}`),
        copyText: async (text) => {
          await copyGate;
          asked.push(`copyText ${text}`);
        },
        // the save dialog answers a file in a scratch folder
        exportLog: async ({ runId, format, step }) => {
          const name = `${runId}-${step ?? 'all'}.${format}`;
          const lines = await toFile(path.join(exportDir, name), (sink) => writeLogExport(store, runId, format, step, sink));
          return { saved: true, lines, name };
        },
        openArtifact: async (runId, artifactId) => void asked.push(`openArtifact ${runId} ${artifactId}`),
        approveRun: async (runId) => void (await store.approveRun(runId)),
        rejectRun: async (runId) => {
          if (rejectReason === undefined) return false;
          await store.rejectRun(runId, rejectReason);
          return true;
        },
        runRunbook: async (sessionId, lane) => void asked.push(`runRunbook ${sessionId} ${lane}`),
        landLane: async (sessionId, lane) => (asked.push(`landLane ${sessionId} ${lane}`), true),
        resetLane: async (sessionId, lane) => (asked.push(`resetLane ${sessionId} ${lane}`), false),
        compare: (groupId) => compareGroup(store, groupId),
        compareInLanes: async (sessionId) => (asked.push(`compareInLanes ${sessionId}`), null),
        pickAttempt: async (runId) => (asked.push(`pickAttempt ${runId}`), { picked: false, message: null }),
      },
      log,
      showError: (m) => void warnings.push(m),
      stepsRefreshMs: refreshMs,
    };
  });

  afterEach(() => {
    for (const { host, page } of hosts.splice(0)) {
      host.dispose();
      expect(page.refused, 'every message the host posted is one the page reads').toEqual([]);
    }
  });

  afterAll(async () => {
    model?.dispose();
    await store?.close();
    await db?.drop();
    rmSync(exportDir, { recursive: true, force: true });
  });

  function open(openedFor?: string): { host: RunboardHost; page: Page } {
    const page = new Page();
    const host = new RunboardHost(deps, page, openedFor);
    hosts.push({ host, page });
    return { host, page };
  }

  const ready = (host: RunboardHost, sessionId: string | null) =>
    host.receive({ kind: 'notify', method: 'ready', params: { protocol: protocolVersion, session_id: sessionId } });

  function send(host: RunboardHost, method: string, params: unknown): number {
    const id = nextId++;
    host.receive({ kind: 'request', id, method, params });
    return id;
  }

  async function request(host: RunboardHost, page: Page, method: string, params: unknown): Promise<ResponseMessage> {
    const id = send(host, method, params);
    return until(`the answer to ${method}`, () => page.response(id));
  }

  const snapshotAt = (page: Page, index: number) => until(`snapshot ${index + 1}`, () => page.snapshots[index]);
  const newSession = (title: string): Promise<Session> => store.createSession({ title, lanes: ['A', 'B'] });
  const queue = async (sessionId: string, lane = 'A', intent = 'echo hi') => queueLaneRun(store, { session_id: sessionId, lane, intent });

  /** Claims the session's next run as a worker would. */
  async function claim(sessionId: string): Promise<Run> {
    const [run] = await store.claimRuns(worker, 1, { sessions: [sessionId] });
    if (!run) throw new Error('nothing to claim');
    return run;
  }

  const leaseOf = (run: Run): Lease => ({ runId: run.id, workerId: worker, attempt: run.attempt });
  const finish = (run: Run, status: 'succeeded' | 'failed' | 'canceled') =>
    store.finishAndClaim(worker, [{ runId: run.id, attempt: run.attempt, status, exitCode: status === 'succeeded' ? 0 : 1 }], 0);

  /** Queues a run of a small runbook: two shell steps around an approval gate. */
  async function queueRunbook(sessionId: string, lane = 'A'): Promise<Run> {
    const text = `name: ship
title: Ship
steps:
  - id: build
    run: echo built
  - id: gate
    approval: { message: "Ship it?" }
  - id: deploy
    title: Deploy
    run: echo deployed
`;
    const file = parseRunbook(text, '/repo/.ocr/runbooks/ship.yaml');
    if ('problems' in file) throw new Error(file.problems.map((p) => p.message).join('; '));
    return queueRunbookRun(store, file, { session_id: sessionId, lane }, () => {
      throw new Error('this runbook has no secret inputs');
    });
  }

  const plan = [
    { step_id: 'build', title: 'build', kind: 'shell' as const },
    { step_id: 'gate', title: 'gate', kind: 'approval' as const },
    { step_id: 'deploy', title: 'Deploy', kind: 'shell' as const },
  ];
  const statuses = (steps: readonly RunStep[] | undefined) => steps?.map((s) => `${s.step_id}:${s.status}`).join(' ');
  /** The steps of the run as the page was last posted them. */
  const postedSteps = (page: Page, runId: string): RunStep[] | undefined =>
    page.messages.reduce<RunStep[] | undefined>((last, m) => {
      if (m.kind !== 'notify') return last;
      if (m.method === 'snapshot') return m.params.steps.filter((s) => s.run_id === runId);
      if (m.method === 'steps' && m.params.run_id === runId) return m.params.steps;
      return last;
    }, undefined);

  it('posts nothing before the page is ready, then a snapshot of the session it was opened for, with every session listed', async () => {
    const one = await newSession('one');
    const archived = await newSession('archived');
    await store.archiveSession(archived.id);
    const two = await newSession('two');
    const { host, page } = open();
    host.show(one.id); // what the panel does when it is opened for a session
    await sleep(300);
    expect(page.messages, 'a page that is still loading would drop it').toEqual([]);

    ready(host, null);
    const snapshot = await snapshotAt(page, 0);
    expect(snapshot.session?.id).toBe(one.id);
    const listed = new Map(snapshot.sessions.map((s) => [s.id, s.status]));
    expect(listed.get(archived.id), 'archived sessions are listed too: the page filters them').toBe('archived');
    expect(listed.get(two.id)).toBe('active');
    expect(snapshot.executors.map((e) => e.id)).toEqual(['shell']);
    expect(Math.abs(Date.parse(snapshot.now) - Date.now())).toBeLessThan(60_000);

    const fresh = open();
    ready(fresh.host, null);
    expect((await snapshotAt(fresh.page, 0)).session?.id, 'without a session named or opened for, the newest active one').toBe(two.id);
  });

  it('shows the session named in `ready` if it exists, else the one the panel was opened for', async () => {
    const one = await newSession('opened for');
    const archived = await newSession('named, archived');
    await store.archiveSession(archived.id);
    const { host, page } = open(one.id);
    ready(host, '00000000-0000-4000-8000-000000000000');
    expect((await snapshotAt(page, 0)).session?.id).toBe(one.id);
    ready(host, archived.id);
    const named = await snapshotAt(page, 1);
    expect(named.session).toMatchObject({ id: archived.id, status: 'archived' });
  });

  it('switches on the page\'s request: answers first, then the snapshot, and makes the session the active one', async () => {
    const one = await newSession('switch from');
    const two = await newSession('switch to');
    await queue(two.id, 'B', 'echo in two');
    const { host, page } = open(one.id);
    ready(host, null);
    await snapshotAt(page, 0);

    const answer = await request(host, page, 'selectSession', { session_id: two.id });
    expect(answer.ok).toBe(true);
    const snapshot = await snapshotAt(page, 1);
    expect(snapshot.session?.id).toBe(two.id);
    expect(snapshot.runs.map((r) => r.intent)).toEqual(['echo in two']);
    expect(page.order().indexOf(`response ${answer.id}`)).toBeLessThan(page.order().lastIndexOf('snapshot'));
    expect(madeActive).toBe(two.id);
    await sleep(300);
    expect(page.snapshots, 'the active-session event of its own switch shows nothing twice').toHaveLength(2);

    const created = await request(host, page, 'createSession', { title: 'made on the board', intent: 'a new one' });
    const id = (created as { result: { session_id: string } }).result.session_id;
    const shown = await until('the new session shown', () => page.snapshots.find((s) => s.session?.id === id));
    expect(shown.sessions.some((s) => s.id === id)).toBe(true);
    const shownAt = page.messages.findIndex((m) => m.kind === 'notify' && m.method === 'snapshot' && m.params.session?.id === id);
    expect(page.messages.indexOf(page.response(created.id)!), 'answered before its snapshot').toBeLessThan(shownAt);
    expect(madeActive).toBe(id);
  });

  it('follows the active session: another one switches the board, the one it shows changes nothing', async () => {
    const one = await newSession('active one');
    const two = await newSession('active two');
    const { host, page } = open(one.id);
    ready(host, null);
    await snapshotAt(page, 0);
    activeChanged.fire(two.id);
    expect((await snapshotAt(page, 1)).session?.id).toBe(two.id);
    activeChanged.fire(two.id);
    host.show(two.id);
    await sleep(300);
    expect(page.snapshots).toHaveLength(2);
  });

  it('posts a run as it is queued, claimed and finished, then its diff summary, never the patch', async () => {
    const session = await newSession('diffs');
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    const answer = await request(host, page, 'run', { session_id: session.id, lane: 'A', intent: 'edit made.txt', run_with: { executor: 'shell' }, priority: 100 });
    expect(answer.ok, JSON.stringify(answer)).toBe(true);
    const runId = (answer as { result: { run_id: string } }).result.run_id;
    await until('the queued run', () => page.runSeen(runId).some((r) => r.status === 'queued'));

    const run = await claim(session.id);
    expect(run.id).toBe(runId);
    await until('the running run', () => page.runSeen(runId).some((r) => r.status === 'running'));
    const summary: DiffSummary = {
      base: 'abc123',
      files: 1,
      insertions: 1,
      deletions: 0,
      binaryFiles: 0,
      entries: [{ path: 'made.txt', status: 'added', insertions: 1, deletions: 0, binary: false }],
      encoding: 'utf8',
      omitted: false,
    };
    const patch = 'diff --git a/made.txt b/made.txt\nnew file mode 100644\n--- /dev/null\n+++ b/made.txt\n@@ -0,0 +1 @@\n+x\n';
    await store.putArtifact(leaseOf(run), { kind: 'diff', name: 'lane.diff', mime: 'text/x-diff', content: patch, meta: summary });
    await finish(run, 'succeeded');
    await until('the succeeded run', () => page.runSeen(runId).some((r) => r.status === 'succeeded'));
    const { diff } = await until('its diff summary', () => page.notifications('diff').find((d) => d.diff.run_id === runId));
    expect(diff).toMatchObject({ files: 1, insertions: 1, base: 'abc123', omitted: false });
    expect(diff.entries.map((e) => `${e.status} ${e.path}`)).toEqual(['added made.txt']);
    expect(JSON.stringify(page.messages)).not.toContain('+++ b/made.txt');
    expect(page.runSeen(runId).every((r) => r.session_id === session.id)).toBe(true);

    // The next page's snapshot carries it too.
    ready(host, session.id);
    const again = await snapshotAt(page, 1);
    expect(again.diffs.map((d) => d.run_id)).toContain(runId);
    expect(again.runs.find((r) => r.id === runId)?.status).toBe('succeeded');
  });

  it('keeps a running run\'s heartbeat fresh while the page is in view, reads none while it is hidden, and sends a snapshot when it is back', async () => {
    const session = await newSession('heartbeats');
    await queue(session.id, 'A', 'sleep 120');
    const run = await claim(session.id);
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    await until('the run running on the page', () => page.runSeen(run.id).some((r) => r.status === 'running'));

    const beats = () => new Set(page.runSeen(run.id).filter((r) => r.status === 'running').map((r) => r.heartbeat_at));
    await sleep(10);
    await store.heartbeat(worker, [run.id]);
    await until('a heartbeat on the page', () => beats().size >= 2);
    await sleep(10);
    await store.heartbeat(worker, [run.id]);
    await until('another heartbeat on the page', () => beats().size >= 3);

    page.visible = false;
    host.visibilityChanged();
    const posted = page.messages.length;
    let modelChanges = 0;
    const counting = model.onDidChange(() => modelChanges++);
    await store.heartbeat(worker, [run.id]);
    await sleep(refreshMs * 4);
    counting.dispose();
    expect(page.messages.length, 'a hidden page is posted nothing').toBe(posted);
    expect(modelChanges, 'nobody reads heartbeats for a hidden page').toBe(0);

    const latest = (await store.getRun(run.id)).heartbeat_at;
    page.visible = true;
    host.visibilityChanged();
    const back = await snapshotAt(page, 1);
    expect(back.runs.find((r) => r.id === run.id)?.heartbeat_at, 'a page shown again gets what it missed').toBe(latest);
    await finish(run, 'canceled');
  });

  it('keeps showing an archived session live: its row, its runs\' heartbeats and their end', async () => {
    const session = await newSession('archived while shown');
    await queue(session.id, 'A', 'sleep 60');
    const run = await claim(session.id);
    const { host, page } = open();
    ready(host, session.id);
    expect((await snapshotAt(page, 0)).session?.id).toBe(session.id);

    await store.archiveSession(session.id);
    await until('the archived session row', () => page.notifications('session').some((n) => n.session.id === session.id && n.session.status === 'archived'));
    await until('the sessions list with it archived', () => page.notifications('sessions').some((n) => n.sessions.some((s) => s.id === session.id && s.status === 'archived')));
    await until('the run asked to stop', () => page.runSeen(run.id).some((r) => r.cancel_requested_at !== null));
    const beats = page.runSeen(run.id).length;
    await store.heartbeat(worker, [run.id]);
    await until('its heartbeat', () => page.runSeen(run.id).length > beats);
    await finish(run, 'canceled');
    await until('its end', () => page.runSeen(run.id).some((r) => r.status === 'canceled'));

    // Picked on the board, an archived session is shown, and the editor's active session stays as it was.
    const other = await newSession('elsewhere');
    await request(host, page, 'selectSession', { session_id: other.id });
    await until('the other session', () => page.snapshots.at(-1)?.session?.id === other.id);
    const active = madeActive;
    await request(host, page, 'selectSession', { session_id: session.id });
    const shown = await until('the archived session again', () => page.snapshots.find((s, i) => i > 0 && s.session?.id === session.id));
    expect(shown.runs.find((r) => r.id === run.id)?.status).toBe('canceled');
    expect(madeActive).toBe(active);
  });

  it('streams a run\'s log from after the line the page has, then says it ended', async () => {
    const session = await newSession('logs');
    await queue(session.id);
    const run = await claim(session.id);
    await store.appendEvents(leaseOf(run), ['one', 'two', 'three'].map((text) => ({ stream: 'stdout' as const, text })));
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    host.receive({ kind: 'notify', method: 'followLog', params: { run_id: run.id, after_seq: 1 } });
    await until('the lines after the first', () => page.notifications('log').flatMap((b) => b.text).length === 2);
    expect(page.notifications('log')[0]).toMatchObject({ run_id: run.id, first_seq: 2, text: ['two', 'three'], stream: 'oo' });
    await store.appendEvents(leaseOf(run), [{ stream: 'stderr', text: 'four', level: 'error' }]);
    await finish(run, 'failed');
    await until('the end of the log', () => page.notifications('logEnd').some((e) => e.run_id === run.id));
    expect(page.notifications('log').flatMap((b) => b.text)).toEqual(['two', 'three', 'four']);
    expect(page.notifications('log').at(-1)).toMatchObject({ first_seq: 4, stream: 'e', level: 'e' });
  });

  it('follows the log of a run the page queued from its answer on, without being asked', async () => {
    const session = await newSession('queued from the page');
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    const answer = await request(host, page, 'run', { session_id: session.id, lane: 'A', intent: 'echo first', run_with: { executor: 'shell' }, priority: 100 });
    const runId = (answer as { result: { run_id: string } }).result.run_id;
    const run = await claim(session.id);
    expect(run.id).toBe(runId);
    await store.appendEvents(leaseOf(run), [{ stream: 'stdout', text: 'first line' }]);
    // this page never says followLog
    await until('the first line', () => page.notifications('log').some((b) => b.run_id === runId && b.text.includes('first line')));
    await finish(run, 'succeeded');
    await until('the end of its log', () => page.notifications('logEnd').some((e) => e.run_id === runId));
    expect(page.notifications('log').flatMap((b) => b.text)).toEqual(['first line']);
  });

  it('posts a runbook run\'s steps as they move, a run parked at its gate, and the artifacts it left, without their content', async () => {
    const session = await newSession('runbook steps');
    const queued = await queueRunbook(session.id);
    const { host, page } = open(session.id);
    ready(host, null);
    const first = await snapshotAt(page, 0);
    expect(first.steps, 'a run no worker has taken has no steps yet').toEqual([]);

    const run = await claim(session.id);
    expect(run.id).toBe(queued.id);
    const [build, gate] = await store.planSteps(leaseOf(run), plan);
    await until('the planned steps', () => statuses(postedSteps(page, run.id)) === 'build:queued gate:queued deploy:queued');
    await store.moveStep(leaseOf(run), build!.idx, 'running');
    // a step moves without changing its run's row: the host reads the steps again while the run is running
    await until('build running', () => statuses(postedSteps(page, run.id))?.startsWith('build:running'));
    await store.appendEvents(leaseOf(run), [
      { stream: 'system', text: 'runbook ship v1: 3 step(s)', data: { runbook: 'ship', version: 1 } },
      { stream: 'system', text: 'step build: build', step: 'build', data: { tries: 1 } },
      { stream: 'stdout', text: 'built', step: 'build' },
      { stream: 'system', text: 'step build: succeeded in 10 ms', level: 'success' },
    ]);
    await store.moveStep(leaseOf(run), build!.idx, 'succeeded', { exitCode: 0 });
    await store.appendEvents(leaseOf(run), [{ stream: 'system', text: 'step gate: waiting for approval — Ship it?', level: 'warn' }]);
    await store.parkRun(leaseOf(run), gate!.idx, { message: 'Ship it?' });
    await until('the run waiting', () => page.runSeen(run.id).some((r) => r.status === 'waiting' && r.approval?.message === 'Ship it?'));
    await until('the gate waiting', () => statuses(postedSteps(page, run.id)) === 'build:succeeded gate:waiting deploy:queued');
    expect(postedSteps(page, run.id)?.[0]).toMatchObject({ tries: 1, exit_code: 0, started_at: expect.any(String), finished_at: expect.any(String) });

    // its log: each line with its step (a line of the worker's own about a step counts as the step's), data only where there is some
    host.receive({ kind: 'notify', method: 'followLog', params: { run_id: run.id, after_seq: 0 } });
    await until('its log', () => page.notifications('log').flatMap((b) => b.text).length === 5);
    const [batch] = page.notifications('log');
    expect(batch).toMatchObject({ first_seq: 1, level: 'iiikw', steps: [[1, null], [3, 'build'], [1, 'gate']], data: [[0, { runbook: 'ship', version: 1 }], [1, { tries: 1 }]] });
    host.receive({ kind: 'notify', method: 'unfollowLog', params: { run_id: run.id } });

    // approved, it is queued again, then runs to its end
    const approved = await request(host, page, 'approveRun', { run_id: run.id });
    expect(approved).toMatchObject({ ok: true, result: {} });
    await until('the run queued again', () => page.runSeen(run.id).some((r) => r.status === 'queued' && r.approval?.decision === 'approved'));
    const resumed = await claim(session.id);
    await store.moveStep(leaseOf(resumed), 2, 'running');
    await until('deploy running', () => statuses(postedSteps(page, run.id)) === 'build:succeeded gate:succeeded deploy:running');
    await store.moveStep(leaseOf(resumed), 2, 'succeeded', { exitCode: 0 });
    await store.putArtifact(leaseOf(resumed), { kind: 'file', name: 'report.txt', content: 'all good\n', meta: { encoding: 'utf8', size: 9 } });
    await store.putArtifact(leaseOf(resumed), { kind: 'link', name: 'Release', mime: 'text/uri-list', content: 'https://example.com/r/1', meta: { url: 'https://example.com/r/1' } });
    await store.putArtifact(leaseOf(resumed), { kind: 'manifest', name: 'manifest.json', mime: 'application/json', content: '{"steps": []}' });
    await finish(resumed, 'succeeded');
    await until('every step succeeded', () => statuses(postedSteps(page, run.id)) === 'build:succeeded gate:succeeded deploy:succeeded');
    const { artifacts } = await until('its artifacts', () => page.notifications('artifacts').find((a) => a.run_id === run.id));
    expect(artifacts.map((a) => [a.kind, a.name, a.size]).sort()).toEqual([
      ['file', 'report.txt', 9],
      ['link', 'Release', 23],
      ['manifest', 'manifest.json', 13],
    ]);
    expect(JSON.stringify(page.messages)).not.toContain('all good');

    // no more reads once the run has finished; the next page's snapshot carries the steps and artifacts
    const posted = page.notifications('steps').length;
    await sleep(refreshMs * 4);
    expect(page.notifications('steps').length).toBe(posted);
    ready(host, session.id);
    const again = await snapshotAt(page, 1);
    expect(statuses(again.steps.filter((s) => s.run_id === run.id))).toBe('build:succeeded gate:succeeded deploy:succeeded');
    expect(again.artifacts.map((a) => a.name).sort()).toEqual(['Release', 'manifest.json', 'report.txt']);

    const opened = await request(host, page, 'openArtifact', { run_id: run.id, artifact_id: artifacts.find((a) => a.kind === 'link')!.artifact_id });
    expect(opened.ok).toBe(true);
    expect(asked).toContain(`openArtifact ${run.id} ${artifacts.find((a) => a.kind === 'link')!.artifact_id}`);
  });

  it('rejects a waiting run with the reason the person gives, and does nothing when they back out', async () => {
    const session = await newSession('runbook reject');
    await queueRunbook(session.id);
    const run = await claim(session.id);
    const [, gate] = await store.planSteps(leaseOf(run), plan);
    await store.moveStep(leaseOf(run), 0, 'running');
    await store.moveStep(leaseOf(run), 0, 'succeeded');
    await store.parkRun(leaseOf(run), gate!.idx, { message: 'Ship it?' });
    const { host, page } = open(session.id);
    ready(host, null);
    expect(statuses((await snapshotAt(page, 0)).steps)).toBe('build:succeeded gate:waiting deploy:queued');

    rejectReason = undefined;
    expect(await request(host, page, 'rejectRun', { run_id: run.id })).toMatchObject({ ok: true, result: { rejected: false } });
    expect((await store.getRun(run.id)).status).toBe('waiting');
    rejectReason = 'not during the freeze';
    expect(await request(host, page, 'rejectRun', { run_id: run.id })).toMatchObject({ ok: true, result: { rejected: true } });
    await until('the run canceled', () => page.runSeen(run.id).some((r) => r.status === 'canceled' && r.error === 'rejected: not during the freeze'));
    await until('its steps canceled', () => statuses(postedSteps(page, run.id)) === 'build:succeeded gate:canceled deploy:skipped');
    // a run decided already cannot be approved: the page hears why
    const late = await request(host, page, 'approveRun', { run_id: run.id });
    expect(late).toMatchObject({ ok: false, error: { code: 'invalid_state', message: expect.stringContaining('not waiting') } });
  });

  it('exports a run\'s whole log as text or JSON, all of it or one step\'s lines, and passes Run Runbook on with the lane', async () => {
    const session = await newSession('runbook export');
    await queueRunbook(session.id);
    const run = await claim(session.id);
    await store.appendEvents(leaseOf(run), [
      { stream: 'system', text: 'runbook ship v1: 3 step(s)', data: { runbook: 'ship' } },
      { stream: 'system', text: 'step build: build', step: 'build' },
      { stream: 'stdout', text: 'built', step: 'build' },
      { stream: 'stderr', text: 'a warning', step: 'build', level: 'warn' },
      { stream: 'system', text: 'step build: succeeded in 10 ms', level: 'success' },
      { stream: 'stdout', text: 'deployed', step: 'deploy' },
    ]);
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);

    const all = await request(host, page, 'exportLog', { run_id: run.id, format: 'text', step: null });
    expect(all).toMatchObject({ ok: true, result: { saved: true, lines: 6 } });
    const text = readFileSync(path.join(exportDir, (all as { result: { name: string } }).result.name), 'utf8');
    expect(text.split('\n').slice(1)).toEqual(['── runbook ship v1: 3 step(s)', '── step build: build', 'built', 'a warning', '── step build: succeeded in 10 ms', 'deployed', '']);

    const step = await request(host, page, 'exportLog', { run_id: run.id, format: 'json', step: 'build' });
    expect(step).toMatchObject({ ok: true, result: { saved: true, lines: 4 } });
    const json = JSON.parse(readFileSync(path.join(exportDir, (step as { result: { name: string } }).result.name), 'utf8'));
    expect(json).toMatchObject({ run: { id: run.id, lane: 'A', executor: 'runbook' }, step: 'build' });
    expect(json.events.map((e: { text: string; step: string; level: string }) => [e.step, e.level, e.text])).toEqual([
      ['build', 'info', 'step build: build'],
      ['build', 'info', 'built'],
      ['build', 'warn', 'a warning'],
      ['build', 'success', 'step build: succeeded in 10 ms'],
    ]);

    const runbook = await request(host, page, 'runRunbook', { session_id: session.id, lane: 'B' });
    expect(runbook.ok).toBe(true);
    expect(asked).toContain(`runRunbook ${session.id} B`);
    const badLane = await request(host, page, 'runRunbook', { session_id: session.id, lane: 'no lane!' });
    expect(badLane).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/lane/) } });
    // the lane menu's Land Lane… and Reset Lane: the commands on that lane, answered with whether they happened
    expect(await request(host, page, 'landLane', { session_id: session.id, lane: 'B' })).toMatchObject({ ok: true, result: { landed: true } });
    expect(await request(host, page, 'resetLane', { session_id: session.id, lane: 'A' })).toMatchObject({ ok: true, result: { reset: false } });
    expect(asked).toEqual(expect.arrayContaining([`landLane ${session.id} B`, `resetLane ${session.id} A`]));
    expect(await request(host, page, 'landLane', { session_id: session.id, lane: '../B' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    await finish(run, 'canceled');
  });

  it('opens the diff of a run, or of the one file an agent\'s edit names, and refuses an empty path', async () => {
    const session = await newSession('agent diff');
    const run = await queueRunbook(session.id);
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    expect(await request(host, page, 'openDiff', { run_id: run.id })).toMatchObject({ ok: true });
    expect(await request(host, page, 'openDiff', { run_id: run.id, path: 'src/notes.md' })).toMatchObject({ ok: true });
    expect(asked).toEqual(expect.arrayContaining([`openDiff ${run.id}`, `openDiff ${run.id} src/notes.md`]));
    const empty = await request(host, page, 'openDiff', { run_id: run.id, path: '' });
    expect(empty).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/path/) } });
  });

  it('does not post an answer to a page that has loaded since it asked', async () => {
    const session = await newSession('reloaded');
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    let release = () => undefined as void;
    copyGate = new Promise<void>((resolve) => (release = resolve));
    const stale = send(host, 'copyText', { text: 'from the old page' });
    ready(host, session.id); // the page reloaded: its next request may carry the same id
    await snapshotAt(page, 1);
    release();
    await until('the copy done', () => asked.includes('copyText from the old page'));
    await sleep(200);
    expect(page.response(stale)).toBeUndefined();

    copyGate = undefined;
    const fresh = await request(host, page, 'copyText', { text: 'from the new page' });
    expect(fresh).toEqual({ kind: 'response', id: fresh.id, ok: true, result: {} });
  });

  it('answers a failed request with its code, one it cannot read with invalid_input, and drops other messages it cannot read', async () => {
    const session = await newSession('errors');
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    const missing = await request(host, page, 'retryRun', { run_id: '00000000-0000-4000-8000-000000000000' });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const unreadable = await request(host, page, 'run', { session_id: session.id, lane: 'A', intent: '   ', run_with: { executor: 'shell' }, priority: 100 });
    expect(unreadable).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/intent/) } });
    const unknown = await request(host, page, 'formatDisk', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/formatDisk/) } });
    const noSession = await request(host, page, 'selectSession', { session_id: '00000000-0000-4000-8000-000000000000' });
    expect(noSession).toMatchObject({ ok: false, error: { code: 'not_found' } });

    const before = page.messages.filter((m) => m.kind === 'response').length;
    warnings.length = 0;
    host.receive({ kind: 'notify', method: 'followLog', params: { run_id: 42 } });
    host.receive('hello');
    host.receive({ kind: 'request', id: -1, method: 'copyText', params: {} });
    await sleep(300);
    expect(page.messages.filter((m) => m.kind === 'response'), 'nothing to answer without an id').toHaveLength(before);
    expect(warnings.filter((w) => /dropped a message from the page/.test(w))).toHaveLength(3);
  });

  it('cancels and retries on request, and the page sees both', async () => {
    const session = await newSession('cancel and retry');
    const queued = await queue(session.id, 'B', 'echo later');
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    const cancel = await request(host, page, 'cancelRun', { run_id: queued.id });
    expect(cancel).toMatchObject({ ok: true, result: { outcome: 'canceled' } });
    await until('the run canceled', () => page.runSeen(queued.id).some((r) => r.status === 'canceled'));
    const retry = await request(host, page, 'retryRun', { run_id: queued.id });
    const retried = (retry as { result: { run_id: string } }).result.run_id;
    await until('the retry queued', () => page.runSeen(retried).some((r) => r.status === 'queued' && r.retry_of === queued.id));
  });

  it('posts the lanes\' ports with the snapshot, then each change: a lane leasing its range, the session archived', async () => {
    const session = await newSession('ports');
    await queue(session.id, 'A', 'npm run dev');
    const a = await claim(session.id);
    const leased = await store.leaseLanePorts(leaseOf(a));
    const { host, page } = open(session.id);
    ready(host, null);
    /** the ports as the page holds them: the last snapshot's, then each notification's */
    const shown = () =>
      page.messages.reduce<unknown[] | undefined>((last, m) => {
        if (m.kind !== 'notify') return last;
        if (m.method === 'snapshot') return m.params.ports ?? [];
        if (m.method === 'ports' && m.params.session_id === session.id) return m.params.ports;
        return last;
      }, undefined);
    await snapshotAt(page, 0);
    // in the snapshot, or right after it once the model has heard of the lease
    await until('lane A\'s ports shown', () => JSON.stringify(shown()) === JSON.stringify([leased]));
    await queue(session.id, 'B', 'npm run dev');
    const b = await claim(session.id);
    const second = await store.leaseLanePorts(leaseOf(b));
    await until('lane B\'s ports posted', () => page.notifications('ports').some((n) => n.ports.length === 2));
    expect(shown()).toEqual([leased, second]);
    await store.archiveSession(session.id);
    await until('the ports freed', () => shown()?.length === 0);
    for (const run of [a, b]) await finish(run, 'canceled');
  });

  it('sends a fresh snapshot when the store is switched', async () => {
    const session = await newSession('switched store');
    const { host, page } = open(session.id);
    ready(host, null);
    await snapshotAt(page, 0);
    storeSwitched.fire(undefined);
    const again = await snapshotAt(page, 1);
    expect(again.session?.id).toBe(session.id);
    expect(page.notifications('sessions').every((n) => n.sessions.length > 0), 'never the empty list of a store being opened').toBe(true);
  });
});
