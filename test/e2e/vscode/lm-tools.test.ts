/// <reference types="mocha" />
// The tools for other agents as the editor offers them: vscode.lm lists them as package.json declares them, and
// vscode.lm.invokeTool runs them on the editor's database, the way an agent in the chat (or another extension) does.
//
// queue_run and cancel_run ask the person first. Without a chat request (code-server has no chat model), VS Code asks
// with a modal dialog (its dialog service's confirm), and under an extension-test run that dialog answers yes by itself
// ("refused to show confirmation dialog in tests"): so here invokeTool goes through prepareInvocation and the
// confirmation to invoke, and the question itself is checked through the function prepareInvocation calls. Clicking
// the dialog's button is a UI test's job.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { shortId } from '../../../domain';
import { editorToolName, languageModelToolContributions } from '../../../extension/lm-tools/contributions';
import { prepareToolInvocation } from '../../../extension/lm-tools/register';
import { openStore } from '../../../worker/store/open';
import type { Store } from '../../../worker/store/store';
import { agentTools } from '../../../worker/tools';
import { activateOcr } from './ocr-extension';

const tokenSource = new vscode.CancellationTokenSource();

async function invoke(name: string, input: object): Promise<string> {
  const result = await vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined }, tokenSource.token);
  return result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('');
}

async function invokeError(name: string, input: object): Promise<string> {
  try {
    await invoke(name, input);
  } catch (e) {
    return (e as Error).message;
  }
  return assert.fail(`${name} accepted ${JSON.stringify(input)}`);
}

const tool = (name: string) => agentTools.find((t) => t.name === name)!;

