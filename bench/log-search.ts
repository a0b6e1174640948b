// Log search benchmark: a database of 10 million log lines over 20,000 runs of 200 sessions (made in SQL with
// generate_series: npm, node, cargo, webpack, docker, psql and test-runner lines, colors included), put into search
// chunks by ops.index_logs as workers would; then the p50/p95 time of about 50 varied searches through
// ops.search_logs (target: p95 under 100 ms), and how fast log lines are stored with log search and without it
// (target: append_events loses under 20 %). Prints markdown tables. Run with `npm run bench:log-search`.
//
// BENCH_LOG_LINES (10,000,000), BENCH_REPEATS (5 timed calls of each search), BENCH_APPEND_LINES (200,000 lines a
// round), BENCH_APPEND_ROUNDS (3); BENCH_LOG_COMPARE=1 also measures append_events with the two per-line indexes this
// design was chosen over (GIN on to_tsvector, pg_trgm's GIN), built on the 10 million lines (several minutes more).
// BENCH_LOG_KEEP=1 keeps the filled database (its URL is printed); BENCH_LOG_DB=<that URL> measures it again without
// filling it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { isFinal, type Run } from '../domain';
import { Worker } from '../worker/engine/worker';
import type { LogSearchQuery } from '../worker/store/log-search';
import { PostgresStore } from '../worker/store/postgres';
import { createTestDatabase, testServerUrl } from '../worker/store/testing';
import { percentile } from './peers/stats';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 10_000_000);
const LINES_PER_RUN = 500;
const RUNS = Math.max(1, Math.round(LINES / LINES_PER_RUN));
const SESSIONS = 200;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const APPEND_LINES = Number(process.env.BENCH_APPEND_LINES ?? 200_000);
const APPEND_ROUNDS = Number(process.env.BENCH_APPEND_ROUNDS ?? 3);
const COMPARE = process.env.BENCH_LOG_COMPARE === '1';
const TARGET_MS = 100;

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const whole = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (v: number[]) => percentile(v, 50) ?? NaN;

/**
 * The lines: each run writes LINES_PER_RUN of them, half a second apart; four runs at a time, in batches of 100, so a
 * run's lines lie in the table as a worker leaves them. Most are the chatter of builds and tests; a few in a thousand
 * are errors, and a failed run ends with a dozen.
 */
