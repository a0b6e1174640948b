/// <reference types="mocha" />
// Runbooks in the editor, with the real `vscode` API: the Runbooks view following the workspace's .ocr/runbooks files,
// their problems in the Problems panel, OCR: Run Runbook… called as a script would call it, run by a real worker against
// an HTTP server this test starts, and a prod runbook parked at its approval gate, asked about in a notification,
// then approved or rejected through the same functions the notification's buttons call.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { OcrApi } from '../../../extension/extension';
import { activateOcr } from './ocr-extension';
import { shortId } from '../../../domain';
import { laneFixture, until, type LaneFixture } from './lane-fixture';


interface Row {
  label: string;
  description: string;
  icon: string;
  contextValue: string;
}

function shown(item: vscode.TreeItem): Row {
  return {
    label: typeof item.label === 'string' ? item.label : (item.label?.label ?? ''),
    description: typeof item.description === 'string' ? item.description : '',
    icon: item.iconPath instanceof vscode.ThemeIcon ? item.iconPath.id : '',
    contextValue: item.contextValue ?? '',
  };
}

/** A health check: each URL of $OCR_INPUT_URLS once, with the secret token; fails naming the URLs that did not answer 2xx. */
const checkScript = `const urls = (process.env.OCR_INPUT_URLS ?? '').split(/[\\s,]+/).filter(Boolean);
const failed = [];
for (const url of urls) {
  try {
    const res = await fetch(url, { headers: { authorization: 'Bearer ' + process.env.OCR_INPUT_TOKEN }, redirect: 'manual' });
    console.log(url + ' ' + res.status);
    if (res.status < 200 || res.status > 299) failed.push(url);
  } catch (e) {
    console.log(url + ' ' + e.message);
    failed.push(url);
  }
}
if (failed.length > 0) {
  console.error('failed: ' + failed.join(' '));
  process.exit(1);
}
`;

const healthcheck = `name: healthcheck
title: HTTP checks
kind: healthcheck
lane: A
inputs:
  - key: urls
    label: URLs to check
    required: true
  - key: token
    secret: true
    required: true
  - key: attempts
    type: number
    default: 1
steps:
  - id: check
    run: [${JSON.stringify(process.execPath)}, check.mjs]
  - id: report
    run: 'echo "checked $OCR_INPUT_URLS"'
`;

const release = `name: release
title: Release
kind: deploy
env: prod
lane: A
inputs:
  - key: version
    required: true
steps:
  - id: build
    run: 'echo "building $OCR_INPUT_VERSION"'
  - id: approve
    approval:
      message: "Ship {{ inputs.version }} to prod?"
  - id: ship
    run: 'echo "shipped $OCR_INPUT_VERSION"'
`;

