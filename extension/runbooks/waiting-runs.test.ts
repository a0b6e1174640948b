// The sessions model tells who listens (the approval notification) when a run stops at an approval gate: when it goes
// to waiting, when it waits again at a later gate, and when it was waiting already as its session was first read. A
// real worker runs a real runbook against a database of its own; nothing of VS Code is needed.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal } from '../../domain';
import { eventually, tempDir } from '../../worker/engine/git.test-support';
import { Worker } from '../../worker/engine/worker';
import { parseRunbook, type RunbookFile } from '../../worker/runbooks/files';
import { SecretBox } from '../../worker/runbooks/secrets';
import { queueRunbookRun } from '../../worker/runs/queue-runbook-run';
import { openStore } from '../../worker/store/open';
import type { PostgresStore } from '../../worker/store/postgres';
import { createTestDatabase } from '../../worker/store/testing';
import type { Log } from '../log';
import { Emitter, SessionsModel, type RunTransition, type WaitingRun } from '../sessions/sessions-model';

const dir = tempDir('ocr-waiting-');
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let worker: Worker | undefined;
const models: SessionsModel[] = [];
const errors: string[] = [];
const log: Log = { info: () => undefined, warn: (m) => void errors.push(m), error: (m, e) => void errors.push(`${m}: ${(e as Error | undefined)?.message ?? ''}`) };

beforeAll(async () => {
  db = await createTestDatabase('ocr_waiting');
  store = await openStore(db.url);
});

afterAll(async () => {
  for (const m of models) m.dispose();
  await worker?.stop({ graceMs: 0 });
  await store?.close();
  await db?.drop();
  dir.remove();
});

function listen(): { model: SessionsModel; waiting: WaitingRun[]; finished: RunTransition[] } {
  const model = new SessionsModel({ store: async () => store, onDidChange: new Emitter<unknown>().event }, log);
  models.push(model);
  const waiting: WaitingRun[] = [];
  const finished: RunTransition[] = [];
  model.onDidStartWaiting((e) => void waiting.push(e));
  model.onDidFinishRun((e) => void finished.push(e));
  return { model, waiting, finished };
}

const gated = (): RunbookFile => {
  const parsed = parseRunbook(
    `name: two-gates
title: Two gates
env: prod
steps:
  - id: first
    approval: { message: "Start?" }
  - id: work
    run: echo working
  - id: second
    approval: { message: "Finish?" }
`,
    path.join(dir.path, 'two-gates.yaml'),
  );
  if ('problems' in parsed) throw new Error(JSON.stringify(parsed.problems));
  return parsed;
};

describe('runs waiting for approval, as the sessions model reports them', () => {
  it('fires at each gate once, and for a run already waiting when its session is first read', async () => {
    const { model, waiting, finished } = listen();
    await model.ensureStarted();
    const session = await store.createSession({ title: 'gates', lanes: ['A'] });
    await eventually(() => model.session(session.id) !== undefined, 'the model sees the session');
    await model.loaded(session.id);
    const run = await queueRunbookRun(store, gated(), { session_id: session.id, lane: 'A' }, () => SecretBox.fromFile(path.join(dir.path, 'key'), { create: true }));
    worker = new Worker(store, { worktreeRoot: path.join(dir.path, 'worktrees'), sessions: [session.id], pollMs: 100, recoverMs: 200 });
    await worker.start();

    await eventually(() => waiting.length === 1, 'the first gate is reported');
    expect(waiting[0]).toMatchObject({ run: { id: run.id, status: 'waiting', approval: { step_id: 'first', message: 'Start?' } } });
    expect(['queued', 'running']).toContain(waiting[0]!.previous);

    // a second model, started while the run waits: what it reads first is reported too
    const late = listen();
    await late.model.ensureStarted();
    await late.model.loaded(session.id);
    await eventually(() => late.waiting.length === 1, 'the late model reports the waiting run');
    expect(late.waiting[0]).toMatchObject({ run: { id: run.id, approval: { step_id: 'first' } }, previous: undefined });

    await store.approveRun(run.id, 'go');
    await eventually(() => waiting.length === 2, 'the second gate is reported');
    expect(waiting[1]).toMatchObject({ run: { id: run.id, status: 'waiting', approval: { step_id: 'second', message: 'Finish?' } } });

    const rejected = await store.rejectRun(run.id, 'not now');
    expect(rejected).toMatchObject({ status: 'canceled', error: 'rejected: not now' });
    await eventually(() => finished.some((f) => f.run.id === run.id), 'the end is reported');
    expect(finished.find((f) => f.run.id === run.id)).toMatchObject({ run: { status: 'canceled' }, previous: 'waiting' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(waiting.map((w) => w.run.approval?.step_id)).toEqual(['first', 'second']);
    expect(late.waiting.map((w) => w.run.approval?.step_id)).toEqual(['first', 'second']);
    expect(isFinal((await store.getRun(run.id)).status)).toBe(true);
    expect(errors).toEqual([]);
  });
});