async function fill(admin: pg.Client): Promise<void> {
  await admin.query(
    `insert into ops.sessions (title, intent, lanes, repo_id)
     select 'Session ' || i, 'bench', array['A','B','C','D'], 'bench' from generate_series(1, $1) i`,
    [SESSIONS],
  );
  await admin.query(
    `insert into ops.runs (session_id, lane, intent, executor, spec, status, attempt, created_at, started_at, finished_at, exit_code, updated_at)
     select s.ids[1 + (g % $2)], (array['A','B','C','D'])[1 + (g / $2) % 4], 'npm run task-' || (g % 50), 'shell', '{}'::jsonb,
            case when g % 20 = 7 then 'failed' when g % 20 = 13 then 'canceled' else 'succeeded' end, 1,
            t.at, t.at + interval '1 s', t.at + interval '10 min',
            case when g % 20 = 7 then 1 when g % 20 = 13 then null else 0 end, now()
       from generate_series(1, $1) g
      cross join (select array_agg(id order by created_at) as ids from ops.sessions) s
      cross join lateral (select now() - interval '90 days' + (g::float8 / $1) * interval '89 days' as at) t`,
    [RUNS, SESSIONS],
  );
  await admin.query(`create temp table bench_runs as select row_number() over (order by seq) as n, id, started_at from ops.runs`);
  await admin.query(
    `insert into ops.run_events (run_id, seq, ts, stream, level, text)
     select r.id, l, r.started_at + l * interval '500 ms',
            case when k < 8 then 'stderr' else 'stdout' end, case when k < 8 then 'error' else 'info' end,
            case k
              when 0 then 'npm ERR! code ELIFECYCLE'
              when 1 then 'npm ERR! errno ' || (h % 3 + 1)
              when 2 then 'Error: connect ECONNREFUSED 127.0.0.1:' || (5432 + h % 4)
              when 3 then '    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:' || (1000 + h % 700) || ':' || (h % 20) || ')'
              when 4 then E'\\x1b[31mFAIL\\x1b[39m src/' || w1 || '/' || w2 || (h % 97) || '.test.ts'
              when 5 then 'TypeError: Cannot read properties of undefined (reading ''' || w2 || ''')'
              when 6 then '    at ' || w1 || '.' || w2 || ' (/home/ci/work/app/src/' || w1 || '/' || w2 || (h % 97) || '.ts:' || (h % 400) || ':' || (h % 60) || ')'
              when 7 then 'warning: ' || w1 || '/' || w2 || '.ts(' || (h % 300) || ',' || (h % 40) || '): ''' || w2 || ''' is declared but its value is never read.'
              when 8 then E'\\x1b[32m✓\\x1b[39m src/' || w1 || '/' || w2 || (h % 97) || '.test.ts (' || (h % 40 + 1) || ' tests) ' || (h % 900) || 'ms'
              when 9 then '[' || to_char(r.started_at + l * interval '500 ms', 'HH24:MI:SS') || '] INFO  ' || w1 || ': processed ' || (h % 10000) || ' records in ' || (h / 7 % 5000) || ' ms'
              when 10 then 'Downloading ' || w2 || '-' || (h % 9) || '.' || (h % 30) || '.' || (h % 12) || '.tgz (' || (h % 900) || ' kB)'
              when 11 then 'commit ' || md5(h::text)
              when 12 then 'GET /api/' || w1 || '/' || (h % 1000) || ' ' || (array['200','200','200','201','304','404','500'])[1 + h % 7] || ' ' || (h % 300) || 'ms request_id=' || substr(md5((h::bigint * 7)::text), 1, 16)
              when 13 then '  ' || w2 || ' ' || w1 || ' ' || w2 || 's the ' || w1 || ' with ' || (h % 100) || ' ' || w2 || ' items'
              when 14 then 'webpack 5.' || (h % 90) || '.0 compiled successfully in ' || (h % 9000) || ' ms'
              when 15 then 'Step ' || (h % 20) || '/20 : RUN ' || w1 || ' install --frozen-lockfile'
              when 16 then 'ok ' || (h % 500) || ' - ' || w2 || ' ' || w1 || ' should ' || w2 || ' when ' || w1 || ' is empty'
              when 17 then 'psql: error: connection to server at "db-' || (h % 20) || '.internal" (10.0.' || (h % 255) || '.' || (h % 250) || '), port 5432 failed: timeout expired'
              else 'Compiling ' || w1 || ' v0.' || (h % 40) || '.' || (h % 10) || ' (/home/ci/.cargo/registry/src/' || w2 || '-' || (h % 30) || ')'
            end
       from bench_runs r
      cross join generate_series(1, $1::int) l
      cross join lateral (select hashint8(r.n * 100000 + l) & 2147483647 as h) hh
      cross join lateral (
        select case when (h % 1000) < 3 or (r.n % 20 = 7 and l > $1 - 12) then (h % 8) else 8 + (h % 11) end as k,
               (array['auth','billing','checkout','search','users','orders','cart','payments','inventory','reports','admin','session','router','cache','queue','mailer','upload','profile','settings','analytics'])[1 + (h / 7) % 20] as w1,
               (array['parse','render','fetch','validate','compute','format','load','save','merge','sync','resolve','handle','build','update','delete','create','list','sort','filter','map','reduce','encode','decode','retry','flush'])[1 + (h / 131) % 25] as w2) kk
      order by r.n / 4, l / 100, r.n, l`,
    [LINES_PER_RUN],
  );
  // every run has ended: the chunks cover all its lines
  await admin.query('vacuum analyze ops.runs, ops.run_events');
}

