// A corpus of hostile and careless sessions, runs and ids through the store (PostgresStore on a test database) and
// queueLaneRun, the one path every client queues a lane run by. Each row is refused with one named error (its code and
// a message that names the field) and leaves the database as it was, or is stored exactly as the row says: text is
// data, whatever it looks like (SQL, shell, escapes, right-to-left overrides), and nothing here executes it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LaneRunRequest, NewRun, NewSession } from '../../domain';
import { queueLaneRun } from '../runs/queue-lane-run';
import { OcrError, type OcrErrorCode } from './errors';
import { openStore } from './open';
import type { PostgresStore } from './postgres';
import { createTestDatabase } from './testing';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let admin: pg.Client;
let sessionId: string;
let archivedId: string;
let queuedRunId: string;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-store-bad-input-'));
const pwned = path.join(scratch, 'pwned');

const ambiguousSession = ['abcd0000-0000-4000-8000-000000000001', 'abcd0000-0000-4000-8000-000000000002'];
const missingId = 'ffffffff-ffff-4fff-bfff-ffffffffffff';

beforeAll(async () => {
  db = await createTestDatabase('ocr_store_bad');
  store = await openStore(db.url);
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  sessionId = (await store.createSession({ title: 'corpus', lanes: ['A', 'B', 'C', 'D'] })).id;
  queuedRunId = (await store.createRun({ session_id: sessionId, lane: 'A', intent: 'true' })).id;
  archivedId = (await store.createSession({ title: 'old work', lanes: ['A'] })).id;
  await store.archiveSession(archivedId);
  for (const id of ambiguousSession) {
    const s = await store.createSession({ title: 'twin', lanes: ['A'] });
    await admin.query('update ops.sessions set id = $1 where id = $2', [id, s.id]);
  }
});

