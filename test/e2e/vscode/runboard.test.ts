/// <reference types="mocha" />
// The Runboard's host against the protocol, inside the extension host: the real store on the test database, the real
// Sessions model, the extension's own commands and worker, and a stand-in for the page that checks every message it
// is posted the way the page does (parseHostMessage). What the page makes of them is the UI tests' part.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { Backend } from '../../../extension/backend';
import type { Log } from '../../../extension/log';
import { heartbeatRefreshMs, RunboardHost, type RunboardDeps, type RunboardPage } from '../../../extension/runboard/runboard-host';
import { SessionsModel } from '../../../extension/sessions/sessions-model';
import { queueLaneRun } from '../../../worker/runs/queue-lane-run';
import { openStore } from '../../../worker/store/open';
import type { Store } from '../../../worker/store/store';
import { type HostMessage, type HostNotificationMethod, type HostNotificationParams, parseHostMessage, protocolVersion, type ResponseMessage } from '../../../webview/protocol';
import { until } from './lane-fixture';

const extensionId = 'ops-control-room.ops-control-room';

/** The page, reduced to what it receives: every message checked as the page checks it, kept in order. */
class FakePage implements RunboardPage {
  visible = true;
  readonly messages: HostMessage[] = [];
  readonly refused: string[] = [];

  post(message: HostMessage): Promise<boolean> {
    // what crosses to a webview is a structured clone
    const parsed = parseHostMessage(structuredClone(message));
    if (parsed.ok) this.messages.push(parsed.message);
    else this.refused.push(parsed.reason);
    return Promise.resolve(true);
  }

  notifications<M extends HostNotificationMethod>(method: M): Array<HostNotificationParams<M>> {
    return this.messages.flatMap((m) => (m.kind === 'notify' && m.method === method ? [m.params as HostNotificationParams<M>] : []));
  }

  response(id: number): ResponseMessage | undefined {
    return this.messages.find((m): m is ResponseMessage => m.kind === 'response' && m.id === id);
  }

  clear(): void {
    this.messages.length = 0;
  }
}

const secrets: vscode.SecretStorage = {
  get: async () => undefined,
  store: async () => undefined,
  delete: async () => undefined,
  onDidChange: new vscode.EventEmitter<vscode.SecretStorageChangeEvent>().event,
};

