// `ocr mcp` as an MCP client starts it: the built `ocr` as a child process on stdio, spoken to with the SDK's own
// Client, on a fresh database. It lists the tools, queues a run that lands in the lane's queue, reads a log, and
// answers bad input with a tool error that names the field.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Session } from '../../domain';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import { ocrJs, runOcr } from './cli.test-support';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
let session: Session;
let client: Client;
let stderr = '';

interface TextResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
}

async function callTool(name: string, args: Record<string, unknown>): Promise<{ isError: boolean; text: string }> {
  const result = (await client.callTool({ name, arguments: args })) as TextResult;
  return { isError: result.isError === true, text: result.content.map((c) => c.text ?? '').join('') };
}

beforeAll(async () => {
  db = await createTestDatabase('ocr_mcp');
  store = await openStore(db.url);
  session = await store.createSession({ title: 'MCP session', lanes: ['A', 'B'] });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [ocrJs, 'mcp'],
    env: { ...(process.env as Record<string, string>), OCR_DATABASE_URL: db.url },
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  client = new Client({ name: 'ocr-test-client', version: '1.0.0' });
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
  await store?.close();
  await db?.drop();
});

describe('ocr mcp', () => {
  it('introduces itself and lists the five tools, each with a description and an input schema', async () => {
    expect(client.getServerVersion()).toMatchObject({ name: 'ocr', title: 'Ops Control Room' });
    expect(client.getInstructions()).toMatch(/list_sessions/);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['list_sessions', 'get_run', 'read_log', 'queue_run', 'cancel_run']);
    const queue = tools.find((t) => t.name === 'queue_run')!;
    expect(queue.description).toMatch(/Queues a run in a lane/);
    expect(queue.inputSchema.required).toEqual(['session', 'lane', 'intent']);
    expect(Object.keys(queue.inputSchema.properties ?? {})).toEqual(['session', 'lane', 'intent', 'executor', 'profile', 'follow_up']);
    expect(queue.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(tools.find((t) => t.name === 'read_log')!.annotations).toMatchObject({ readOnlyHint: true });
  });

  it('queue_run queues a run in the lane: it is in the database, queued behind nothing', async () => {
    const { isError, text } = await callTool('queue_run', { session: session.id.slice(0, 8), lane: 'B', intent: 'npm test' });
    expect(isError, text).toBe(false);
    const answer = JSON.parse(text) as { run_id: string; status: string; lane: string };
    expect(answer).toMatchObject({ status: 'queued', lane: 'B', runs_ahead_in_lane: 0 });
    const run = await store.getRun(answer.run_id);
    expect(run).toMatchObject({ session_id: session.id, lane: 'B', intent: 'npm test', executor: 'shell', status: 'queued' });
    expect((await store.listRuns({ sessionId: session.id, lane: 'B', status: ['queued'] })).map((r) => r.id)).toEqual([run.id]);

    const listed = JSON.parse((await callTool('list_sessions', {})).text) as { sessions: Array<{ lanes: Array<{ lane: string; state: string; queued: number }> }> };
    expect(listed.sessions[0]!.lanes.map((l) => [l.lane, l.state, l.queued])).toEqual([['A', 'idle', 0], ['B', 'queued', 1]]);
  });

  it('read_log reads a run\'s log as plain text', async () => {
    const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'echo hi' });
    await store.registerWorker({ id: 'mcp-test-worker', host: 'test', pid: process.pid, concurrency: 1, labels: {} });
    const { claimed } = await store.finishAndClaim('mcp-test-worker', [], 1, { sessions: [session.id], lanes: ['A'] });
    expect(claimed.map((r) => r.id)).toEqual([run.id]);
    await store.appendEvents({ runId: run.id, workerId: 'mcp-test-worker', attempt: claimed[0]!.attempt }, [
      { stream: 'stdout', text: '\x1b[1mhi\x1b[0m' },
      { stream: 'stdout', text: 'bye' },
    ]);
    const { isError, text } = await callTool('read_log', { run: run.id, tail: 1 });
    expect(isError, text).toBe(false);
    expect(text.split('\n').slice(1)).toEqual(['lines 2-2 of 2 (the run is running; more lines may come):', '2  bye', '']);
    expect((await callTool('read_log', { run: run.id, search: 'HI' })).text).toContain('\n1  hi\n');
    expect(JSON.parse((await callTool('get_run', { run: run.id })).text)).toMatchObject({ status: 'running', worker: 'mcp-test-worker' });
  });

  it('answers bad input with a tool error that names the field, and keeps serving', async () => {
    const lane = await callTool('queue_run', { session: session.id, lane: 'no spaces!', intent: 'x' });
    expect(lane.isError).toBe(true);
    expect(lane.text).toMatch(/lane/);
    expect(lane.text).toMatch(/a lane name is 1 to 16 letters/);
    const missing = await callTool('queue_run', { session: session.id, lane: 'Z', intent: 'x' });
    expect(missing).toEqual({ isError: true, text: `lane: "Z" is not a lane of session "MCP session" (use one of its lanes: A, B)` });
    const unknown = await callTool('get_run', { run: 'abcdef12' });
    expect(unknown).toEqual({ isError: true, text: 'run: no run has the id "abcdef12" (queue_run and list_sessions give run ids)' });
    expect((await callTool('list_sessions', {})).isError).toBe(false);
    expect(stderr).toBe('');
  });
});

describe('ocr mcp refuses to start', () => {
  it('on a database it cannot use, in one line on stderr and nothing on stdout', async () => {
    const r = await runOcr(['mcp', '--db', 'postgres://nobody@127.0.0.1:1/none']);
    expect(r.stdout).toBe('');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^ocr: .*\n$/);
  });
});