/** ops.index_logs until nothing is left, as workers call it (each call about a second of work here). */
async function indexEverything(admin: pg.Client): Promise<{ seconds: number; lines: number }> {
  const t0 = now();
  let lines = 0;
  for (;;) {
    const n = Number((await admin.query<{ n: number }>('select ops.index_logs(1000) as n')).rows[0]!.n);
    if (n === 0) break;
    lines += n;
    if (lines % 1_000_000 < n) process.stderr.write(`  ${whole(lines)} lines in chunks (${fmt((now() - t0) / 1000)} s)\n`);
  }
  await admin.query('vacuum analyze ops.log_chunks');
  return { seconds: (now() - t0) / 1000, lines };
}

interface Case {
  label: string;
  query: LogSearchQuery;
}

async function cases(admin: pg.Client): Promise<Case[]> {
  const one = async (sql: string) => (await admin.query<{ v: string }>(sql)).rows[0]!.v;
  const commit = (await one(`select substr(text, 8, 12) as v from ops.run_events where text like 'commit %' offset 4321 limit 1`));
  const request = (await one(`select substring(text from 'request_id=(.{10})') as v from ops.run_events where text like 'GET /api/%' offset 777 limit 1`));
  const session = await one(`select id::text as v from ops.sessions order by created_at offset 17 limit 1`);
  const day = 86_400_000;
  const q = (label: string, query: string, extra: Partial<LogSearchQuery> = {}): Case => ({ label, query: { query, ...extra } });
  return [
    // error messages people paste
    q('an error code', 'ECONNREFUSED'),
    q('the same, lower case', 'econnrefused'),
    q('a piece of it', 'ECONNREF'),
    q('npm', 'npm ERR!'),
    q('npm, one errno', 'npm ERR! errno 3'),
    q('npm lifecycle', 'ELIFECYCLE'),
    q('a TypeError', 'TypeError'),
    q('its message', 'Cannot read properties of undefined'),
    q('its message and key', "reading 'flush'"),
    q('a stack frame', 'afterConnect [as oncomplete]'),
    q('a node internal', 'node:net:1234'),
    q('a timeout', 'timeout expired'),
    q('a host', 'db-13.internal'),
    q('an address', '127.0.0.1:5435'),
    q('a port that failed', 'port 5432 failed'),
    q('a compiler warning', 'is declared but its value is never read'),
    q('a warning about one name', "'merge' is declared"),
    // files and paths
    q('a test file', 'merge33.test.ts'),
    q('a source file', 'payments/retry17.ts'),
    q('a folder', 'src/checkout/'),
    q('a failing suite', 'FAIL src/billing'),
    q('a crate', 'registry/src/encode-7'),
    q('a package', 'validate-3.12.'),
    // ids and hashes
    q('a commit hash', commit),
    q('a request id', request),
    q('a version', 'v0.31.1'),
    // numbers
    q('a 4-digit number', '5433'),
    q('an HTTP status', ' 404 '),
    q('a count of tests', '(39 tests)'),
    q('a record count', 'processed 4033 records'),
    q('a build step', 'Step 17/20'),
    // everyday words: in almost every chunk
    q('a frequent word', 'checkout'),
    q('a frequent phrase', 'compiled successfully'),
    q('a flag', 'frozen-lockfile'),
    q('a log level', 'INFO'),
    q('a test line', 'should merge when'),
    q('a passing suite', '✓ src/cart/'),
    q('downloads', 'Downloading'),
    // nothing holds these
    q('absent: a sentence', 'no line says this'),
    q('absent: an errno', 'ENOSPC'),
    q('absent: a JVM error', 'OutOfMemoryError'),
    q('absent: a segfault', 'Segmentation fault'),
    // narrowed
    q('an error, one session', 'ECONNREFUSED', { session_id: session }),
    q('a frequent word, one session', 'checkout', { session_id: session }),
    q('npm, failed runs', 'npm ERR!', { status: ['failed'] }),
    q('an error, lane B', 'TypeError', { lane: 'B' }),
    q('a timeout, the last 7 days', 'timeout expired', { since: new Date(Date.now() - 7 * day).toISOString() }),
    q('an error, one day 30 days ago', 'ECONNREFUSED', { since: new Date(Date.now() - 31 * day).toISOString(), until: new Date(Date.now() - 30 * day).toISOString() }),
    q('200 hits of a frequent word', 'compiled successfully', { limit: 200 }),
    q('an error, 10 lines around', 'ELIFECYCLE', { context: 10 }),
  ];
}

