/// <reference types="mocha" />
// A lane's ports and worktree in a real VS Code: the in-editor worker gives a lane's runs its ports, the Sessions tree's
// lane says which and what its worktree takes on disk, an archived session moves to the Archived group (its ports
// freed), and Clean Up Session removes its worktree and branch — refused while the session is active.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { OcrApi } from '../../../extension/extension';
import type { CleanResult } from '../../../worker/engine/worktree';
import { openStore } from '../../../worker/store/open';
import type { Store } from '../../../worker/store/store';
import { activateOcr } from './ocr-extension';
import { until } from './lane-fixture';

interface Shown {
  label: string;
  description: string;
  tooltip: string;
  contextValue: string;
}

function shown(item: vscode.TreeItem): Shown {
  return {
    label: typeof item.label === 'string' ? item.label : (item.label?.label ?? ''),
    description: typeof item.description === 'string' ? item.description : '',
    tooltip: typeof item.tooltip === 'string' ? item.tooltip : (item.tooltip?.value ?? ''),
    contextValue: item.contextValue ?? '',
  };
}

describe('lane ports and worktree clean-up in the editor', function () {
  this.timeout(120_000);
  let api: OcrApi;
  let store: Store;
  let sessionId: string;
  const repo = () => vscode.workspace.workspaceFolders![0]!.uri.fsPath;
  const branches = () => execFileSync('git', ['for-each-ref', '--format=%(refname:short)', 'refs/heads/ocr/'], { cwd: repo(), encoding: 'utf8' });

  before(async () => {
    api = await activateOcr();
    store = await openStore(process.env.OCR_DATABASE_URL);
    await until('the worker to run', () => api.workerState() === 'on', 60_000);
  });
  after(async () => store?.close());

  async function laneA(): Promise<Shown | undefined> {
    for (const node of await api.sessionsTree.getChildren()) {
      if (node.kind !== 'session' || node.session.id !== sessionId) continue;
      for (const lane of await api.sessionsTree.getChildren(node)) {
        const item = shown(api.sessionsTree.getTreeItem(lane));
        if (item.label === 'Lane A') return item;
      }
    }
    return undefined;
  }

  it('gives a lane\'s runs its ports, and the tree\'s lane shows them with its worktree\'s size', async () => {
    sessionId = await vscode.commands.executeCommand<string>('ocr.newSession', { title: 'Ports and clean-up', intent: 'serve something' });
    const runId = await vscode.commands.executeCommand<string>('ocr.runInLane', { session_id: sessionId, lane: 'A', intent: 'head -c 300000 /dev/zero > build.bin; echo "$OCR_PORT $OCR_PORT_COUNT"' });
    await until('the run to succeed', async () => ((await store.getRun(runId)).status === 'succeeded' ? true : undefined), 60_000);
    const [ports] = await store.listLanePorts(sessionId);
    assert.ok(ports, 'lane A leased its ports');
    const printed = (await store.listEvents(runId)).filter((e) => e.stream === 'stdout').map((e) => e.text);
    assert.deepEqual(printed, [`${ports.port_base} ${ports.port_count}`]);

    const last = ports.port_base + ports.port_count - 1;
    const lane = await until('the lane to show its ports and size', async () => {
      const item = await laneA();
      return item && /· ports \d+–\d+ · \d+ KB$/.test(item.description) ? item : undefined;
    }, 30_000);
    assert.match(lane.description, new RegExp(`^idle · last succeeded · ports ${ports.port_base}–${last} · (29\\d|3\\d\\d) KB$`));
    assert.match(lane.tooltip, new RegExp(`OCR_PORT=${ports.port_base}`));
    assert.match(lane.tooltip, /of its own on disk/);
  });

  it('refuses to clean up an active session, and says what to do', async () => {
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('ocr.cleanUpSession', { sessionId, keepBranches: false })),
      /session "Ports and clean-up" is active: Clean Up removes the worktrees of archived sessions only/,
    );
    assert.match(branches(), /\/A$/m);
  });

  it('lists an archived session under Archived, with its ports freed, and Clean Up removes its worktree and branch', async () => {
    await vscode.commands.executeCommand('ocr.archiveSession', { sessionId });
    assert.deepEqual(await store.listLanePorts(sessionId), []);
    const archived = await until('the Archived group', async () => (await api.sessionsTree.getChildren()).find((n) => n.kind === 'archived'));
    const rows = (await api.sessionsTree.getChildren(archived)).map((n) => shown(api.sessionsTree.getTreeItem(n)));
    const row = rows.find((r) => r.label === 'Ports and clean-up');
    assert.ok(row, JSON.stringify(rows));
    assert.equal(row.contextValue, 'session.archived');

    const result = await vscode.commands.executeCommand<CleanResult>('ocr.cleanUpSession', { sessionId, keepBranches: false });
    assert.equal(result.removedWorktrees.length, 1);
    assert.equal(existsSync(result.removedWorktrees[0]!), false);
    assert.equal(result.deletedBranches.length, 1);
    assert.doesNotMatch(branches(), new RegExp(sessionId.replace(/-/g, '').slice(0, 8)));
  });
});
