// A corpus of hostile and careless command lines, run through the real `ocr` bundle as a process. Each row is one
// case: a refused one gets exactly one stderr line `ocr: …` naming the flag or field (no stack trace, no `Error:`), the
// exit code (2 for usage, 1 for the rest) and nothing changed in the database; a handled one says what was stored.
//
// NUL characters cannot be given on a command line at all (the kernel ends an argument at the first NUL); the store's
// corpus (worker/store/bad-input.test.ts) and the protocol's cover them.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Run } from '../../domain';
import * as open from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';
import { type CliResult, runOcr } from './cli.test-support';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-bad-input-'));


// a scratch folder and data home: a --db value taken for a folder must not land in the checkout or the user's data
const ocr = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
  runOcr(args, { cwd: scratch, env: { XDG_DATA_HOME: path.join(scratch, 'data'), OCR_DATABASE_URL: db.url, ...env } });

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let admin: pg.Client;
/** ids the rows refer to as $SESSION, $RUN, … */
const ids: Record<string, string> = {};

const ambiguousSessions = ['abcd0000-0000-4000-8000-000000000001', 'abcd0000-0000-4000-8000-000000000002'];
const ambiguousRuns = ['dcba0000-0000-4000-8000-000000000001', 'dcba0000-0000-4000-8000-000000000002'];

beforeAll(async () => {
  db = await createTestDatabase('ocr_cli_bad');
  store = await open.openStore(db.url);
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  const session = await store.createSession({ title: 'corpus', lanes: ['A', 'B', 'C', 'D'] });
  ids.SESSION = session.id;
  ids.RUN = (await store.createRun({ session_id: session.id, lane: 'A', intent: 'sleep 1' })).id;
  const archived = await store.createSession({ title: 'old work', lanes: ['A'] });
  await store.archiveSession(archived.id);
  ids.ARCHIVED = archived.id;
  // two sessions and two runs whose ids share their first characters
  for (const id of ambiguousSessions) {
    const s = await store.createSession({ title: 'twin', lanes: ['A'] });
    await admin.query('update ops.sessions set id = $1 where id = $2', [id, s.id]);
  }
  for (const id of ambiguousRuns) {
    const r = await store.createRun({ session_id: session.id, lane: 'B', intent: 'true' });
    await admin.query('update ops.runs set id = $1 where id = $2', [id, r.id]);
  }
});

afterAll(async () => {
  await admin?.end();
  await store?.close();
  await db?.drop();
  rmSync(scratch, { recursive: true, force: true });
});

/** Everything a refused command could have touched: rows, their last change, archived sessions. */
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

const expand = (args: string[]) => args.map((a) => a.replace(/\$([A-Z]+)/g, (m, name: string) => ids[name] ?? m));

const long = (n: number, c = 'x') => c.repeat(n);
const megabyteWords = Array.from({ length: 16 }, () => long(64 * 1024, 'y')); // 1 MiB in all; one argument may hold 128 KiB
const run = (...rest: string[]) => ['run', '--session', '$SESSION', '--lane', 'A', ...rest];
const newSession = (...rest: string[]) => ['session', 'new', '--title', 'corpus', ...rest];
const lanes27 = Array.from({ length: 27 }, (_, i) => `L${i}`).join(',');

type Refused = [name: string, args: string[], exitCode: 1 | 2, message: RegExp];