describe('language-model tools', function () {
  this.timeout(60_000);
  let store: Store;
  let sessionId: string;
  let runId: string;

  before(async () => {
    await activateOcr();
    store = await openStore(process.env.OCR_DATABASE_URL);
    // a repository no worker here serves: the editor's own worker leaves this session's runs alone
    const session = await store.createSession({ title: 'Fan-out from chat', lanes: ['A', 'B'], repo_id: 'lm-tools-repo-elsewhere' });
    sessionId = session.id;
    const run = await store.createRun({ session_id: sessionId, lane: 'A', intent: 'npm test' });
    await store.registerWorker({ id: 'lm-tools-worker', host: 'test', pid: process.pid, concurrency: 1, labels: {} });
    const { claimed } = await store.finishAndClaim('lm-tools-worker', [], 1, { sessions: [sessionId], lanes: ['A'] });
    assert.deepEqual(claimed.map((r) => r.id), [run.id]);
    await store.appendEvents({ runId: run.id, workerId: 'lm-tools-worker', attempt: claimed[0]!.attempt }, [
      { stream: 'stdout', text: '\x1b[31m1 failing\x1b[0m' },
      { stream: 'stdout', text: 'done' },
    ]);
    await store.finishAndClaim('lm-tools-worker', [{ runId: run.id, attempt: claimed[0]!.attempt, status: 'failed', exitCode: 1 }], 0);
    runId = run.id;
  });
  after(async () => {
    tokenSource.dispose();
    await store?.close();
  });

  it('vscode.lm.tools lists every tool as package.json declares it', () => {
    const ours = vscode.lm.tools.filter((t) => t.name.startsWith('ocr_'));
    const declared = languageModelToolContributions();
    assert.deepEqual(ours.map((t) => t.name).sort(), declared.map((t) => t.name).sort());
    for (const contribution of declared) {
      const listed = ours.find((t) => t.name === contribution.name)!;
      assert.equal(listed.description, contribution.modelDescription);
      assert.deepEqual(listed.inputSchema, contribution.inputSchema);
      assert.deepEqual([...listed.tags], ['ops-control-room']);
    }
  });

  it('ocr_list_sessions answers the sessions with their lanes, read from the editor\'s database', async () => {
    const answer = JSON.parse(await invoke('ocr_list_sessions', { session: sessionId })) as { sessions: Array<{ title: string; lanes: Array<{ lane: string; state: string; last_finished: { status: string } | null }> }> };
    assert.equal(answer.sessions[0]!.title, 'Fan-out from chat');
    assert.deepEqual(answer.sessions[0]!.lanes.map((l) => [l.lane, l.state, l.last_finished?.status ?? null]), [['A', 'idle', 'failed'], ['B', 'idle', null]]);
  });

  it('ocr_get_run and ocr_read_log answer a run\'s status and its log as plain text', async () => {
    const run = JSON.parse(await invoke('ocr_get_run', { run: runId })) as { status: string; exit_code: number };
    assert.deepEqual([run.status, run.exit_code], ['failed', 1]);
    const log = await invoke('ocr_read_log', { run: runId, search: 'failing' });
    assert.equal(log.split('\n').slice(1).join('\n'), '1 of 2 lines contain "failing":\n1  1 failing\n');
  });

  it('a tool refuses bad input with the field and what to do', async () => {
    assert.match(await invokeError('ocr_read_log', { run: runId, tail: 0 }), /^tail: /);
    assert.equal(await invokeError('ocr_get_run', { run: 'abcdef12' }), 'run: no run has the id "abcdef12" (queue_run and list_sessions give run ids)');
  });

  it('ocr_queue_run queues a run in the lane, after the confirmation; ocr_cancel_run cancels it', async () => {
    const answer = JSON.parse(await invoke('ocr_queue_run', { session: shortId(sessionId), lane: 'B', intent: 'npm run build' })) as { run_id: string; status: string };
    assert.equal(answer.status, 'queued');
    const run = await store.getRun(answer.run_id);
    assert.deepEqual([run.session_id, run.lane, run.intent, run.executor, run.status], [sessionId, 'B', 'npm run build', 'shell', 'queued']);
    const canceled = JSON.parse(await invoke('ocr_cancel_run', { run: answer.run_id })) as { outcome: string };
    assert.equal(canceled.outcome, 'canceled');
    assert.equal((await store.getRun(answer.run_id)).status, 'canceled');
  });

  it('ocr_queue_run refuses bad input with the field and what to do, and queues nothing', async () => {
    const message = await invokeError('ocr_queue_run', { session: sessionId, lane: 'Z', intent: 'npm run build' });
    assert.equal(message, 'lane: "Z" is not a lane of session "Fan-out from chat" (use one of its lanes: A, B)');
    assert.equal(await invokeError('ocr_cancel_run', { run: 'abcdef12' }), 'run: no run has the id "abcdef12" (queue_run and list_sessions give run ids)');
    assert.deepEqual((await store.listRuns({ sessionId, lane: 'B', status: ['queued'] })).map((r) => r.intent), []);
  });

  it('queue_run and cancel_run ask "Run … in lane B of session …?" before anything runs; the tools that only read ask nothing', async () => {
    const queue = await prepareToolInvocation(store, tool('queue_run'), { session: sessionId, lane: 'B', intent: 'npm run build', executor: 'agent', profile: 'claude' });
    assert.equal(queue.confirmationMessages?.title, 'Run in lane B?');
    const message = queue.confirmationMessages?.message;
    assert.ok(message instanceof vscode.MarkdownString);
    assert.equal(message.value, `Run \`npm run build\` in lane B of session "Fan-out from chat" (${shortId(sessionId)}), as the prompt of the claude coding agent?`);
    const cancel = await prepareToolInvocation(store, tool('cancel_run'), { run: runId });
    assert.equal(cancel.confirmationMessages?.title, `Cancel run ${shortId(runId)}?`);
    for (const name of ['list_sessions', 'get_run', 'read_log']) {
      const prepared = await prepareToolInvocation(store, tool(name), { run: runId });
      assert.equal(prepared.confirmationMessages, undefined, name);
    }
    assert.deepEqual(agentTools.filter((t) => !t.readOnly).map(editorToolName), ['ocr_queue_run', 'ocr_cancel_run']);
  });
});