describe('the Runboard host', function () {
  this.timeout(180_000);
  const warnings: string[] = [];
  const log: Log = {
    info: () => undefined,
    warn: (m) => void warnings.push(m),
    error: (m, e) => void warnings.push(`${m}: ${(e as Error | undefined)?.message ?? ''}`),
  };
  const activeChanged = new vscode.EventEmitter<string | undefined>();
  const madeActive: string[] = [];
  let store: Store;
  let backend: Backend;
  let model: SessionsModel;
  let deps: RunboardDeps;
  const hosts: RunboardHost[] = [];
  let nextId = 1;

  function open(openedFor?: string): { host: RunboardHost; page: FakePage } {
    const page = new FakePage();
    const host = new RunboardHost(deps, page, openedFor);
    hosts.push(host);
    return { host, page };
  }

  function ready(host: RunboardHost, sessionId: string | null): void {
    host.receive({ kind: 'notify', method: 'ready', params: { protocol: protocolVersion, session_id: sessionId } });
  }

  async function request(host: RunboardHost, page: FakePage, method: string, params: unknown): Promise<ResponseMessage> {
    const id = nextId++;
    host.receive({ kind: 'request', id, method, params });
    return until(`the answer to ${method}`, () => page.response(id), 60_000);
  }

  const snapshotAt = (page: FakePage, index: number) => until(`snapshot ${index + 1}`, () => page.notifications('snapshot')[index], 60_000);

  let one: string;
  let two: string;
  let archived: string;

  before(async () => {
    await vscode.extensions.getExtension(extensionId)?.activate();
    store = await openStore(process.env.OCR_DATABASE_URL);
    backend = new Backend(secrets, log);
    model = new SessionsModel(backend, log);
    deps = {
      store: () => backend.store(),
      model,
      onDidChangeStore: backend.onDidChange,
      setActiveSession: async (id) => {
        madeActive.push(id);
        activeChanged.fire(id);
      },
      onDidChangeActiveSession: activeChanged.event,
      executors: () => [{ id: 'shell', label: 'shell', run_with: { executor: 'shell' } }],
      actions: {
        startSession: async (input) => (await vscode.commands.executeCommand<string>('ocr.newSession', input))!,
        queueLaneRun: async (request) => (await queueLaneRun(await backend.store(), request)).id,
        cancelRun: async (runId) => (await (await backend.store()).cancelRun(runId)).outcome,
        retryRun: async (runId) => (await (await backend.store()).retryRun(runId)).id,
        openDiff: async (runId) => void (await vscode.commands.executeCommand('ocr.openLaneDiff', { runId })),
        applyDiff: async (runId) => (await vscode.commands.executeCommand('ocr.applyLaneChanges', { runId }))!,
        openLog: async (runId) => void (await vscode.commands.executeCommand('ocr.showRunLog', { runId })),
        copyText: async (text) => vscode.env.clipboard.writeText(text),
      },
      log,
      showError: (m) => void warnings.push(m),
    };
    one = await vscode.commands.executeCommand<string>('ocr.newSession', { title: 'Runboard one', intent: 'the first' });
    archived = (await store.createSession({ title: 'Runboard archived', lanes: ['A'] })).id;
    await store.archiveSession(archived);
    two = await vscode.commands.executeCommand<string>('ocr.newSession', { title: 'Runboard two', intent: 'the newest' });
  });

  after(async () => {
    for (const host of hosts) host.dispose();
    // nothing of this file may keep the editor's worker busy for the next one
    for (const run of await store.listRuns({ status: ['queued', 'running'] })) await store.cancelRun(run.id);
    model.dispose();
    backend.dispose();
    await store.close();
  });

  it('posts nothing before the page is ready, then a snapshot of the newest active session with every session listed', async () => {
    const { host, page } = open();
    await new Promise((resolve) => setTimeout(resolve, 300));
    host.show(one);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(page.messages, [], 'a page that is still loading would drop it');
    ready(host, null);
    const snapshot = await snapshotAt(page, 0);
    // show() before ready is what the panel does when opened for a session
    assert.equal(snapshot.session?.id, one);
    const listed = new Map(snapshot.sessions.map((s) => [s.id, s.status]));
    assert.equal(listed.get(archived), 'archived', 'archived sessions are listed too: the page filters them');
    assert.equal(listed.get(two), 'active');
    assert.deepEqual(snapshot.executors.map((e) => e.id), ['shell']);
    assert.ok(Math.abs(Date.parse(snapshot.now) - Date.now()) < 60_000);
    assert.deepEqual(page.refused, []);

    const fresh = open();
    ready(fresh.host, null);
    assert.equal((await snapshotAt(fresh.page, 0)).session?.id, two, 'without a session named or opened for, the newest active one');
  });

  it('shows the session named in `ready` if it exists, else the one the panel was opened for', async () => {
    const { host, page } = open(one);
    ready(host, '00000000-0000-4000-8000-000000000000');
    assert.equal((await snapshotAt(page, 0)).session?.id, one);
    ready(host, archived);
    assert.equal((await snapshotAt(page, 1)).session?.id, archived);
  });

  it('runs an intent through Run in Lane, posts its runs as they change, and its diff once it has finished', async () => {
    const { host, page } = open(one);
    ready(host, null);
    await snapshotAt(page, 0);
    const answer = await request(host, page, 'run', { session_id: one, lane: 'A', intent: 'echo one; echo two; printf "x\\n" > made.txt; echo three', run_with: { executor: 'shell' }, priority: 100 });
    assert.ok(answer.ok, JSON.stringify(answer));
    const runId = (answer.result as { run_id: string }).run_id;
    assert.equal((await store.getRun(runId)).spec['profile'], undefined);
    const seen = () => page.notifications('runs').flatMap((n) => n.runs).filter((r) => r.id === runId);
    await until('the run to be posted succeeded', () => seen().some((r) => r.status === 'succeeded'), 90_000);
    assert.ok(seen().every((r) => r.session_id === one));
    const diff = await until('its diff summary', () => page.notifications('diff').find((d) => d.diff.run_id === runId));
    assert.equal(diff.diff.files, 1);
    assert.deepEqual(diff.diff.entries.map((e) => `${e.status} ${e.path}`), ['added made.txt']);
    assert.ok(!('content' in diff.diff), 'never the patch itself');

    // A later snapshot carries the diff too.
    ready(host, one);
    const again = await snapshotAt(page, 1);
    assert.ok(again.diffs.some((d) => d.run_id === runId));
    assert.equal(again.runs.find((r) => r.id === runId)?.status, 'succeeded');
  });

  it('streams a run\'s log from after the line the page has, then says it ended', async () => {
    const { host, page } = open(one);
    ready(host, null);
    const snapshot = await snapshotAt(page, 0);
    const run = snapshot.runs.find((r) => r.lane === 'A' && r.status === 'succeeded');
    assert.ok(run);
    const events = await store.listEvents(run.id);
    host.receive({ kind: 'notify', method: 'followLog', params: { run_id: run.id, after_seq: 0 } });
    await until('the end of the log', () => page.notifications('logEnd').some((e) => e.run_id === run.id));
    const lines = page.notifications('log').filter((b) => b.run_id === run.id);
    assert.equal(lines[0]?.first_seq, 1);
    assert.deepEqual(lines.flatMap((b) => b.text), events.map((e) => e.text));
    assert.ok(lines.flatMap((b) => b.text).includes('three'));

    page.clear();
    host.receive({ kind: 'notify', method: 'followLog', params: { run_id: run.id, after_seq: 2 } });
    await until('the end of the log again', () => page.notifications('logEnd').length > 0);
    assert.equal(page.notifications('log')[0]?.first_seq, 3, 'after_seq means after that line');
  });

  it('keeps a running run\'s heartbeat fresh on the page, and cancels it on request', async () => {
    const { host, page } = open(one);
    ready(host, null);
    await snapshotAt(page, 0);
    const answer = await request(host, page, 'run', { session_id: one, lane: 'B', intent: 'echo waiting; sleep 120', run_with: { executor: 'shell' }, priority: 100 });
    const runId = (answer as { result: { run_id: string } }).result.run_id;
    const beats = () => new Set(page.notifications('runs').flatMap((n) => n.runs).filter((r) => r.id === runId && r.status === 'running').map((r) => r.heartbeat_at));
    // the worker renews leases every 5 s; the host reads them every 2 s
    await until('two heartbeats of the running run', () => beats().size >= 2, 60_000 + heartbeatRefreshMs);
    const cancel = await request(host, page, 'cancelRun', { run_id: runId });
    assert.deepEqual(cancel, { kind: 'response', id: cancel.id, ok: true, result: { outcome: 'cancel_requested' } });
    await until('the run to be posted canceled', () => page.notifications('runs').some((n) => n.runs.some((r) => r.id === runId && r.status === 'canceled')), 60_000);
  });

  it('answers a failed request with its code and message, and one it cannot read with invalid_input', async () => {
    const { host, page } = open(one);
    ready(host, null);
    await snapshotAt(page, 0);
    const missing = await request(host, page, 'retryRun', { run_id: '00000000-0000-4000-8000-000000000000' });
    assert.equal(missing.ok, false);
    assert.equal(!missing.ok && missing.error.code, 'not_found');
    const unreadable = await request(host, page, 'run', { session_id: one, lane: 'A', intent: '   ', run_with: { executor: 'shell' }, priority: 100 });
    assert.equal(!unreadable.ok && unreadable.error.code, 'invalid_input');
    assert.match(!unreadable.ok ? unreadable.error.message : '', /intent/);
    const before = page.messages.length;
    host.receive({ kind: 'notify', method: 'followLog', params: { run_id: 42 } });
    host.receive('hello');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(page.messages.length, before, 'a notification it cannot read is dropped');
    assert.ok(warnings.some((w) => /dropped a message from the page/.test(w)));
  });

  it('switches sessions on request: answers first, then the snapshot, and makes the session active', async () => {
    const { host, page } = open(one);
    ready(host, null);
    await snapshotAt(page, 0);
    const answer = await request(host, page, 'selectSession', { session_id: two });
    assert.ok(answer.ok);
    const snapshot = await snapshotAt(page, 1);
    assert.equal(snapshot.session?.id, two);
    const order = page.messages.map((m) => (m.kind === 'response' ? `response ${m.id}` : m.method));
    assert.ok(order.indexOf(`response ${answer.id}`) < order.lastIndexOf('snapshot'), order.join(', '));
    assert.equal(madeActive.at(-1), two);

    const created = await request(host, page, 'createSession', { title: 'Runboard three', intent: '' });
    const id = (created as { result: { session_id: string } }).result.session_id;
    await until('the new session shown', () => page.notifications('snapshot').at(-1)?.session?.id === id);
    await until('the session list with it', () => page.notifications('sessions').some((n) => n.sessions.some((s) => s.id === id)));
  });

  it('keeps showing a session that gets archived, and sends a snapshot when the panel is shown again', async () => {
    const { host, page } = open(one);
    const scratch = await store.createSession({ title: 'Runboard soon archived', lanes: ['A'] });
    ready(host, scratch.id);
    assert.equal((await snapshotAt(page, 0)).session?.id, scratch.id);
    await store.archiveSession(scratch.id);
    await until('the archived session row', () => page.notifications('session').some((n) => n.session.id === scratch.id && n.session.status === 'archived'), 30_000);
    page.visible = false;
    host.visibilityChanged();
    page.visible = true;
    host.visibilityChanged();
    const shown = await snapshotAt(page, 1);
    assert.equal(shown.session?.id, scratch.id);
    assert.equal(shown.session?.status, 'archived');
  });
});
