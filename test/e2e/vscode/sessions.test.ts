/// <reference types="mocha" />
// The extension as a person uses it, in a trusted workspace: sessions, runs in lanes executed by the in-editor
// worker, the Sessions tree, the status bar, cancel, diffs. The database is a fresh one (OCR_DATABASE_URL).
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { OcrApi } from '../../../extension/extension';
import { activateOcr } from './ocr-extension';
import { openStore } from '../../../worker/store/open';
import type { Store } from '../../../worker/store/store';
import type { Run } from '../../../domain';
import { until } from './lane-fixture';


interface ShownItem {
  label: string;
  description: string;
  icon: string;
  contextValue: string;
}

function shown(item: vscode.TreeItem): ShownItem {
  const label = typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
  return {
    label,
    description: typeof item.description === 'string' ? item.description : '',
    icon: item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : '',
    contextValue: item.contextValue ?? '',
  };
}

describe('sessions, lanes and the in-editor worker', function () {
  this.timeout(120_000);
  let api: OcrApi;
  let store: Store;
  let sessionId: string;

  before(async () => {
    api = await activateOcr();
    store = await openStore(process.env.OCR_DATABASE_URL);
  });
  after(async () => store?.close());

  const runOf = (id: string) => store.getRun(id);
  const waitFor = (id: string, status: Run['status']) => until(`run ${id} to be ${status}`, async () => ((await runOf(id)).status === status ? runOf(id) : undefined));

  async function treeRows(): Promise<Map<string, ShownItem[]>> {
    const rows = new Map<string, ShownItem[]>();
    for (const session of await api.sessionsTree.getChildren()) {
      if (session.kind !== 'session' || session.session.id !== sessionId) continue;
      for (const lane of await api.sessionsTree.getChildren(session)) {
        const runs = await api.sessionsTree.getChildren(lane);
        rows.set(shown(api.sessionsTree.getTreeItem(lane)).label, runs.map((r) => shown(api.sessionsTree.getTreeItem(r))));
      }
    }
    return rows;
  }

  it('starts the worker in a trusted workspace and shows it in the status bar', async () => {
    await until('the worker to run', () => api.workerState() === 'on');
    assert.match(api.statusBar().text, /^\$\(play\) OCR 0\/4$/);
  });

  it('creates a session on the workspace repository and makes it active', async () => {
    sessionId = await vscode.commands.executeCommand<string>('ocr.newSession', { title: 'Editor session', intent: 'try the lanes' });
    assert.match(sessionId, /^[0-9a-f-]{36}$/);
    const session = await store.getSession(sessionId);
    assert.equal(session.title, 'Editor session');
    assert.ok(session.repo_id, 'the sample workspace is a git repository, so the session records it');
    assert.equal(api.activeSessionId(), sessionId);
    const top = (await api.sessionsTree.getChildren()).map((n) => shown(api.sessionsTree.getTreeItem(n)));
    assert.ok(top.some((s) => s.label === 'Editor session' && s.description.startsWith('active')), JSON.stringify(top));
  });

  it('runs shell intents of two lanes at the same time, and the tree shows each run with its status', async () => {
    const a = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'A', intent: 'echo lane-a-start; sleep 3; echo lane-a-done' });
    const b = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'B', intent: 'echo lane-b-start; sleep 3; echo lane-b-done' });
    await waitFor(a, 'running');
    await waitFor(b, 'running');
    const busy = await until('the status bar to count both runs', () => (/OCR 2\/4/.test(api.statusBar().text) ? api.statusBar().text : undefined));
    assert.equal(busy, '$(play) OCR 2/4');
    // the tooltip is markdown: what it says once rendered is the text without its escapes
    assert.match(api.statusBar().tooltip.replace(/\\/g, ''), /lane A: echo lane-a-start; sleep 3/);
    const during = await until('the tree to show both runs running', async () => {
      const rows = await treeRows();
      return rows.get('Lane A')?.[0]?.icon === 'sync~spin' && rows.get('Lane B')?.[0]?.icon === 'sync~spin' ? rows : undefined;
    });
    assert.match(during.get('Lane A')![0]!.description, /^running/);
    assert.equal(during.get('Lane A')![0]!.contextValue, 'run.running');

    const [ra, rb] = [await waitFor(a, 'succeeded'), await waitFor(b, 'succeeded')];
    // concurrent: each started before the other finished
    assert.ok(Date.parse(ra.started_at!) < Date.parse(rb.finished_at!) && Date.parse(rb.started_at!) < Date.parse(ra.finished_at!), 'the two lanes did not overlap');
    const lines = (await store.listEvents(a)).map((e) => e.text);
    assert.ok(lines.includes('lane-a-start') && lines.includes('lane-a-done'), lines.join('\n'));
    const after = await until('the tree to show both runs succeeded', async () => {
      const rows = await treeRows();
      return rows.get('Lane A')?.[0]?.icon === 'pass' && rows.get('Lane B')?.[0]?.icon === 'pass' ? rows : undefined;
    });
    assert.match(after.get('Lane A')![0]!.description, /^succeeded · \d/);
    assert.equal(after.get('Lane A')![0]!.label, 'echo lane-a-start; sleep 3; echo lane-a-done');
  });

  it('cancels a running run: its processes stop and it is marked canceled', async () => {
    const id = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'C', intent: 'echo waiting; sleep 600' });
    await until('the run to print', async () => (await store.listEvents(id)).some((e) => e.text === 'waiting'));
    const outcome = await vscode.commands.executeCommand<string>('ocr.cancelRun', { runId: id });
    assert.equal(outcome, 'cancel_requested');
    const run = await until('the run to end', async () => {
      const r = await runOf(id);
      return r.status === 'running' ? undefined : r;
    }, 30_000);
    assert.equal(run.status, 'canceled');
    const rows = await until('the tree to show it canceled', async () => ((await treeRows()).get('Lane C')?.[0]?.icon === 'circle-slash' ? treeRows() : undefined));
    assert.equal(rows.get('Lane C')![0]!.contextValue, 'run.canceled');
    await until('the status bar to show the slot free again', () => api.statusBar().text === '$(play) OCR 0/4');
  });

  it('retries a canceled run as a new run in the same lane', async () => {
    const canceled = (await store.listRuns({ sessionId, lane: 'C' }))[0]!;
    const retry = await vscode.commands.executeCommand<string>('ocr.retryRun', { runId: canceled.id });
    const run = await runOf(retry);
    assert.equal(run.retry_of, canceled.id);
    assert.equal(run.lane, 'C');
    await vscode.commands.executeCommand('ocr.cancelRun', { runId: retry });
    await until('the retry to end', async () => ((await runOf(retry)).status === 'canceled' ? true : undefined));
  });

  it('opens the diff of a run that edited files in a diff editor', async () => {
    const id = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'D', intent: 'echo "a new line" >> README.md && echo fresh > added.txt' });
    await waitFor(id, 'succeeded');
    const diff = await until('the diff artifact', () => store.getArtifact(id, 'diff'));
    assert.match(diff.content ?? '', /README\.md/);
    await vscode.window.tabGroups.close(vscode.window.tabGroups.all.flatMap((g) => g.tabs));
    await vscode.commands.executeCommand('ocr.openLaneDiff', { runId: id });
    const tab = await until('a diff editor', () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputTextDiff || (t.input as object)?.constructor?.name === 'TabInputTextMultiDiff' || /README|Lane D/.test(t.label)),
    );
    assert.ok(tab, 'no diff editor opened');
  });

  it('pauses and resumes the worker from the status bar command', async () => {
    await vscode.commands.executeCommand('ocr.toggleWorker');
    await until('the worker to pause', () => api.workerState() === 'off');
    assert.equal(api.statusBar().text, '$(debug-pause) OCR paused');
    const id = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'A', intent: 'echo resumed' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await runOf(id)).status, 'queued', 'a paused worker claims nothing');
    await vscode.commands.executeCommand('ocr.toggleWorker');
    await until('the worker to run again', () => api.workerState() === 'on');
    await waitFor(id, 'succeeded');
  });
});
