/// <reference types="mocha" />
// Needs input in a real VS Code: a coding agent (the fake claude CLI, run by a worker of the test's own on a repository
// the editor's worker does not have) is denied Bash; the editor says "Lane A needs input" with Reply; the person's
// reply is queued as a follow-up in lane A that resumes the first run's agent session, with the cost limit from the
// settings. Checked in the database.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isFinal, type Run, type Session } from '../../../domain';
import { describeRepo } from '../../../worker/engine/repo';
import { Worker } from '../../../worker/engine/worker';
import { makeRepo } from '../../../worker/engine/git.test-support';
import { repoRoot } from '../harness/paths';
import { until } from '../until';
import { expectText } from './expect';
import { QuickInput } from './pages/quick-input';
import { useTestDatabase } from './test-database';
import { useVsCode } from './vscode-session';

const fakeClaude = path.join(repoRoot, 'worker', 'agents', 'fixtures', 'fake-cli', 'claude');

describe('Needs input', function () {
  this.timeout(240_000);
  const db = useTestDatabase('ocr_ui_needs_input');
  const vscode = useVsCode('needs-input', { settings: { 'ocr.worker.autoStart': false, 'ocr.agents.maxCostUsd': 3 } });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ocr-ui-needs-input-'));
  let worker: Worker | undefined;
  let session: Session;

  before(async () => {
    const repo = path.join(dir, 'repo');
    mkdirSync(repo);
    makeRepo(repo, { 'README.md': '# app\n' });
    const info = await describeRepo(repo);
    const store = await db().store();
    session = await store.createSession({ title: 'Agent lanes', lanes: ['A', 'B'], repo_id: info.repoId, repo_path: info.repoPath, base_ref: info.baseRef });
    process.env.FAKE_AGENT_STATE = path.join(dir, 'agent-state');
    worker = new Worker(store, {
      worktreeRoot: path.join(dir, 'worktrees'),
      repos: [repo],
      sessions: [session.id],
      agents: { claude: { cli: 'claude', program: fakeClaude } },
      passEnv: ['FAKE_AGENT_STATE'],
      pollMs: 500,
      recoverMs: 500,
    });
  });

  after(async () => {
    await worker?.stop({ graceMs: 0 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks for input when the agent was denied a tool, and Reply queues a follow-up that resumes its session', async () => {
    const { page, workbench } = vscode();
    const store = await db().store();
    // the editor reads the sessions once its view is open; it notifies of the ends of runs it saw queued or running
    await workbench.activityBar.open('Ops Control Room');
    await expectText(workbench.sideBar.view('Sessions').rows().first(), /Agent lanes/, 60_000);
    const first = await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 2 deny Bash', executor: 'agent', spec: { profile: 'claude' } });
    await worker!.start();

    const text = await workbench.notifications.waitFor(/Lane A needs input/, 90_000);
    assert.match(text, new RegExp(`^Lane A needs input: Bash was denied \\(run ${first.id.slice(0, 8)}\\)`));
    const denied = await store.getRun(first.id);
    assert.equal(denied.status, 'succeeded');
    const agentSession = denied.agent?.sessionId;
    assert.ok(agentSession, 'the run recorded its agent session');
    await workbench.notifications.button(/Lane A needs input/, 'Allow Bash').waitFor({ timeout: 5_000 });
    // the follow-up waits in the queue, where its spec can be read before a worker takes it
    await worker!.stop({ graceMs: 0 });
    worker = undefined;

    await workbench.notifications.button(/Lane A needs input/, 'Reply').click();
    const input = new QuickInput(page);
    await input.waitFor(/Reply to the agent in lane A/);
    await input.submit('run the tests with npm test instead');

    const followUp = await until('the follow-up queued in lane A', async () => {
      const runs = await store.listRuns({ sessionId: session.id, lane: 'A' });
      return runs.find((r: Run) => r.id !== first.id);
    }, 30_000);
    assert.equal(followUp.intent, 'run the tests with npm test instead');
    assert.equal(followUp.executor, 'agent');
    assert.ok(!isFinal(followUp.status));
    assert.deepEqual(followUp.spec, { profile: 'claude', resume: agentSession, maxBudgetUsd: 3 });
  });
});