async function timeSearch(store: PostgresStore, query: LogSearchQuery): Promise<{ ms: number; hits: number }> {
  await store.searchLogs(query); // plans and warms the cache; not counted
  const samples: number[] = [];
  let hits = 0;
  for (let i = 0; i < REPEATS; i++) {
    const t = now();
    hits = (await store.searchLogs(query)).length;
    samples.push(now() - t);
  }
  return { ms: median(samples), hits };
}

/** A run whose lines are stored by a real worker (the engine's Worker, its LogWriter): lines per second end to end. */
async function workerThroughput(store: PostgresStore, root: string, recoverMs: number): Promise<number> {
  const session = await store.createSession({ title: 'bench: log throughput', lanes: ['A'] });
  const worker = new Worker(store, { id: `bench-log-${randomBytes(3).toString('hex')}`, worktreeRoot: root, sessions: [session.id], recoverMs });
  await worker.start();
  const run = await store.createRun({
    session_id: session.id,
    lane: 'A',
    intent: `awk 'BEGIN { for (i = 1; i <= ${APPEND_LINES}; i++) printf "line %d of the benchmark: \\033[32mok\\033[0m src/app/file%d.ts and some more text\\n", i, i % 97 }'`,
  });
  const t0 = now();
  let done: Run;
  for (;;) {
    done = await store.getRun(run.id);
    if (isFinal(done.status)) break;
    await sleep(20);
  }
  const seconds = (now() - t0) / 1000;
  await worker.stop({ graceMs: 0 });
  if (done.status !== 'succeeded') throw new Error(`the benchmark's run ended ${done.status}`);
  return APPEND_LINES / seconds;
}

/** append_events itself: batches of 1,000 lines (what a LogWriter sends under load) into one running run. */
async function appendThroughput(store: PostgresStore): Promise<number> {
  const session = await store.createSession({ title: 'bench: append_events', lanes: ['A'] });
  const run = await store.createRun({ session_id: session.id, lane: 'A', intent: 'append' });
  const workerId = `bench-append-${randomBytes(3).toString('hex')}`;
  await store.registerWorker({ id: workerId, host: os.hostname(), pid: process.pid, concurrency: 1, labels: {} });
  const [claimed] = await store.claimRuns(workerId, 1, { sessions: [session.id] });
  const lease = { runId: run.id, workerId, attempt: claimed!.attempt };
  const t0 = now();
  for (let i = 0; i < APPEND_LINES; i += 1000) {
    await store.appendEvents(lease, Array.from({ length: 1000 }, (_, j) => ({ stream: 'stdout' as const, text: `line ${i + j}: \x1b[32mok\x1b[0m src/app/file${(i + j) % 97}.ts compiled in ${(i + j) % 900} ms` })));
  }
  const rate = APPEND_LINES / ((now() - t0) / 1000);
  await store.finishAndClaim(workerId, [{ runId: run.id, attempt: lease.attempt, status: 'succeeded', exitCode: 0 }], 0);
  return rate;
}

/** Calls ops.index_logs back to back on a connection of its own until stopped: the indexer at its busiest. */
function busyIndexer(url: string): { stop(): Promise<number> } {
  let stopping = false;
  let lines = 0;
  const client = new pg.Client({ connectionString: url });
  const loop = (async () => {
    await client.connect();
    while (!stopping) {
      const n = Number((await client.query<{ n: number }>('select ops.index_logs(250) as n')).rows[0]!.n);
      lines += n;
      if (n === 0) await sleep(20);
    }
    await client.end();
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return lines;
    },
  };
}

