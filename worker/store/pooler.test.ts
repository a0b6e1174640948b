// The Postgres store through PgBouncer, as through Supabase's poolers: in transaction mode (port 6543's kind: each
// statement on whichever server connection is free, two of them for many clients here) it finds out at connect that
// LISTEN delivers nothing, says once that it polls, and the worker engine, log following and session watching all work
// by polling; in session mode it LISTENs as on a direct connection. Workers here never poll on their own (pollMs of
// ten minutes), so what wakes them is the store's notifications or the store's polling.
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal, type Run, type RunEvent, type Session } from '../../domain';
import { eventually, tempDir } from '../engine/git.test-support';
import { Worker, type WorkerOptions } from '../engine/worker';
import { OcrError } from './errors';
import { openStore } from './open';
import { startPgBouncer, type PgBouncer } from './pgbouncer.test-support';
import { knownTransactionPooler, poolerOf } from './pooler';
import type { PostgresStore } from './postgres';
import { createTestDatabase } from './testing';

const dir = tempDir('ocr-pooler-');
afterAll(() => dir.remove());

/** The backends of `database` that are LISTENing for the queue's channels, seen directly on the server. */
async function listeningBackends(url: string, database: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where datname = $1 and query like 'listen ops_queue%'`,
      [database],
    );
    return rows[0]!.n;
  } finally {
    await admin.end();
  }
}

describe.each(['transaction', 'session'] as const)('the store through PgBouncer in %s mode', (poolMode) => {
  let bouncer: PgBouncer;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: PostgresStore;
  /** the same database reached directly: changes made by someone else */
  let direct: PostgresStore;
  const logs: string[] = [];
  const workers: Worker[] = [];
  let openedMs = 0;

  beforeAll(async () => {
    // transaction mode: two server connections for the store's many clients, so statements really move between them;
    // session mode holds one per client, so it needs one per client
    bouncer = await startPgBouncer({ poolMode, poolSize: poolMode === 'transaction' ? 2 : 20 });
    db = await createTestDatabase('ocr_pooler');
    direct = await openStore(db.url);
    const t0 = Date.now();
    store = await openStore(bouncer.url(db.name), { log: (line) => logs.push(line), poolSize: 6 });
    await store.listening();
    openedMs = Date.now() - t0;
  });

  afterAll(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
    await store?.close();
    await direct?.close();
    await db?.drop();
    await bouncer?.stop();
  });

  async function startWorker(session: Session, options: WorkerOptions = {}): Promise<Worker> {
    const worker = new Worker(store, {
      worktreeRoot: path.join(dir.path, 'worktrees'),
      sessions: [session.id],
      pollMs: 600_000,
      recoverMs: 1000,
      ...options,
    });
    workers.push(worker);
    await worker.start();
    return worker;
  }

  async function finished(runId: string, limitMs = 30_000): Promise<Run> {
    let run = await direct.getRun(runId);
    await eventually(async () => isFinal((run = await direct.getRun(runId)).status), `run ${runId} finished`, limitMs);
    return run;
  }

  async function allEvents(runId: string): Promise<RunEvent[]> {
    const events: RunEvent[] = [];
    for (;;) {
      const batch = await direct.listEvents(runId, events.at(-1)?.seq ?? 0, 5000);
      if (batch.length === 0) return events;
      events.push(...batch);
    }
  }

  it(poolMode === 'transaction' ? 'finds out at connect that LISTEN delivers nothing, and says once that it polls' : 'LISTENs, as on a direct connection', async () => {
    const polling = logs.filter((l) => l.startsWith('polling for changes'));
    if (poolMode === 'transaction') {
      expect(store.listenerForTests.notifications).toBe('poll');
      expect(polling).toEqual([
        `polling for changes every 1 s: LISTEN does not deliver notifications through ${bouncer.url(db.name)} (a notification ` +
          `sent from another connection did not arrive within 1000 ms), as behind a transaction-mode pooler such as ` +
          `Supabase's port 6543; a session-mode pooler or a direct connection keeps LISTEN, and ?pooler=transaction in the ` +
          `URL skips this check`,
      ]);
      expect(await listeningBackends(db.url, db.name)).toBe(0);
    } else {
      expect(store.listenerForTests.notifications).toBe('listen');
      expect(polling).toEqual([]);
      expect(await listeningBackends(db.url, db.name)).toBe(1);
    }
    console.log(`${poolMode} mode: store opened, migrated and ready for changes in ${openedMs} ms`);
  });

  it('a worker drains runs in four lanes, one after another in each', async () => {
    const session = await direct.createSession({ title: 'drain', lanes: ['A', 'B', 'C', 'D'] });
    const runs = await direct.createRuns(
      ['A', 'B', 'C', 'D'].flatMap((lane) => [1, 2, 3, 4, 5].map((i) => ({ session_id: session.id, lane, intent: `echo ${lane}${i}` }))),
    );
    const t0 = Date.now();
    const worker = await startWorker(session, { concurrency: 4 });
    await worker.whenIdle();
    const done = await Promise.all(runs.map((r) => finished(r.id)));
    console.log(`${poolMode} mode: 20 runs in 4 lanes drained in ${Date.now() - t0} ms`);
    expect(done.map((r) => r.status)).toEqual(runs.map(() => 'succeeded'));
    for (const run of done) expect((await allEvents(run.id)).map((e) => e.text)).toContain(run.intent.slice(5));
    const time = (t: string | null) => Date.parse(t!);
    for (const lane of ['A', 'B', 'C', 'D']) {
      const inLane = done.filter((r) => r.lane === lane).sort((a, b) => a.seq - b.seq);
      for (let i = 1; i < inLane.length; i++) expect(time(inLane[i]!.started_at)).toBeGreaterThanOrEqual(time(inLane[i - 1]!.finished_at));
    }
    if (poolMode === 'transaction') {
      // more clients than server connections: every statement took whichever of the two was free
      const clients = (await bouncer.show('clients')).filter((c) => c.database === db.name);
      const servers = (await bouncer.show('servers')).filter((s) => s.database === db.name);
      expect(servers.length).toBeLessThanOrEqual(2);
      expect(clients.length).toBeGreaterThan(servers.length);
    }
    await worker.stop();
  });

  it('cancel stops a running run within seconds, without waiting for a heartbeat', async () => {
    const session = await direct.createSession({ title: 'cancel', lanes: ['A'] });
    const run = await direct.createRun({ session_id: session.id, lane: 'A', intent: 'echo started; sleep 600' });
    // a heartbeat every 30 s: a cancel that ends the run sooner came by notification, or by the store's polling
    const worker = await startWorker(session, { heartbeatMs: 30_000, leaseSeconds: 180 });
    await eventually(async () => (await allEvents(run.id)).some((e) => e.text === 'started'), 'the run started');
    const t0 = Date.now();
    expect((await direct.cancelRun(run.id)).outcome).toBe('cancel_requested');
    const done = await finished(run.id);
    const ms = Date.now() - t0;
    console.log(`${poolMode} mode: a running run canceled in ${ms} ms`);
    expect(done.status).toBe('canceled');
    expect(ms).toBeLessThan(10_000);
    expect((await allEvents(run.id)).at(-1)!.text).toMatch(/^canceled: exited/);
    await worker.stop();
  });

  it('followers of a run get every line once, in order, also one that stops and resumes from its last line', async () => {
    const session = await direct.createSession({ title: 'follow', lanes: ['A'] });
    const lines = 3000;
    const run = await direct.createRun({
      session_id: session.id,
      lane: 'A',
      intent: `i=1; while [ $i -le ${lines} ]; do echo "line $i"; [ $((i % 250)) -eq 0 ] && sleep 0.1; i=$((i + 1)); done`,
    });
    const whole: RunEvent[] = [];
    const following = (async () => {
      for await (const batch of store.followRun(run.id, 0, { pollMs: 600_000 })) whole.push(...batch);
    })();
    // the second one stops after some lines, then follows again from the last line it has
    const resumed: RunEvent[] = [];
    const resuming = (async () => {
      const abort = new AbortController();
      for await (const batch of store.followRun(run.id, 0, { pollMs: 600_000, signal: abort.signal, batchSize: 100 })) {
        resumed.push(...batch);
        if (resumed.length >= 500) abort.abort();
      }
      for await (const batch of store.followRun(run.id, resumed.at(-1)?.seq ?? 0, { pollMs: 600_000 })) resumed.push(...batch);
    })();
    const worker = await startWorker(session);
    await Promise.all([following, resuming]);
    const stored = await allEvents(run.id);
    expect(stored.filter((e) => /^line \d+$/.test(e.text)).map((e) => e.text)).toEqual(Array.from({ length: lines }, (_, i) => `line ${i + 1}`));
    expect(whole.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
    expect(resumed.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
    expect(whole.map((e) => e.text)).toEqual(stored.map((e) => e.text));
    expect((await direct.getRun(run.id)).status).toBe('succeeded');
    await worker.stop();
  });

  it('a session watcher sees every change, made here or on another connection; new sessions are told', async () => {
    let sessionsChanged = 0;
    const offSessions = store.onSessionsChange(() => sessionsChanged++);
    await store.listening();
    const before = sessionsChanged;
    const session = await direct.createSession({ title: 'watch', lanes: ['A'] });
    await eventually(() => sessionsChanged > before, 'told of the new session', 10_000);
    offSessions.dispose();

    const seen: string[] = [];
    const watch = store.watchSession(session.id, (snap) => seen.push(snap.runs.map((r) => `${r.intent}:${r.status}`).join(',')), { pollMs: 600_000 });
    await eventually(() => seen.length > 0, 'the first snapshot', 10_000);
    expect(seen[0]).toBe('');
    // long enough to be running at one poll at least
    const run = await direct.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 2.5' });
    await eventually(() => seen.includes('sleep 2.5:queued'), 'queued, created on another connection', 10_000);
    const worker = await startWorker(session);
    await eventually(() => seen.includes('sleep 2.5:running'), 'running', 10_000);
    await eventually(() => seen.includes('sleep 2.5:succeeded'), 'succeeded', 10_000);
    watch.dispose();
    expect((await direct.getRun(run.id)).status).toBe('succeeded');
    await worker.stop();
  });
});