describe('runbooks in the editor', function () {
  this.timeout(240_000);
  let api: OcrApi;
  let folder: string;
  let dir: string;

  const file = (name: string) => path.join(dir, name);
  const write = (name: string, text: string) => writeFileSync(file(name), text);

  async function rows(): Promise<Array<Row & { children: Row[] }>> {
    const tree = api.runbooksTree;
    const nodes = await tree.getChildren();
    return Promise.all(nodes.map(async (n) => ({ ...shown(tree.getTreeItem(n)), children: (await tree.getChildren(n)).map((c) => shown(tree.getTreeItem(c))) })));
  }
  const row = (label: string) => until(`the Runbooks view to list "${label}"`, async () => (await rows()).find((r) => r.label === label), 30_000);

  before(async () => {
    api = await activateOcr();
    folder = vscode.workspace.workspaceFolders![0]!.uri.fsPath;
    dir = path.join(folder, '.ocr', 'runbooks');
    mkdirSync(dir, { recursive: true });
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    rmSync(path.join(folder, '.ocr'), { recursive: true, force: true });
  });

  it('lists the workspace\'s runbooks with kind, env and inputs, and follows their files', async () => {
    write('healthcheck.yaml', healthcheck);
    const check = await row('HTTP checks');
    assert.deepEqual(
      { description: check.description, icon: check.icon, contextValue: check.contextValue },
      { description: 'healthcheck', icon: 'pulse', contextValue: 'runbook' },
    );
    assert.deepEqual(
      check.children.map((c) => [c.label, c.description, c.icon]),
      [
        ['urls', 'string · required', 'symbol-string'],
        ['token', 'string · required · secret', 'key'],
        ['attempts', 'number · default 1', 'symbol-number'],
      ],
    );
    write('release.yaml', release);
    assert.equal((await row('Release')).description, 'deploy · prod');
    unlinkSync(file('release.yaml'));
    await until('Release to leave the view', async () => !(await rows()).some((r) => r.label === 'Release'), 30_000);
  });

  it('shows a runbook file\'s problems in the Problems panel at their line, and clears them once it is fixed', async () => {
    const broken = vscode.Uri.file(file('broken.yaml'));
    const good = 'name: broken\ntitle: Broken\nsteps:\n  - id: one\n    run: echo one\n  - id: two\n    run: echo two\n';
    write('broken.yaml', good.replace('    run: echo two', '    rn: echo two'));
    const diagnostics = await until('a diagnostic of broken.yaml', () => {
      const found = vscode.languages.getDiagnostics(broken);
      return found.length > 0 ? found : undefined;
    }, 30_000);
    const unknown = diagnostics.find((d) => d.message.includes('unknown field rn'));
    assert.ok(unknown, `no diagnostic names the unknown field: ${diagnostics.map((d) => d.message).join(' | ')}`);
    assert.equal(unknown.range.start.line, 6, 'the line of "rn:" (0-based)');
    assert.equal(unknown.range.start.character, 4);
    assert.equal(unknown.severity, vscode.DiagnosticSeverity.Error);
    const problemRow = await row('broken.yaml');
    assert.equal(problemRow.contextValue, 'runbookProblem');
    assert.match(problemRow.description, /unknown field rn/);

    write('broken.yaml', good);
    await until('the diagnostics of broken.yaml to clear', () => vscode.languages.getDiagnostics(broken).length === 0, 30_000);
    await row('Broken');

    // unsaved edits are checked as they are typed; reverting them goes back to what is saved
    const doc = await vscode.workspace.openTextDocument(broken);
    await vscode.window.showTextDocument(doc);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(broken, new vscode.Range(1, 0, 1, 'title: Broken'.length), 'title: ""');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const typed = await until('a diagnostic of the unsaved text', () => vscode.languages.getDiagnostics(broken).find((d) => d.message.startsWith('title:')), 30_000);
    assert.equal(typed.range.start.line, 1);
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await until('the diagnostics to clear after the revert', () => vscode.languages.getDiagnostics(broken).length === 0, 30_000);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    unlinkSync(file('broken.yaml'));
  });

  describe('runs of runbooks', () => {
    let lane: LaneFixture;
    let server: Server;
    let base: string;
    const tokens: string[] = [];

    before(async function () {
      this.timeout(240_000);
      lane = await laneFixture('Runbooks', { 'check.mjs': checkScript });
      server = createServer((req, res) => {
        tokens.push(String(req.headers.authorization ?? ''));
        res.statusCode = req.url === '/health' ? 200 : req.url === '/ready' ? 204 : 500;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      write('healthcheck.yaml', healthcheck);
      write('release.yaml', release);
      await row('Release');
    });

    after(async () => {
      server?.close();
      await lane?.dispose();
    });

    const runRunbook = async (name: string, inputs: Record<string, string | number | boolean>) =>
      (await vscode.commands.executeCommand<string>('ocr.runRunbook', { file: file(name), session_id: lane.session.id, inputs }))!;

    it('runs a health check from OCR: Run Runbook with its inputs: every step succeeds, the secret stays sealed', async () => {
      const runId = await runRunbook('healthcheck.yaml', { urls: `${base}/health ${base}/ready`, token: 's3cr3t-token' });
      const run = await lane.finished(runId);
      assert.equal(run.status, 'succeeded', run.error ?? '');
      assert.equal(run.lane, 'A', "the runbook's own lane");
      const steps = await lane.store.listSteps(runId);
      assert.deepEqual(steps.map((s) => [s.step_id, s.status]), [['check', 'succeeded'], ['report', 'succeeded']]);
      assert.ok(!JSON.stringify(run.spec).includes('s3cr3t-token'), 'the secret is not in the queue in clear');
      assert.deepEqual(Object.keys(run.spec.inputs as object).sort(), ['attempts', 'token', 'urls']);
      assert.ok(typeof (run.spec.inputs as { token: unknown }).token === 'object', 'the secret input is sealed');
      assert.deepEqual(tokens, ['Bearer s3cr3t-token', 'Bearer s3cr3t-token'], 'the worker opened the secret and the check used it');
      const lines = await lane.store.listEvents(runId, 0, 1000);
      assert.ok(lines.some((e) => e.step === 'check' && e.text === `${base}/ready 204`), 'the check\'s lines are under its step');
      assert.ok(!lines.some((e) => e.text.includes('s3cr3t-token')));
    });

    it('fails a health check whose URL does not answer 2xx, at that step, and skips the rest', async () => {
      const runId = await runRunbook('healthcheck.yaml', { urls: `${base}/health ${base}/broken`, token: 't' });
      const run = await lane.finished(runId);
      assert.equal(run.status, 'failed');
      assert.deepEqual((await lane.store.listSteps(runId)).map((s) => [s.step_id, s.status]), [['check', 'failed'], ['report', 'skipped']]);
    });

    it('refuses a scripted run that misses a required input or names an unknown field, saying which', async () => {
      await assert.rejects(runRunbook('healthcheck.yaml', { token: 't' }), /inputs\.urls: URLs to check is required/);
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('ocr.runRunbook', { file: file('healthcheck.yaml'), session: lane.session.id })),
        /ocr\.runRunbook: session: not an option/,
      );
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('ocr.runRunbook', { file: file('missing.yaml'), session_id: lane.session.id })),
        /file: cannot read .*missing\.yaml/,
      );
      await assert.rejects(
        Promise.resolve(vscode.commands.executeCommand('ocr.runRunbook', { session_id: 'not-a-session', lane: 'B' })),
        /ocr\.runRunbook: session_id: a session id/,
      );
    });

    it("asks which runbook when given only a session and a lane (the Runboard's Run Runbook…), and queues nothing when the person backs out", async () => {
      const before = (await lane.store.listRuns({ sessionId: lane.session.id, limit: 1000 })).length;
      let settled = false;
      const asking = Promise.resolve(vscode.commands.executeCommand('ocr.runRunbook', { session_id: lane.session.id, lane: 'B' })).finally(() => (settled = true));
      await until('the runbook pick to be closed', async () => {
        await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
        return settled || undefined;
      }, 30_000);
      assert.equal(await asking, undefined);
      assert.equal((await lane.store.listRuns({ sessionId: lane.session.id, limit: 1000 })).length, before);
    });

    it('parks a prod runbook at its approval gate, asks in a notification with the Runboard open, and approving resumes it', async () => {
      await vscode.commands.executeCommand('ocr.openRunboard', { sessionId: lane.session.id });
      const runId = await runRunbook('release.yaml', { version: '1.2.3' });
      const waiting = await until('the run to wait at its gate', async () => {
        const run = await lane.store.getRun(runId);
        return run.status === 'waiting' ? run : undefined;
      });
      assert.equal(waiting.approval?.step_id, 'approve');
      assert.equal(waiting.spec.env, 'prod');
      const prompt = await until('the approval notification', () => api.approvalPrompts().find((p) => p.runId === runId), 30_000);
      assert.equal(prompt.text, `Run ${shortId(runId)} (runbook release) in lane A waits for approval: Ship 1.2.3 to prod?`);

      const rows = await until('the waiting run in the Sessions tree', async () => {
        for (const session of await api.sessionsTree.getChildren()) {
          if (session.kind !== 'session' || session.session.id !== lane.session.id) continue;
          for (const laneNode of await api.sessionsTree.getChildren(session)) {
            for (const runNode of await api.sessionsTree.getChildren(laneNode)) {
              if (runNode.kind === 'run' && runNode.run.id === runId && runNode.run.status === 'waiting') {
                const [sessionRow, laneRow, runRow] = [session, laneNode, runNode].map((n) => shown(api.sessionsTree.getTreeItem(n)));
                return { sessionRow: sessionRow!, laneRow: laneRow!, runRow: runRow! };
              }
            }
          }
        }
        return undefined;
      }, 30_000);
      const { sessionRow, laneRow, runRow } = rows;
      assert.equal(runRow.contextValue, 'run.waiting', 'the Approve and Reject actions show on it');
      assert.equal(runRow.icon, 'debug-pause');
      // then the lane's ports (and the size of its worktree, once measured)
      assert.match(laneRow.description, new RegExp(`^waiting for approval ${shortId(runId)}( · ports \\d+–\\d+)?( · [\\d.]+ [KMGT]?B)?$`));
      assert.match(sessionRow.description, /\b1 waiting\b/);

      // what the notification's Approve calls
      await vscode.commands.executeCommand('ocr.approveRun', { runId });
      const done = await lane.finished(runId);
      assert.equal(done.status, 'succeeded', done.error ?? '');
      assert.equal(done.approval?.decision, 'approved');
      assert.deepEqual((await lane.store.listSteps(runId)).map((s) => [s.step_id, s.status]), [['build', 'succeeded'], ['approve', 'succeeded'], ['ship', 'succeeded']]);
      assert.equal(api.approvalPrompts().filter((p) => p.runId === runId).length, 1, 'asked once');
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    });

    it('rejecting a waiting run ends it canceled with the reason, and the later steps skipped', async () => {
      const runId = await runRunbook('release.yaml', { version: '1.2.4' });
      await until('the approval notification', () => api.approvalPrompts().find((p) => p.runId === runId), 60_000);
      // what the notification's Reject calls, with the reason it asks for
      await vscode.commands.executeCommand('ocr.rejectRun', { runId, reason: 'not during the freeze' });
      const done = await lane.finished(runId);
      assert.equal(done.status, 'canceled');
      assert.equal(done.error, 'rejected: not during the freeze');
      assert.equal(done.approval?.decision, 'rejected');
      assert.deepEqual((await lane.store.listSteps(runId)).map((s) => [s.step_id, s.status]), [['build', 'succeeded'], ['approve', 'canceled'], ['ship', 'skipped']]);
    });
  });

  it('adds the example runbooks to the workspace, and the view lists every one without problems', async () => {
    const added = await vscode.commands.executeCommand<{ added: string[]; kept: string[] }>('ocr.addExampleRunbooks', { folder });
    const yamls = added!.added.filter((f) => f.endsWith('.yaml'));
    assert.ok(yamls.length > 0, 'some example runbooks were added');
    assert.ok(added!.kept.some((f) => f.endsWith('healthcheck.yaml')), 'the healthcheck.yaml of the workspace was kept');
    await until('the examples in the view', async () => {
      const listed = await rows();
      return listed.length >= yamls.length + 1 && !listed.some((r) => r.contextValue === 'runbookProblem');
    }, 30_000);
    for (const f of yamls) assert.deepEqual(vscode.languages.getDiagnostics(vscode.Uri.file(f)), [], `${path.basename(f)} has no problems`);
  });
});