async function main(): Promise<void> {
  const reuse = process.env.BENCH_LOG_DB;
  const db = reuse ? { url: reuse, drop: async () => undefined } : await createTestDatabase('ocr_bench_logs');
  const store = new PostgresStore({ url: db.url, poolSize: 4 });
  const admin = new pg.Client({ connectionString: db.url });
  const server = new pg.Client({ connectionString: testServerUrl() });
  const login = `ocr_bench_logs_${randomBytes(4).toString('hex')}`;
  let client: PostgresStore | undefined;
  // a client that never connected would hold its queries forever: only connected ones are used in the end
  let connected = false;
  const root = mkdtempSync(path.join(os.tmpdir(), 'ocr-bench-logs-'));
  try {
    await admin.connect();
    await server.connect();
    connected = true;
    await store.migrate();
    const version = (await admin.query<{ v: string }>("select current_setting('server_version') as v")).rows[0]!.v;

    let filled = 0;
    let indexed = { seconds: 0, lines: 0 };
    if (!reuse) {
      process.stderr.write(`filling ${whole(RUNS * LINES_PER_RUN)} lines over ${whole(RUNS)} runs…\n`);
      const t = now();
      await fill(admin);
      filled = (now() - t) / 1000;
      process.stderr.write(`filled in ${fmt(filled)} s; putting them into chunks…\n`);
      indexed = await indexEverything(admin);
      if (process.env.BENCH_LOG_KEEP === '1') process.stderr.write(`kept: BENCH_LOG_DB=${db.url}\n`);
    }
    const size = (await admin.query<{ events: string; chunks: string; trigram: string; chunk_count: string }>(
      `select pg_size_pretty(pg_total_relation_size('ops.run_events')) as events,
              pg_size_pretty(pg_total_relation_size('ops.log_chunks')) as chunks,
              coalesce(pg_size_pretty(pg_relation_size(to_regclass('ops.log_chunks_text'))), 'none') as trigram,
              (select count(*) from ops.log_chunks)::text as chunk_count`,
    )).rows[0]!;

    process.stderr.write('searching…\n');
    const list = await cases(admin);
    const results: Array<{ label: string; query: LogSearchQuery; ms: number; hits: number }> = [];
    for (const c of list) results.push({ ...c, ...(await timeSearch(store, { limit: 50, ...c.query })) });
    const times = results.map((r) => r.ms);
    const p50 = percentile(times, 50)!;
    const p95 = percentile(times, 95)!;

    // a client login, which reads its own sessions only: here it owns them all
    await server.query(`create role ${login} login in role ocr_client`);
    await admin.query('update ops.sessions set owner = $1', [login]);
    const url = new URL(db.url);
    url.username = login;
    url.password = '';
    client = new PostgresStore({ url: url.toString(), poolSize: 2 });
    const asClient = [];
    for (const c of [list[0]!, list[31]!, list[38]!]) asClient.push({ label: `${c.label}, as an ocr_client login`, query: c.query, ...(await timeSearch(client, { limit: 50, ...c.query })) });
    await admin.query('update ops.sessions set owner = session_user');

    process.stderr.write('storing log lines with and without log search…\n');
    const rows: Record<string, { worker: number[]; append: number[] }> = { off: { worker: [], append: [] }, ticks: { worker: [], append: [] }, busy: { worker: [], append: [] } };
    let busyLines = 0;
    for (let round = 0; round < APPEND_ROUNDS; round++) {
      // without log search: nobody puts lines into chunks (append_events is the same function either way)
      rows.off!.worker.push(await workerThroughput(store, root, 3_600_000));
      rows.off!.append.push(await appendThroughput(store));
      // as workers run it: ops.index_logs in each worker's maintenance tick, every 5 s
      rows.ticks!.worker.push(await workerThroughput(store, root, 5000));
      const ticker = setInterval(() => void store.indexLogs().catch(() => undefined), 5000);
      rows.ticks!.append.push(await appendThroughput(store));
      clearInterval(ticker);
      // the indexer flat out beside it, on the same two cores
      const busy = busyIndexer(db.url);
      rows.busy!.worker.push(await workerThroughput(store, root, 3_600_000));
      rows.busy!.append.push(await appendThroughput(store));
      busyLines += await busy.stop();
    }
    while ((await store.indexLogs(1000)) > 0);

    let compare: Array<[string, number]> = [];
    if (COMPARE) {
      process.stderr.write('append_events with an index on every line (building each takes minutes)…\n');
      await admin.query(`set maintenance_work_mem = '1GB'`);
      const schema = (await admin.query<{ s: string }>(`select n.nspname as s from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'pg_trgm'`)).rows[0]!.s;
      for (const [label, ddl] of [
        ['GIN on to_tsvector(\'simple\', text), on every line', `create index bench_per_line on ops.run_events using gin (to_tsvector('simple', text))`],
        ['pg_trgm GIN on every line', `create index bench_per_line on ops.run_events using gin (text "${schema}".gin_trgm_ops)`],
      ] as const) {
        await admin.query(ddl);
        const rates: number[] = [];
        for (let round = 0; round < APPEND_ROUNDS; round++) rates.push(await appendThroughput(store));
        compare.push([label, median(rates)]);
        await admin.query('drop index ops.bench_per_line');
      }
    }

    const base = median(rows.off!.append);
    const baseWorker = median(rows.off!.worker);
    const lost = (rate: number, of: number) => `${fmt(100 * (1 - rate / of))} %`;
    console.log(`# Log search benchmark — ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, PostgreSQL ${version}, Node ${process.version}\n`);
    console.log(reuse
      ? `The database of an earlier run (${whole(Number(size.chunk_count))} chunks).`
      : `${whole(indexed.lines)} lines over ${whole(RUNS)} runs of ${SESSIONS} sessions, filled in ${fmt(filled)} s; put into ${whole(Number(size.chunk_count))} chunks by ops.index_logs in ${fmt(indexed.seconds)} s (${whole(indexed.lines / indexed.seconds)} lines/s).`);
    console.log(`Sizes: the lines ${size.events}; the chunks ${size.chunks}, of which the trigram index ${size.trigram}.\n`);
    console.log(`## Searches: ${list.length} of them, the newest 50 hits each (unless told), median of ${REPEATS} calls\n`);
    console.log(`**p50 ${fmt(p50)} ms, p95 ${fmt(p95)} ms** — target p95 under ${TARGET_MS} ms: ${p95 < TARGET_MS ? 'met' : '**missed**'}\n`);
    console.log('| search | text | hits | ms |');
    console.log('|---|---|---:|---:|');
    for (const r of [...results, ...asClient]) {
      const extra = Object.entries(r.query).filter(([k]) => k !== 'query').map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(',') : String(v).slice(0, 10)}`);
      console.log(`| ${r.label} | \`${r.query.query.replace(/\|/g, '\\|')}\`${extra.length ? ` (${extra.join(', ')})` : ''} | ${r.hits} | ${fmt(r.ms)} |`);
    }
    console.log(`\n## Storing log lines: median of ${APPEND_ROUNDS} rounds of ${whole(APPEND_LINES)} lines\n`);
    console.log('| log search | append_events, lines/s (batches of 1,000) | lost | a worker end to end, lines/s | lost |');
    console.log('|---|---:|---:|---:|---:|');
    const row = (label: string, r: { worker: number[]; append: number[] }) =>
      console.log(`| ${label} | ${whole(median(r.append))} | ${lost(median(r.append), base)} | ${whole(median(r.worker))} | ${lost(median(r.worker), baseWorker)} |`);
    row('off: nothing puts lines into chunks (as before log search)', rows.off!);
    row('on, as workers run it: ops.index_logs in each maintenance tick (5 s)', rows.ticks!);
    row(`on, the indexer flat out beside it (${whole(busyLines)} lines put into chunks meanwhile)`, rows.busy!);
    for (const [label, rate] of compare) console.log(`| rejected: ${label} | ${whole(rate)} | ${lost(rate, base)} | | |`);
  } finally {
    await client?.close();
    await store.close();
    if (connected) {
      await admin.end().catch(() => undefined);
      await server.query(`drop role if exists ${login}`).catch(() => undefined);
      await server.end().catch(() => undefined);
    }
    if (process.env.BENCH_LOG_KEEP !== '1') await db.drop();
    rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