afterAll(async () => {
  await admin?.end();
  await store?.close();
  await db?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

async function fingerprint(): Promise<unknown> {
  const { rows } = await admin.query(`
    select (select count(*) from ops.sessions) as sessions,
           (select count(*) from ops.sessions where status = 'archived') as archived,
           (select count(*) from ops.runs) as runs,
           (select count(*) from ops.runs where status <> 'queued') as not_queued,
           (select coalesce(max(updated_at)::text, '') from ops.runs) as runs_changed,
           (select count(*) from ops.run_events) as events`);
  return rows[0];
}

const NUL = '\u0000';
const mib = (c = 'x') => c.repeat(1 << 20);
const emoji = (n: number) => '🚀'.repeat(n);
// Text that is data, and must come back exactly as it went in.
const hostile = {
  sql: "'); drop table ops.runs; -- ",
  quotes: `"it's" \`done\` \\" \\'`,
  shell: `$(touch ${pwned}) \`touch ${pwned}\` ; touch ${pwned} && rm -rf /`,
  dollarQuote: '$$; select pg_sleep(10); $$',
  escapes: '\x1b]0;pwned\x07\x1b]52;c;Y3VybA==\x07\x1b[2J\u009b',
  emoji: '🚀 👩‍👩‍👧 🇺🇳',
  combining: 'e\u0301 a\u0308\u0308\u0308 Z\u0351\u0352\u0353',
  rtl: 'safe \u202egnp.exe\u202c \u2066isolate\u2069',
  zeroWidth: 'a\u200bb\u200dc\ufeff',
  newlines: 'line 1\nline 2\r\nline 3\ttab',
  noncharacters: '\ufffe\uffff\u{10ffff}',
  unicodeNames: 'Ω ж 中文 ﷽',
};

type Outcome = { code: OcrErrorCode; message: RegExp } | { stored: Record<string, unknown> };
const refused = (code: OcrErrorCode, message: RegExp): Outcome => ({ code, message });
const stored = (fields: Record<string, unknown>): Outcome => ({ stored: fields });

async function check(outcome: Outcome, act: () => Promise<{ id: string }>, read: (id: string) => Promise<Record<string, unknown>>): Promise<void> {
  if ('code' in outcome) {
    const before = await fingerprint();
    const error = await act().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'refused with a named error').toBeInstanceOf(OcrError);
    expect((error as OcrError).code).toBe(outcome.code);
    expect((error as OcrError).line).toMatch(outcome.message);
    expect((error as OcrError).line).not.toMatch(/\n/);
    expect(await fingerprint(), 'nothing stored, nothing changed').toEqual(before);
  } else {
    const { id } = await act();
    expect(await read(id)).toMatchObject(outcome.stored);
    expect(existsSync(pwned), 'nothing executed').toBe(false);
  }
}

// ---- sessions ----------------------------------------------------------------------------------------------------

// prettier-ignore
const sessions: Array<[name: string, input: NewSession, outcome: Outcome]> = [
  ['a NUL in the title', { title: `a${NUL}b` }, refused('invalid_input', /^title: a NUL character \(\\0\) cannot be stored; remove it$/)],
  ['a title that is only a NUL', { title: NUL }, refused('invalid_input', /^title: a NUL character/)],
  ['a NUL in the intent', { title: 't', intent: `do it${NUL}` }, refused('invalid_input', /^intent: a NUL character/)],
  ['a NUL in the repository path', { title: 't', repo_path: `/src${NUL}/app` }, refused('invalid_input', /^repo_path: a NUL character/)],
  ['a NUL in the repository URL', { title: 't', repo_url: `https://x${NUL}` }, refused('invalid_input', /^repo_url: a NUL character/)],
  ['a NUL in the base ref', { title: 't', base_ref: `main${NUL}` }, refused('invalid_input', /^base_ref: a NUL character/)],
  ['a NUL in created_by', { title: 't', created_by: NUL }, refused('invalid_input', /^created_by: a NUL character/)],
  ['a lone high surrogate in the title', { title: 'x\ud83d' }, refused('invalid_input', /^title: half of a UTF-16 surrogate pair is not text; send well-formed Unicode$/)],
  ['a lone low surrogate in the intent', { title: 't', intent: '\ude80y' }, refused('invalid_input', /^intent: half of a UTF-16 surrogate pair/)],
  ['a surrogate pair the wrong way round', { title: '\ude80\ud83d' }, refused('invalid_input', /^title: half of a UTF-16 surrogate pair/)],
  ['an empty title', { title: '' }, refused('invalid_input', /^title: a session needs a title$/)],
  ['a blank title', { title: ' \t\n ' }, refused('invalid_input', /^title: a session needs a title$/)],
  ['a title of 201 characters', { title: 't'.repeat(201) }, refused('invalid_input', /^title: a title is at most 200 characters$/)],
  ['a title of 201 emoji', { title: emoji(201) }, refused('invalid_input', /^title: a title is at most 200 characters$/)],
  ['a title of 1 MiB', { title: mib() }, refused('invalid_input', /^title: a title is at most 200 characters$/)],
  ['an intent of 10,001 characters', { title: 't', intent: 'i'.repeat(10_001) }, refused('invalid_input', /^intent: an intent is at most 10,000 characters$/)],
  ['an intent of 1 MiB', { title: 't', intent: mib() }, refused('invalid_input', /^intent: an intent is at most 10,000 characters$/)],
  ['a title that is a number', { title: 42 as unknown as string }, refused('invalid_input', /^title: Invalid input: expected string, received number$/)],
  ['no title at all', {} as NewSession, refused('invalid_input', /^title: Invalid input: expected string, received undefined$/)],
  ['no lanes', { title: 't', lanes: [] }, refused('invalid_input', /^lanes: Too small/)],
  ['27 lanes', { title: 't', lanes: Array.from({ length: 27 }, (_, i) => `L${i}`) }, refused('invalid_input', /^lanes: Too big/)],
  ['a lane with a space', { title: 't', lanes: ['A B'] }, refused('invalid_input', /^lanes\.0: a lane name is 1 to 16 letters, digits, "-" or "_"$/)],
  ['a lane with a slash', { title: 't', lanes: ['A', 'x/y'] }, refused('invalid_input', /^lanes\.1: a lane name/)],
  ['a lane in another script', { title: 't', lanes: ['Ä'] }, refused('invalid_input', /^lanes\.0: a lane name/)],
  ['an emoji lane', { title: 't', lanes: ['🚀'] }, refused('invalid_input', /^lanes\.0: a lane name/)],
  ['a lane of 500 characters', { title: 't', lanes: ['A'.repeat(500)] }, refused('invalid_input', /^lanes\.0: a lane name/)],
  ['an empty lane', { title: 't', lanes: [''] }, refused('invalid_input', /^lanes\.0: a lane name/)],
  ['a lane of SQL', { title: 't', lanes: ["A'); --"] }, refused('invalid_input', /^lanes\.0: a lane name/)],
  ['a lane with a NUL', { title: 't', lanes: [`A${NUL}`] }, refused('invalid_input', /^lanes\.0: a lane name/)],
  ['a lane twice', { title: 't', lanes: ['A', 'B', 'A'] }, refused('invalid_input', /^lanes: a lane is listed twice \(list each lane once\)$/)],
  ['SQL in the title', { title: hostile.sql, intent: hostile.sql }, stored({ title: hostile.sql.trim(), intent: hostile.sql })],
  ['quotes of every kind', { title: hostile.quotes, intent: hostile.quotes }, stored({ title: hostile.quotes, intent: hostile.quotes })],
  ['shell in the title and intent', { title: hostile.shell.slice(0, 200), intent: hostile.shell }, stored({ title: hostile.shell.slice(0, 200).trim(), intent: hostile.shell })],
  ['dollar quoting', { title: hostile.dollarQuote, intent: hostile.dollarQuote }, stored({ title: hostile.dollarQuote, intent: hostile.dollarQuote })],
  ['terminal escapes, kept as data', { title: hostile.escapes, intent: hostile.escapes }, stored({ title: hostile.escapes, intent: hostile.escapes })],
  ['emoji and sequences of them', { title: hostile.emoji, intent: hostile.emoji }, stored({ title: hostile.emoji, intent: hostile.emoji })],
  ['combining characters', { title: hostile.combining, intent: hostile.combining }, stored({ title: hostile.combining, intent: hostile.combining })],
  ['right-to-left overrides and isolates', { title: hostile.rtl, intent: hostile.rtl }, stored({ title: hostile.rtl, intent: hostile.rtl })],
  ['zero-width characters (a title is trimmed as JavaScript trims: the BOM goes)', { title: hostile.zeroWidth, intent: hostile.zeroWidth }, stored({ title: 'a\u200bb\u200dc', intent: hostile.zeroWidth })],
  ['line breaks and tabs in the intent', { title: 'multi', intent: hostile.newlines }, stored({ title: 'multi', intent: hostile.newlines })],
  ['noncharacters and the last code point', { title: hostile.noncharacters, intent: hostile.noncharacters }, stored({ title: hostile.noncharacters, intent: hostile.noncharacters })],
  ['other scripts', { title: hostile.unicodeNames, intent: hostile.unicodeNames }, stored({ title: hostile.unicodeNames })],
  ['a title of 200 emoji is 200 characters', { title: emoji(200) }, stored({ title: emoji(200) })],
  ['an intent of exactly 10,000 characters', { title: 't', intent: 'i'.repeat(10_000) }, stored({ intent: 'i'.repeat(10_000) })],
  ['a title padded with spaces is trimmed', { title: '  padded  ' }, stored({ title: 'padded' })],
  ['26 lanes', { title: 'wide', lanes: Array.from({ length: 26 }, (_, i) => `L${i}`) }, stored({ lanes: Array.from({ length: 26 }, (_, i) => `L${i}`) })],
  ['lanes that are prototype names', { title: 'proto', lanes: ['__proto__', 'constructor', 'toString'] }, stored({ lanes: ['__proto__', 'constructor', 'toString'] })],
];

describe('createSession: the bad-input corpus', () => {
  it.each(sessions)('%s', async (_name, input, outcome) => {
    await check(outcome, () => store.createSession(input), (id) => store.getSession(id));
  });
});

// ---- lane runs -----------------------------------------------------------------------------------------------------

const request = (extra: Partial<LaneRunRequest> = {}): LaneRunRequest => ({ session_id: sessionId, lane: 'A', intent: 'npm test', ...extra });

// prettier-ignore
const laneRuns: Array<[name: string, input: () => LaneRunRequest, outcome: Outcome]> = [
  ['a NUL in the intent', () => request({ intent: `echo a${NUL}b` }), refused('invalid_input', /^intent: a NUL character \(\\0\) cannot be stored; remove it$/)],
  ['an intent that is only NULs', () => request({ intent: NUL.repeat(3) }), refused('invalid_input', /^intent: a NUL character/)],
  ['a lone surrogate in the intent', () => request({ intent: 'echo \ud83d' }), refused('invalid_input', /^intent: half of a UTF-16 surrogate pair/)],
  ['an empty intent', () => request({ intent: '' }), refused('invalid_input', /^intent: a run needs an intent$/)],
  ['a blank intent', () => request({ intent: '\n\t  ' }), refused('invalid_input', /^intent: a run needs an intent$/)],
  ['an intent of 100,001 characters', () => request({ intent: 'x'.repeat(100_001) }), refused('invalid_input', /^intent: an intent is at most 100,000 characters$/)],
  ['an intent of 1 MiB', () => request({ intent: mib() }), refused('invalid_input', /^intent: an intent is at most 100,000 characters$/)],
  ['an intent of 1 MiB of emoji', () => request({ intent: mib('🚀') }), refused('invalid_input', /^intent: an intent is at most 100,000 characters$/)],
  ['a lane not in the session', () => request({ lane: 'E' }), refused('invalid_input', /^lane: 'E' is not a lane of session \S+ \(use one of its lanes: A, B, C, D\)$/)],
  ['a lane in the wrong case', () => request({ lane: 'a' }), refused('invalid_input', /^lane: 'a' is not a lane of session/)],
  ['a lane that is a prototype name, not in the session', () => request({ lane: '__proto__' }), refused('invalid_input', /^lane: '__proto__' is not a lane of session/)],
  ['a lane with a space', () => request({ lane: 'A B' }), refused('invalid_input', /^lane: a lane name is 1 to 16 letters/)],
  ['a lane with a slash', () => request({ lane: 'A/..' }), refused('invalid_input', /^lane: a lane name/)],
  ['a lane of 500 characters', () => request({ lane: 'A'.repeat(500) }), refused('invalid_input', /^lane: a lane name/)],
  ['a lane in another script', () => request({ lane: 'Ä' }), refused('invalid_input', /^lane: a lane name/)],
  ['a lane of SQL', () => request({ lane: "A' or '1'='1" }), refused('invalid_input', /^lane: a lane name/)],
  ['a session that is not an id', () => request({ session_id: "1' or '1'='1" }), refused('invalid_input', /^session_id: give the id of a session$/)],
  ['a session that does not exist', () => request({ session_id: missingId }), refused('not_found', /^session: ffffffff-ffff-4fff-bfff-ffffffffffff does not exist/)],
  ['an archived session', () => request({ session_id: archivedId, lane: 'A' }), refused('invalid_state', /^session: \S+ \(old work\) is archived and takes no new runs \(create a new session\)$/)],
  ['a NaN priority', () => request({ priority: NaN }), refused('invalid_input', /^priority: Invalid input: expected number, received NaN$/)],
  ['an infinite priority', () => request({ priority: Infinity }), refused('invalid_input', /^priority: Invalid input: expected number, received Infinity$/)],
  ['a fractional priority', () => request({ priority: 1.5 }), refused('invalid_input', /^priority: Invalid input: expected int/)],
  ['a priority past the range', () => request({ priority: 10_000_000 }), refused('invalid_input', /^priority: Too big/)],
  ['a timeout of zero', () => request({ timeout_seconds: 0 }), refused('invalid_input', /^timeout_seconds: Too small/)],
  ['the runbook executor', () => request({ run_with: { executor: 'runbook' } as unknown as LaneRunRequest['run_with'] }), refused('invalid_input', /^run_with\.executor: /)],
  ['a profile named __proto__', () => request({ run_with: { executor: 'agent', profile: '__proto__' } }), refused('invalid_input', /^run_with\.profile: a profile name is 1 to 64/)],
  ['an intent as an array', () => request({ intent: ['rm', '-rf'] as unknown as string }), refused('invalid_input', /^intent: Invalid input: expected string, received array$/)],
  ['SQL in the intent', () => request({ intent: hostile.sql }), stored({ intent: hostile.sql.trim() })],
  ['quotes of every kind', () => request({ intent: hostile.quotes }), stored({ intent: hostile.quotes })],
  ['a command substitution, stored and not run', () => request({ intent: hostile.shell }), stored({ intent: hostile.shell, executor: 'shell' })],
  ['dollar quoting', () => request({ intent: hostile.dollarQuote }), stored({ intent: hostile.dollarQuote })],
  ['terminal escapes', () => request({ intent: hostile.escapes }), stored({ intent: hostile.escapes })],
  ['emoji, combining characters, RTL overrides', () => request({ intent: `${hostile.emoji} ${hostile.combining} ${hostile.rtl}` }), stored({ intent: `${hostile.emoji} ${hostile.combining} ${hostile.rtl}` })],
  ['line breaks in the intent', () => request({ intent: hostile.newlines }), stored({ intent: hostile.newlines })],
  ['an intent of exactly 100,000 characters', () => request({ intent: 'z'.repeat(100_000) }), stored({ intent: 'z'.repeat(100_000) })],
  ['an intent of 100,000 emoji is 100,000 characters', () => request({ intent: emoji(100_000) }), stored({ intent: emoji(100_000) })],
  ['an agent profile called constructor is only a name', () => request({ run_with: { executor: 'agent', profile: 'constructor' } }), stored({ executor: 'agent', spec: { profile: 'constructor' } })],
  ['a lane named like a prototype key, in the session', () => ({ ...request({ lane: '__proto__' }), session_id: protoSessionId }), stored({ lane: '__proto__' })],
];
let protoSessionId = '';

describe('queueLaneRun: the bad-input corpus', () => {
  beforeAll(async () => {
    protoSessionId = (await store.createSession({ title: 'proto lanes', lanes: ['__proto__', 'constructor'] })).id;
  });
  it.each(laneRuns)('%s', async (_name, input, outcome) => {
    await check(outcome, () => queueLaneRun(store, input()), (id) => store.getRun(id));
  });
});

// ---- runs queued directly (benchmarks and tests do) -----------------------------------------------------------------

const newRun = (extra: Partial<NewRun> = {}): NewRun => ({ session_id: sessionId, lane: 'B', intent: 'true', ...extra });

// prettier-ignore
const directRuns: Array<[name: string, input: () => NewRun, outcome: Outcome]> = [
  ['a NUL in the intent', () => newRun({ intent: NUL }), refused('invalid_input', /^intent: a NUL character/)],
  ['a NUL in a string of the spec', () => newRun({ spec: { args: ['ok', `bad${NUL}`] } }), refused('invalid_input', /^spec\.args\.1: a NUL character/)],
  ['a lone surrogate in a key of the spec', () => newRun({ spec: { ['k\ud800']: 1 } }), refused('invalid_input', /^spec\.k.: its name: half of a UTF-16 surrogate pair/)],
  ['a spec that is an array', () => newRun({ spec: [] as unknown as Record<string, unknown> }), refused('invalid_input', /^spec: Invalid input: expected record, received array$/)],
  ['no attempts', () => newRun({ max_attempts: 0 }), refused('invalid_input', /^max_attempts: Too small/)],
  ['a session that is not an id', () => newRun({ session_id: 'x' }), refused('invalid_input', /^session_id: session must be a session id$/)],
  ['a lane not in the session', () => newRun({ lane: 'Z' }), refused('invalid_input', /^lane: 'Z' is not a lane of session/)],
  ['an unknown executor', () => newRun({ executor: 'python' as NewRun['executor'] }), refused('invalid_input', /^executor: Invalid option: expected one of "shell"\|"agent"\|"runbook"$/)],
  ['an intent of 1 MiB: no limit on this path', () => newRun({ intent: mib('q') }), stored({ intent: mib('q') })],
  ['a spec with escapes and SQL in its strings', () => newRun({ spec: { note: hostile.escapes, sql: hostile.sql } }), stored({ spec: { note: hostile.escapes, sql: hostile.sql } })],
];

describe('createRun: the bad-input corpus', () => {
  it.each(directRuns)('%s', async (_name, input, outcome) => {
    await check(outcome, () => store.createRun(input()), (id) => store.getRun(id));
  });
});

// ---- ids -----------------------------------------------------------------------------------------------------------

// prettier-ignore
const idCases: Array<[name: string, act: () => Promise<unknown>, code: OcrErrorCode, message: RegExp]> = [
  ['getSession of a word', () => store.getSession('x'), 'invalid_input', /^session: "x" is not a session id/],
  ['getSession of SQL', () => store.getSession("' or 1=1 --"), 'invalid_input', /^session: "' or 1=1 --" is not a session id/],
  ['getRun of an empty id', () => store.getRun(''), 'invalid_input', /^run: "" is not a run id/],
  ['getRun of a NUL', () => store.getRun(NUL), 'invalid_input', /^run: "\\u0000" is not a run id/],
  ['getRun of an id that does not exist', () => store.getRun(missingId), 'not_found', /^run ffffffff-ffff-4fff-bfff-ffffffffffff does not exist/],
  ['archiveSession of a path', () => store.archiveSession('../../etc'), 'invalid_input', /^session: "..\/..\/etc" is not a session id/],
  ['archiveSession of an id that does not exist', () => store.archiveSession(missingId), 'not_found', /^session ffffffff-ffff-4fff-bfff-ffffffffffff does not exist/],
  ['cancelRun of a session id', () => store.cancelRun(sessionId), 'not_found', /^run \S+ does not exist/],
  ['retryRun of a queued run', () => store.retryRun(queuedRunId), 'invalid_state', /^run \S+ is still queued; only a finished run can be retried/],
  ['retryRun of a word', () => store.retryRun('retry-me'), 'invalid_input', /^run: "retry-me" is not a run id/],
  ['listEvents of a half id', () => store.listEvents(queuedRunId.slice(0, 18)), 'invalid_input', /^run: "\S+" is not a run id/],
  ['resolveId of three characters', () => store.resolveId('run', 'abc'), 'invalid_input', /^run: "abc" is not a run id \(give the id or its first characters/],
  ['resolveId of 33 hex digits', () => store.resolveId('run', 'a'.repeat(33)), 'invalid_input', /^run: "a{33}" is not a run id/],
  ['resolveId of a LIKE pattern', () => store.resolveId('session', '%'), 'invalid_input', /^session: "%" is not a session id/],
  ['resolveId of SQL', () => store.resolveId('session', "abcd' or '1'='1"), 'invalid_input', /^session: "abcd' or '1'='1" is not a session id/],
  ['resolveId of a prefix that matches nothing', () => store.resolveId('session', 'ffffffff'), 'not_found', /^session ffffffff does not exist/],
  ['resolveId of a prefix that matches two', () => store.resolveId('session', 'abcd'), 'invalid_input', /^session: abcd matches more than one session \(give more characters of the id\)$/],
  ['resolveId of a session id as a run', () => store.resolveId('run', sessionId), 'not_found', /^run \S+ does not exist/],
];

describe('ids that are not ids: the bad-input corpus', () => {
  it.each(idCases)('%s', async (_name, act, code, message) => {
    const before = await fingerprint();
    const error = await act().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OcrError);
    expect((error as OcrError).code).toBe(code);
    expect((error as OcrError).line).toMatch(message);
    expect(await fingerprint()).toEqual(before);
  });
});

// ---- the worker's side ---------------------------------------------------------------------------------------------

describe('appendEvents: text a worker sends', () => {
  // The worker replaces NULs itself (worker/engine/output.ts decodeLine); a NUL that reaches appendEvents anyway is
  // refused before the database sees it, naming the line that holds it.
  it('a NUL in an event is refused with an error naming the field', async () => {
    const session = await store.createSession({ title: 'events', lanes: ['A'] });
    await store.createRun({ session_id: session.id, lane: 'A', intent: 'true' });
    await store.registerWorker({ id: 'bad-input-worker', host: 'h', pid: 1, concurrency: 1, labels: {} });
    const [run] = await store.claimRuns('bad-input-worker', 1, { sessions: [session.id] });
    const error = await store.appendEvents({ runId: run!.id, workerId: 'bad-input-worker', attempt: run!.attempt }, [{ stream: 'stdout', text: `a${NUL}b` }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OcrError);
    expect((error as OcrError).line).toMatch(/^events\.0\.text: a NUL/);
  });
});

describe('sessions whose repository git would misread', () => {
  it('refuses a base ref or a repository URL that starts with "-", naming it, and stores nothing', async () => {
    const before = (await store.listSessions({ includeArchived: true })).length;
    await expect(store.createSession({ title: 'refs', base_ref: '--upload-pack=touch /tmp/pwned' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('base_ref: a base ref cannot start with "-"'),
    });
    await expect(store.createSession({ title: 'urls', repo_url: '-oProxyCommand=touch /tmp/pwned' })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('repo_url: a repository URL cannot start with "-"'),
    });
    expect((await store.listSessions({ includeArchived: true })).length).toBe(before);
  });
});