describe('how a store on a URL hears of changes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('ocr_pooler');
  });
  afterAll(async () => db?.drop());

  const given = '--db "postgres://u:***@h/d"';

  it('a direct connection LISTENs after a probe of a few milliseconds', async () => {
    const logs: string[] = [];
    const t0 = Date.now();
    const store = await openStore(db.url, { log: (l) => logs.push(l) });
    const opened = Date.now() - t0;
    const t1 = Date.now();
    await store.listening();
    const probed = Date.now() - t1;
    console.log(`direct connection: opened in ${opened} ms, LISTEN checked and ready in ${probed} ms`);
    expect(store.listenerForTests.notifications).toBe('listen');
    expect(logs.filter((l) => l.startsWith('polling'))).toEqual([]);
    expect(probed).toBeLessThan(1000);
    await store.close();
  });

  it('?pooler=transaction polls at once, without a probe, and says why; node-postgres never sees the parameter', async () => {
    const logs: string[] = [];
    const url = new URL(db.url);
    url.searchParams.set('pooler', 'transaction');
    const store = await openStore(url.toString(), { log: (l) => logs.push(l) });
    const t0 = Date.now();
    await store.listening();
    expect(Date.now() - t0).toBeLessThan(500);
    expect(store.listenerForTests.notifications).toBe('poll');
    expect(logs.filter((l) => l.startsWith('polling'))).toEqual([
      'polling for changes every 1 s: the URL says pooler=transaction (a transaction-mode pooler delivers no LISTEN notifications)',
    ]);
    const s = await store.createSession({ title: 'forced' });
    expect((await store.getSession(s.id)).title).toBe('forced');
    await store.close();
  });

  it('refuses a pooler it does not know, in one line naming the value and the choices', async () => {
    const url = new URL(db.url);
    url.searchParams.set('pooler', 'bogus');
    const refusal = await openStore(url.toString()).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(OcrError);
    expect((refusal as OcrError).code).toBe('invalid_input');
    expect((refusal as OcrError).message).toBe(`--db "${url.toString()}": pooler=bogus is not one of auto, transaction, session, none`);
    expect(() => poolerOf(db.url, { given, env: { OCR_POOLER: 'txn' } })).toThrow('OCR_POOLER "txn" is not one of auto, transaction, session, none');
  });

  it('takes ?pooler= first, then OCR_POOLER, then what the URL says of itself', () => {
    const supabase = 'postgres://postgres.abcdefgh:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres';
    expect(poolerOf(supabase, { given })).toEqual({
      url: supabase,
      notifications: { mode: 'poll', because: "aws-0-eu-central-1.pooler.supabase.com:6543 is Supabase's transaction pooler" },
    });
    // the same pooler's session mode, and the project's direct address, are found out at connect
    expect(poolerOf(supabase.replace(':6543', ':5432'), { given }).notifications).toEqual({ mode: 'auto' });
    expect(poolerOf('postgres://postgres:pw@db.abcdefgh.supabase.co:5432/postgres', { given }).notifications).toEqual({ mode: 'auto' });
    expect(knownTransactionPooler(new URL('postgres://u@h:6432/d?pgbouncer=true'))).toBe('the URL says pgbouncer=true (PgBouncer in transaction mode)');
    expect(poolerOf(`${supabase}?pooler=session&sslmode=require`, { given })).toEqual({
      url: `${supabase}?sslmode=require`,
      notifications: { mode: 'listen', because: 'the URL says pooler=session' },
    });
    expect(poolerOf(supabase, { given, env: { OCR_POOLER: 'session' } }).notifications).toEqual({ mode: 'listen', because: 'OCR_POOLER=session' });
    expect(poolerOf('postgres://u@h/d', { given, env: { OCR_POOLER: 'Transaction' } }).notifications).toEqual({ mode: 'poll', because: 'OCR_POOLER=transaction' });
    expect(poolerOf('postgres://u@h/d?pooler=none', { given, env: { OCR_POOLER: 'transaction' } })).toEqual({
      url: 'postgres://u@h/d',
      notifications: { mode: 'listen', because: 'the URL says pooler=none' },
    });
    expect(poolerOf('postgres://u@h/d?pooler=auto', { given, env: { OCR_POOLER: 'transaction' } }).notifications).toEqual({ mode: 'auto' });
  });
});
