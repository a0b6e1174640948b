// `ocr search` as a user runs it (the built bundle, a real PostgreSQL): the lines of two sessions' runs that hold a
// text, one per line with where they are, the lines around them with --context, one JSON array with --json, narrowed
// by each flag, and a wrong flag refused in one line.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Run, type Session, shortId } from '../../domain';
import { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { type CliResult, refused, runOcr } from './cli.test-support';
import { hitLines, markMatches } from './search-command';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let web: Session;
let api: Session;
const runs: Record<string, Run> = {};
const worker = `cli-search-${randomBytes(3).toString('hex')}`;
const day = (d: number, minute = 0) => new Date(Date.UTC(2026, 10, d, 9, minute)).toISOString();

const ocr = (...args: string[]): Promise<CliResult> => runOcr(args, { env: { OCR_DATABASE_URL: db.url } });
const ok = (r: CliResult): string => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
};

async function write(run: Run, lines: Array<[string, string]>, status: 'succeeded' | 'failed'): Promise<void> {
  const [claimed] = await store.claimRuns(worker, 1, { sessions: [run.session_id], lanes: [run.lane] });
  expect(claimed?.id).toBe(run.id);
  await store.appendEvents({ runId: run.id, workerId: worker, attempt: claimed!.attempt }, lines.map(([ts, text]) => ({ stream: 'stdout', text, ts })));
  await store.finishAndClaim(worker, [{ runId: run.id, attempt: claimed!.attempt, status, exitCode: status === 'succeeded' ? 0 : 1 }], 0);
}

beforeAll(async () => {
  db = await createTestDatabase('ocr_cli_search');
  store = new PostgresStore({ url: db.url });
  await store.migrate();
  await store.registerWorker({ id: worker, host: 'test', pid: process.pid, concurrency: 2, labels: {}, version: 'test' });
  web = await store.createSession({ title: 'Web app', lanes: ['A', 'B'] });
  api = await store.createSession({ title: 'API', lanes: ['A'] });
  runs.build = await store.createRun({ session_id: web.id, lane: 'A', intent: 'npm run build' });
  runs.test = await store.createRun({ session_id: web.id, lane: 'B', intent: 'npm test' });
  runs.seed = await store.createRun({ session_id: api.id, lane: 'A', intent: './seed.sh' });
  await write(runs.build, [[day(1), 'building src/app.ts'], [day(1, 1), 'Error: connect ECONNREFUSED 127.0.0.1:5432'], [day(1, 2), 'retrying']], 'succeeded');
  await write(runs.test, [[day(5), 'PASS src/app.test.ts'], [day(5, 1), '\x1b[31mnpm ERR!\x1b[0m code ELIFECYCLE'], [day(5, 2), 'npm ERR! errno 1']], 'failed');
  await write(runs.seed, [[day(9), 'seeding'], [day(9, 1), 'psql: ECONNREFUSED on port 5432']], 'succeeded');
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

describe('ocr search', () => {
  it('prints one line per hit, newest first: session/lane run seq: the line', async () => {
    expect(ok(await ocr('search', 'econnrefused'))).toBe(
      `API/A ${shortId(runs.seed!.id)} 2: psql: ECONNREFUSED on port 5432\n` +
        `Web app/A ${shortId(runs.build!.id)} 2: Error: connect ECONNREFUSED 127.0.0.1:5432\n`,
    );
  });

  it('prints the lines around each hit with --context, marked with - as grep does', async () => {
    expect(ok(await ocr('search', 'npm ERR! code', '--context', '1'))).toBe(
      [`Web app/B ${shortId(runs.test!.id)} 1- PASS src/app.test.ts`, `Web app/B ${shortId(runs.test!.id)} 2: npm ERR! code ELIFECYCLE`, `Web app/B ${shortId(runs.test!.id)} 3- npm ERR! errno 1`, ''].join('\n'),
    );
  });

  it('gives one JSON array with --json: where each hit is, the line as stored and as read, the match and the lines around it', async () => {
    const rows = JSON.parse(ok(await ocr('--json', 'search', 'npm ERR!'))) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(2);
    expect(rows[1]).toEqual({
      run_id: runs.test!.id,
      session_id: web.id,
      session_title: 'Web app',
      lane: 'B',
      run_status: 'failed',
      run_intent: 'npm test',
      seq: 2,
      ts: day(5, 1),
      stream: 'stdout',
      text: '\x1b[31mnpm ERR!\x1b[0m code ELIFECYCLE',
      line: 'npm ERR! code ELIFECYCLE',
      matches: [{ start: 0, end: 8 }],
      before: ['PASS src/app.test.ts'],
      after: ['npm ERR! errno 1'],
    });
  });

  it.each<[string, string[], number[]]>([
    ['a session by the first characters of its id', ['--session', 'API'], [2]],
    ['a lane', ['--lane', 'B'], []],
    ['run statuses', ['--status', 'failed,canceled'], []],
    ['since a day', ['--since', '2026-11-05'], [2]],
    ['until a day (counted whole)', ['--until', '2026-11-01'], [2]],
    ['a limit', ['--limit', '1'], [2]],
  ])('narrows by %s', async (_name, args, seqs) => {
    const given = args.map((a) => (a === 'API' ? api.id.slice(0, 8) : a));
    const rows = JSON.parse(ok(await ocr('--json', 'search', '5432', ...given))) as Array<{ seq: number }>;
    expect(rows.map((r) => r.seq)).toEqual(seqs);
  });

  it('says so when no line holds the text, and when more lines than the limit do', async () => {
    expect(ok(await ocr('search', 'nothing says this'))).toBe('no line holds "nothing says this"\n');
    expect(ok(await ocr('search', 'src/app', '--limit', '1'))).toBe(`Web app/B ${shortId(runs.test!.id)} 1: PASS src/app.test.ts\n… and more: --limit 2 shows more\n`);
  });

  it('refuses a wrong search in one line that names what is wrong', async () => {
    refused(await ocr('search', 'ab'), /^ocr: query: give at least 3 characters, such as ERR or 404\n$/);
    refused(await ocr('search', 'npm', '--status', 'done'), /^ocr: --status "done": give one or more of queued, running/, 2);
    refused(await ocr('search', 'npm', '--since', 'last week'), /^ocr: --since "last week": give a time ago such as 7d/, 2);
    refused(await ocr('search', 'npm', '--limit', '0'), /^ocr: --limit "0": give a whole number from 1 to 1000/, 2);
    refused(await ocr('search', 'npm', '--lane', 'a b'), /^ocr: --lane "a b": a lane name is 1 to 16 letters/, 2);
    refused(await ocr('search', 'npm', '--session', 'zzzz'), /^ocr: session: "zzzz" is not a session id/);
    refused(await ocr('search'), /^ocr: .*text/, 2);
  });
});

describe('hit lines', () => {
  it('marks the matches in bold red for a terminal', () => {
    expect(markMatches('a npm ERR! b npm', [{ start: 2, end: 5 }, { start: 13, end: 16 }])).toBe('a \x1b[1;31mnpm\x1b[0m ERR! b \x1b[1;31mnpm\x1b[0m');
    const hit = {
      hit: { run_id: '0b9f0000-0000-4000-8000-000000000000', session_title: 'Web\napp', lane: 'A', seq: 7 },
      line: 'x npm',
      matches: [{ start: 2, end: 5 }],
      before: [],
      after: [],
    } as unknown as Parameters<typeof hitLines>[0];
    expect(hitLines(hit, { color: true, context: false })).toEqual(['Web app/A 0b9f0000 7: x \x1b[1;31mnpm\x1b[0m']);
  });
});