// prettier-ignore
const refused: Refused[] = [
  // unknown flags and commands
  ['unknown flag of run', run('--bogus', '--', 'x'), 2, /^--bogus: not an option of `ocr run` \(run `ocr run --help` for usage\)$/],
  ['misspelt flag, with a suggestion', ['status', '--sesion', '$SESSION'], 2, /^--sesion: not an option of `ocr status`; did you mean --session\?/],
  ['unknown flag of session new', newSession('--colour', 'red'), 2, /^--colour: not an option of `ocr session new`/],
  ['unknown flag before the command', ['--verbose', 'status'], 2, /^--verbose: not an option/],
  ['unknown short flag', ['-x', 'status'], 2, /^-x: not an option/],
  ['a value given to a switch', ['session', 'list', '--json=yes'], 2, /^--json=yes: not an option of `ocr session list`/],
  ['unknown flag of logs', ['logs', '$RUN', '--tail', '5'], 2, /^--tail: not an option of `ocr logs`/],
  ['unknown flag of cancel', ['cancel', '$RUN', '--force'], 2, /^--force: not an option of `ocr cancel`/],
  ['unknown flag of workers', ['workers', '--all'], 2, /^--all: not an option of `ocr workers`/],
  ['unknown flag of diff', ['diff', '$RUN', '--color'], 2, /^--color: not an option of `ocr diff`/],
  ['unknown command', ['nope'], 2, /^unknown command 'nope' \(run `ocr --help` for usage\)$/],
  ['misspelt command', ['sesion', 'list'], 2, /^unknown command 'sesion'; did you mean session\?/],
  ['unknown subcommand', ['session', 'frobnicate'], 2, /^unknown command 'frobnicate' \(run `ocr session --help` for usage\)$/],
  ['an argument to a command that takes none', ['status', 'extra'], 2, /^too many arguments for 'status': expected 0 arguments but got 1/],
  ['two runs to cancel', ['cancel', '$RUN', '$RUN'], 2, /^too many arguments for 'cancel'/],
  // missing values and required parts
  ['--session without a value', ['run', '--session'], 2, /^--session: needs a value \(give --session <id>; run `ocr run --help` for usage\)$/],
  ['--lane without a value', ['run', '--session', '$SESSION', '--lane'], 2, /^--lane: needs a value/],
  ['--priority without a value', run('x', '--priority'), 2, /^--priority: needs a value/],
  ['--timeout without a value', run('x', '--timeout'), 2, /^--timeout: needs a value/],
  ['--title without a value', ['session', 'new', '--title'], 2, /^--title: needs a value/],
  ['--intent without a value', newSession('--intent'), 2, /^--intent: needs a value/],
  ['--lanes without a value', newSession('--lanes'), 2, /^--lanes: needs a value/],
  ['--limit without a value', ['status', '--limit'], 2, /^--limit: needs a value/],
  ['--db without a value', ['--db'], 2, /^--db: needs a value/],
  ['--agent without a value', run('x', '--agent'), 2, /^--agent: needs a value/],
  ['session new without --title', ['session', 'new'], 2, /^--title: required \(give --title <title>; run `ocr session new --help` for usage\)$/],
  ['run without --session', ['run', '--lane', 'A', '--', 'x'], 2, /^--session: required/],
  ['run without --lane', ['run', '--session', '$SESSION', '--', 'x'], 2, /^--lane: required/],
  ['run without an intent', run(), 2, /^<intent>: required \(run `ocr run --help` for usage\)$/],
  ['logs without a run', ['logs'], 2, /^<run>: required/],
  ['cancel without a run', ['cancel'], 2, /^<run>: required/],
  ['retry without a run', ['retry'], 2, /^<run>: required/],
  ['diff without a run', ['diff'], 2, /^<run>: required/],
  ['session archive without an id', ['session', 'archive'], 2, /^<id>: required/],
  // numbers
  ['non-numeric priority', run('--priority', 'high', '--', 'x'), 2, /^--priority "high": give a whole number from -1000000 to 1000000$/],
  ['priority below the range', run('--priority', '-1000001', '--', 'x'), 2, /^--priority "-1000001": give a whole number/],
  ['priority above the range', run('--priority', '1000001', '--', 'x'), 2, /^--priority "1000001": give a whole number/],
  ['huge priority', run('--priority', '99999999999999999999999', '--', 'x'), 2, /^--priority "99999999999999999999999": give a whole number/],
  ['fractional priority', run('--priority', '1.5', '--', 'x'), 2, /^--priority "1\.5": give a whole number/],
  ['exponent priority', run('--priority', '1e3', '--', 'x'), 2, /^--priority "1e3": give a whole number/],
  ['hex priority', run('--priority', '0x10', '--', 'x'), 2, /^--priority "0x10": give a whole number/],
  ['empty priority', run('--priority', '', '--', 'x'), 2, /^--priority "": give a whole number/],
  ['blank priority', run('--priority', '   ', '--', 'x'), 2, /^--priority " {3}": give a whole number/],
  ['NaN priority', run('--priority', 'NaN', '--', 'x'), 2, /^--priority "NaN": give a whole number/],
  ['Infinity priority', run('--priority', 'Infinity', '--', 'x'), 2, /^--priority "Infinity": give a whole number/],
  ['full-width digits', run('--priority', '５', '--', 'x'), 2, /^--priority "５": give a whole number/],
  ['priority with a sign and a unit', run('--priority', '-5ms', '--', 'x'), 2, /^--priority "-5ms": give a whole number/],
  ['limit of zero', ['status', '--limit', '0'], 2, /^--limit "0": give a whole number from 1 to 100000$/],
  ['negative limit', ['status', '--limit', '-1'], 2, /^--limit "-1": give a whole number from 1 to 100000$/],
  ['limit above the range', ['status', '--limit', '100001'], 2, /^--limit "100001": give a whole number/],
  ['limit in words', ['status', '--limit', 'ten'], 2, /^--limit "ten": give a whole number/],
  ['limit given with =', ['status', '--limit=-3'], 2, /^--limit "-3": give a whole number/],
  ['timeout of zero', run('--timeout', '0', '--', 'x'), 2, /^--timeout "0": give a whole number from 1 to 604800$/],
  ['timeout above a week', run('--timeout', '604801', '--', 'x'), 2, /^--timeout "604801": give a whole number/],
  ['negative timeout', run('--timeout', '-5', '--', 'x'), 2, /^--timeout "-5": give a whole number/],
  ['timeout with a unit', run('--timeout', '10s', '--', 'x'), 2, /^--timeout "10s": give a whole number/],
  // executors and agents
  ['runbook executor, refused by the CLI itself', run('--executor', 'runbook', '--', 'x'), 2, /^--executor "runbook": allowed choices are shell, agent$/],
  ['executor in capitals', run('--executor', 'SHELL', '--', 'x'), 2, /^--executor "SHELL": allowed choices are shell, agent$/],
  ['empty executor', run('--executor', '', '--', 'x'), 2, /^--executor "": allowed choices/],
  ['executor with a command in it', run('--executor', 'shell; rm -rf /', '--', 'x'), 2, /^--executor "shell; rm -rf \/": allowed choices/],
  ['empty agent profile', run('--agent', '', '--', 'x'), 2, /^--agent "": give a profile name/],
  ['agent profile with a space', run('--agent', 'my agent', '--', 'x'), 2, /^--agent "my agent": give a profile name/],
  ['agent profile as a path', run('--agent', '../bin/sh', '--', 'x'), 2, /^--agent "\.\.\/bin\/sh": give a profile name/],
  ['agent profile of 65 characters', run('--agent', long(65, 'a'), '--', 'x'), 2, /^--agent "a{65}": give a profile name/],
  // lane names
  ['lane with a space', ['run', '--session', '$SESSION', '--lane', 'A B', '--', 'x'], 1, /^lane: a lane name is 1 to 16 letters, digits, "-" or "_"$/],
  ['lane with a slash', ['run', '--session', '$SESSION', '--lane', 'A/B', '--', 'x'], 1, /^lane: a lane name is 1 to 16/],
  ['lane climbing out', ['run', '--session', '$SESSION', '--lane', '../A', '--', 'x'], 1, /^lane: a lane name is 1 to 16/],
  ['lane with a semicolon', ['run', '--session', '$SESSION', '--lane', 'A;B', '--', 'x'], 1, /^lane: a lane name is 1 to 16/],
  ['lane in another script', ['run', '--session', '$SESSION', '--lane', 'Ä', '--', 'x'], 1, /^lane: a lane name is 1 to 16/],
  ['lane as an emoji', ['run', '--session', '$SESSION', '--lane', '🚀', '--', 'x'], 1, /^lane: a lane name is 1 to 16/],
  ['lane of 500 characters', ['run', '--session', '$SESSION', '--lane', long(500, 'A'), '--', 'x'], 1, /^lane: a lane name is 1 to 16/],
  ['empty lane', ['run', '--session', '$SESSION', '--lane', '', '--', 'x'], 1, /^lane: a lane name is 1 to 16/],
  ['lane not in the session', ['run', '--session', '$SESSION', '--lane', 'E', '--', 'x'], 1, /^lane: 'E' is not a lane of session \S+ \(use one of its lanes: A, B, C, D\)$/],
  ['lane in the wrong case', ['run', '--session', '$SESSION', '--lane', 'a', '--', 'x'], 1, /^lane: 'a' is not a lane of session/],
  ['lanes with a space', newSession('--lanes', 'A B'), 2, /^--lanes "A B": give 1 to 26 distinct lane names, such as A,B,C,D$/],
  ['lanes with a slash', newSession('--lanes', 'A/B,C'), 2, /^--lanes "A\/B,C": give 1 to 26 distinct lane names/],
  ['lanes in another script', newSession('--lanes', 'Ä,B'), 2, /^--lanes "Ä,B": give 1 to 26/],
  ['lanes with an emoji', newSession('--lanes', 'A,🚀'), 2, /^--lanes "A,🚀": give 1 to 26/],
  ['empty lanes', newSession('--lanes', ''), 2, /^--lanes "": give 1 to 26/],
  ['lanes of commas only', newSession('--lanes', ',,'), 2, /^--lanes ",,": give 1 to 26/],
  ['27 lanes', newSession('--lanes', lanes27), 2, /^--lanes "L0,L1,.*": give 1 to 26/],
  ['a lane of 500 characters', newSession('--lanes', `A,${long(500, 'B')}`), 2, /^--lanes "A,B{500}": give 1 to 26/],
  ['a lane twice', newSession('--lanes', 'A,B,A'), 2, /^--lanes "A,B,A": give 1 to 26 distinct/],
  // ids that are not ids, prefixes that match nothing or several
  ['a word for a run id', ['cancel', 'not-an-id'], 1, /^run: "not-an-id" is not a run id \(give the id or its first characters, as `ocr status` shows them\)$/],
  ['an empty run id', ['cancel', ''], 1, /^run: "" is not a run id/],
  ['three characters of a run id', ['retry', 'abc'], 1, /^run: "abc" is not a run id/],
  ['a run id with a letter past f', ['logs', 'g123'], 1, /^run: "g123" is not a run id/],
  ['a run id of 33 hex digits', ['diff', long(33, 'a')], 1, /^run: "a{33}" is not a run id/],
  ['a path for a run id', ['logs', '../../etc/passwd'], 1, /^run: "..\/..\/etc\/passwd" is not a run id/],
  ['SQL for a run id', ['retry', "' or 1=1 --"], 1, /^run: "' or 1=1 --" is not a run id/],
  ['a word for a session id', ['session', 'archive', 'DROP TABLE'], 1, /^session: "DROP TABLE" is not a session id/],
  ['a word for --session', ['run', '--session', 'xyz', '--lane', 'A', '--', 'x'], 1, /^session: "xyz" is not a session id/],
  ['a word for status --session', ['status', '--session', 'nothex'], 1, /^session: "nothex" is not a session id/],
  ['a run prefix that matches nothing', ['cancel', 'ffffffffffffffffffffffffffffff00'], 1, /^run ffffffffffffffffffffffffffffff00 does not exist \(list runs with `ocr status`\)$/],
  ['a session prefix that matches nothing', ['session', 'archive', '00000000'], 1, /^session 00000000 does not exist \(list sessions with `ocr session list`\)$/],
  ['--session that matches nothing', ['run', '--session', '0000ffff', '--lane', 'A', '--', 'x'], 1, /^session 0000ffff does not exist/],
  ['a session id given as a run', ['logs', '$SESSION'], 1, /^run \S+ does not exist/],
  ['a run id given as a session', ['status', '--session', '$RUN'], 1, /^session \S+ does not exist/],
  ['a session prefix that matches two', ['session', 'archive', 'abcd'], 1, /^session: abcd matches more than one session \(give more characters of the id\)$/],
  ['a run prefix that matches two', ['cancel', 'dcba0000'], 1, /^run: dcba0000 matches more than one run \(give more characters of the id\)$/],
  ['a run prefix that matches two, for retry', ['retry', 'dcba'], 1, /^run: dcba matches more than one run/],
  // intents and titles
  ['an empty intent', run('--', ''), 1, /^intent: a run needs an intent$/],
  ['a blank intent', run('--', '   '), 1, /^intent: a run needs an intent$/],
  ['an intent of tabs and newlines', run('--', '\t\n\t'), 1, /^intent: a run needs an intent$/],
  ['an intent of 1 MiB', run('--', ...megabyteWords), 1, /^intent: an intent is at most 100,000 characters$/],
  ['a queued run retried', ['retry', '$RUN'], 1, /^run \S+ is still queued; only a finished run can be retried/],
  ['a run in an archived session', ['run', '--session', '$ARCHIVED', '--lane', 'A', '--', 'x'], 1, /^session: \S+ \(old work\) is archived and takes no new runs \(create a new session\)$/],
  ['an empty title', ['session', 'new', '--title', ''], 1, /^title: a session needs a title$/],
  ['a blank title', ['session', 'new', '--title', ' \t '], 1, /^title: a session needs a title$/],
  ['a title of 201 characters', ['session', 'new', '--title', long(201)], 1, /^title: a title is at most 200 characters$/],
  ['a title of 100 KiB', ['session', 'new', '--title', long(100 * 1024)], 1, /^title: a title is at most 200 characters$/],
  ['a session intent of 120,000 characters', newSession('--intent', long(120_000)), 1, /^intent: an intent is at most 10,000 characters$/],
  // ocr runs: its filters
  ['unknown flag of runs', ['runs', '--state', 'failed'], 2, /^--state: not an option of `ocr runs`/],
  ['a value given to --md', ['runs', '--md=yes'], 2, /^--md=yes: not an option of `ocr runs`/],
  ['--status without a value', ['runs', '--status'], 2, /^--status: needs a value/],
  ['an unknown status', ['runs', '--status', 'done'], 2, /^--status "done": give one or more of queued, running, waiting, succeeded, failed, canceled, separated by commas$/],
  ['a status list of commas only', ['runs', '--status', ',,'], 2, /^--status ",,": give one or more of/],
  ['a status with SQL in it', ['runs', '--status', "failed' or 1=1 --"], 2, /^--status "failed' or 1=1 --": give one or more of/],
  ['a runs lane with a space', ['runs', '--lane', 'A B'], 2, /^--lane "A B": a lane name is 1 to 16 letters, digits, "-" or "_"$/],
  ['a runs lane of 500 characters', ['runs', '--lane', long(500, 'A')], 2, /^--lane "A{500}": a lane name is 1 to 16/],
  ['an unknown executor for runs', ['runs', '--executor', 'python'], 2, /^--executor "python": allowed choices are shell, agent, runbook$/],
  ['--since in words', ['runs', '--since', 'yesterday'], 2, /^--since "yesterday": give a time ago such as 7d, 12h or 30m, a day such as 2026-12-01, or a time such as 2026-12-01T08:00:00Z$/],
  ['--since a day that does not exist', ['runs', '--since', '2026-02-30'], 2, /^--since "2026-02-30": give a time ago/],
  ['--until in years', ['runs', '--until', '7y'], 2, /^--until "7y": give a time ago/],
  ['--since a negative time ago', ['runs', '--since', '-7d'], 2, /^--since "-7d": give a time ago/],
  ['--since after --until', ['runs', '--since', '2026-12-02', '--until', '2026-12-01'], 1, /^--since \S+ is not before --until \S+ \(give a range whose start comes before its end\)$/],
  ['an unknown sort', ['runs', '--sort', 'random'], 2, /^--sort "random": allowed choices are newest, duration, status$/],
  ['a runs limit of zero', ['runs', '--limit', '0'], 2, /^--limit "0": give a whole number from 1 to 100000$/],
  ['a blank search', ['runs', '--search', '   '], 2, /^--search " {3}": give text of 1 to 500 characters$/],
  ['a search of 501 characters', ['runs', '--search', long(501)], 2, /^--search "x{501}": give text of 1 to 500 characters$/],
  ['an empty runbook name', ['runs', '--runbook', ''], 2, /^--runbook "": give a runbook name of 1 to 200 characters$/],
  ['--runbook with another executor', ['runs', '--runbook', 'deploy', '--executor', 'shell'], 1, /^--runbook "deploy": runbook runs are never shell runs \(leave out --executor, or give --executor runbook\)$/],
  ['--md with --json', ['--json', 'runs', '--md'], 1, /^--md and --json: give one of them/],
  ['a word for runs --session', ['runs', '--session', 'nothex'], 1, /^session: "nothex" is not a session id/],
  ['a runs --session that matches nothing', ['runs', '--session', '0000ffff'], 1, /^session 0000ffff does not exist/],
  // where the database is
  ['an unreachable database', ['status'], 1, /^cannot reach the database at postgres:\/\/nobody@127\.0\.0\.1:1\/none: connect ECONNREFUSED .* \(check that it is running and the URL is right \(--db or OCR_DATABASE_URL\)\)$/],
];
// the unreachable one takes its URL from the environment
const rowEnv: Record<string, NodeJS.ProcessEnv> = { 'an unreachable database': { OCR_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' } };

// The --db values worker/store/open.ts (chooseDatabase) decides about, as the README describes them: each one line
// naming --db and its value, nothing created. Before those checks, `http://…` and `postgress://…` were taken for
// embedded data folders (a server was started in ./http:/…), `postgres://h:abc/db` ended in a bare "Invalid URL" and
// `sslmode=require` added node-postgres's security warning of eight lines.
// prettier-ignore
const databaseUrls: Refused[] = [
  ['an http URL', ['--db', 'http://example.com/db', 'status'], 1, /^--db "http:\/\/example\.com\/db" is neither a PostgreSQL URL nor a folder \(.*postgres:\/\//],
  ['a misspelt scheme', ['--db', 'postgress://h/db', 'status'], 1, /^--db "postgress:\/\/h\/db" is neither a PostgreSQL URL nor a folder/],
  ['a port that is not a number', ['--db', 'postgres://h:abc/db', 'status'], 1, /^--db "postgres:\/\/h:abc\/db": the port "abc" is not a number/],
  ['sslmode=require, one line without a warning', ['--db', 'postgres://h/db?sslmode=require', 'status'], 1, /^cannot (reach|use) the database at postgres:\/\/h\/db\?sslmode=require: /],
  ['a folder with no database in it', ['--db', 'no-such-folder', 'status'], 1, /^--db "[^"]*no-such-folder": there is no embedded database in that folder \(add --init/],
  ['an http URL in OCR_DATABASE_URL', ['status'], 1, /^OCR_DATABASE_URL "http:\/\/example\.com\/db" is neither a PostgreSQL URL nor a folder/],
];

function expectRefused(r: CliResult, exitCode: number, message: RegExp, label: string): void {
  expect(r.stderr, label).toMatch(/^ocr: [^\n]*\n$/);
  expect(r.stderr.slice('ocr: '.length, -1), label).toMatch(message);
  expect(r.stderr, label).not.toMatch(/\bError:|\n\s+at /);
  expect(r.code, `${label}: ${r.stderr}`).toBe(exitCode);
  expect(r.stdout, label).toBe('');
}

describe.concurrent('ocr refuses bad input with one line and changes nothing', () => {
  it.each(refused)('%s', async (name, args, exitCode, message) => {
    const before = await fingerprint();
    const r = await ocr(expand(args), rowEnv[name]);
    expectRefused(r, exitCode, message, name);
    // every row of this table is refused, so nothing may have changed by the time any of them ends
    expect(await fingerprint()).toEqual(before);
  });

  it.each(databaseUrls)('--db: %s', async (name, args, exitCode, message) => {
    const r = await ocr(args, { OCR_DATABASE_URL: name.includes('OCR_DATABASE_URL') ? 'http://example.com/db' : '' });
    expectRefused(r, exitCode, message, name);
    expect(readdirSync(scratch).filter((f) => f !== 'data'), 'nothing created in the working folder').toEqual([]);
    expect(existsSync(path.join(scratch, 'data', 'ops-control-room')), 'no embedded database started').toBe(false);
  });
});

type Handled = [name: string, args: string[], check: (r: CliResult) => Promise<void>];

const created = (r: CliResult): string => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).id as string;
};
const runOf = async (r: CliResult): Promise<Run> => store.getRun(created(r));
const sessionOf = async (r: CliResult) => store.getSession(created(r));
const storedIntent = (intent: string) => async (r: CliResult) => expect((await runOf(r)).intent).toBe(intent);
const storedTitle = (title: string) => async (r: CliResult) => expect((await sessionOf(r)).title).toBe(title);

// prettier-ignore
const handled: Handled[] = [
  ['a negative priority runs first', run('--priority', '-5', '--', 'x'), async (r) => expect((await runOf(r)).priority).toBe(-5)],
  ['a priority with spaces around it', run('--priority', ' 7 ', '--', 'x'), async (r) => expect((await runOf(r)).priority).toBe(7)],
  ['the lowest priority there is', run('--priority', '-1000000', '--', 'x'), async (r) => expect((await runOf(r)).priority).toBe(-1_000_000)],
  ['a timeout of a week', run('--timeout', '604800', '--', 'x'), async (r) => expect((await runOf(r)).spec).toEqual({ timeoutSeconds: 604_800 })],
  ['SQL in an intent is stored as text', run('--', "'); drop table ops.runs; --"), storedIntent("'); drop table ops.runs; --")],
  ['quotes of every kind', run('--', `"it's" \`done\` \\"`), storedIntent(`"it's" \`done\` \\"`)],
  ['a command substitution is stored, not run', run('--', '$(touch pwned)', '`touch pwned2`'), async (r) => {
    await storedIntent('$(touch pwned) `touch pwned2`')(r);
    expect(existsSync(path.join(scratch, 'pwned')) || existsSync(path.join(scratch, 'pwned2'))).toBe(false);
  }],
  ['emoji, combining marks and a right-to-left override', run('--', '🚀 e\u0301 \u202eevil\u202c'), storedIntent('🚀 e\u0301 \u202eevil\u202c')],
  ['an intent of exactly 100,000 characters', run('--', long(100_000, 'z')), storedIntent(long(100_000, 'z'))],
  ['the words of an intent are joined with spaces', run('--', 'npm', 'test', '--', '-x'), storedIntent('npm test -- -x')],
  ['an agent profile called constructor is a name like any other', run('--agent', 'constructor', '--', 'x'), async (r) => {
    expect(await runOf(r)).toMatchObject({ executor: 'agent', spec: { profile: 'constructor' } });
  }],
  ['a session id in capitals', ['run', '--session', '$SESSION', '--lane', 'B', '--', 'x'], async (r) => expect((await runOf(r)).lane).toBe('B')],
  ['a title padded with spaces is trimmed', ['session', 'new', '--title', '  padded  '], storedTitle('padded')],
  ['a title of exactly 200 characters', ['session', 'new', '--title', long(200)], storedTitle(long(200))],
  ['a title with escapes is stored as it is', ['session', 'new', '--title', '\x1b]0;pwned\x07x'], storedTitle('\x1b]0;pwned\x07x')],
  ['a title with SQL and emoji', ['session', 'new', '--title', "Robert'); DROP TABLE ops.sessions;-- 🚀"], storedTitle("Robert'); DROP TABLE ops.sessions;-- 🚀")],
  ['lanes with spaces and a trailing comma', ['session', 'new', '--title', 'lanes', '--lanes', ' A , B ,'], async (r) => expect((await sessionOf(r)).lanes).toEqual(['A', 'B'])],
  ['26 lanes', ['session', 'new', '--title', 'wide', '--lanes', lanes27.split(',').slice(0, 26).join(',')], async (r) => expect((await sessionOf(r)).lanes).toHaveLength(26)],
  ['SQL in a runs search is text to look for', ['runs', '--search', "' or 1=1 --"], async (r) => {
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  }],
  ['a % in a runs search matches a %, not everything', ['runs', '--search', '%'], async (r) => {
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  }],
  ['statuses with spaces, capitals and a repeat', ['runs', '--status', ' Queued , queued '], async (r) => {
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as Array<{ id: string }>).map((x) => x.id)).toContain(ids.RUN);
  }],
  ['an empty --db means OCR_DATABASE_URL', ['--db', '', 'session', 'new', '--title', 'env'], storedTitle('env')],
];

describe('ocr handles careless input that has one meaning', () => {
  it.each(handled)('%s', async (_name, args, check) => {
    // ids in capitals, to show they are matched whatever their case
    const r = await ocr(['--json', ...expand(args).map((a) => (a === ids.SESSION && _name.includes('capitals') ? a.toUpperCase() : a))]);
    await check(r);
  });
});
