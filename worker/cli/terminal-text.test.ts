// What `ocr` prints for a person never carries a terminal's escapes: titles, intents, errors, worker ids and hosts, log
// lines and diff file names go through the domain's stripping (window titles, hyperlinks and clipboard writes would
// otherwise act on the terminal of whoever reads them). --json stays exact: JSON escapes control characters itself.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../store/open';
import type { PostgresStore } from '../store/postgres';
import { createTestDatabase } from '../store/testing';

const ocrJs = path.resolve('dist/ocr.js');

interface Result {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

function ocr(args: string[], env: NodeJS.ProcessEnv): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ocrJs, ...args], { env: { ...process.env, ...env }, encoding: 'buffer' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

// Each one alone, then all of them in one string, around words that must stay visible.
const osc0 = '\x1b]0;pwned\x07';
const osc8 = (text: string) => `\x1b]8;;http://x\x1b\\${text}\x1b]8;;\x1b\\`;
const osc52 = '\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07';
const erase = '\x1b[2J';
const c1 = '\u009b';
const hostile = (words: [string, string, string, string, string]) =>
  `${words[0]} ${osc0}${words[1]} ${osc8(words[2])} ${osc52}${words[3]} ${erase}${words[4]}${c1}`;

const title = hostile(['Deploy', 'notes', 'link', 'clip', 'wipe']);
const intent = hostile(['make', 'the', 'build', 'green', 'again']);

/** The bytes a terminal would act on: ESC, and the C1 controls (U+0080–U+009F, two bytes C2 80–9F in UTF-8). */
function escapesIn(bytes: Buffer): string[] {
  const found: string[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x1b) found.push(`ESC at ${i}`);
    if (bytes[i] === 0xc2 && bytes[i + 1]! >= 0x80 && bytes[i + 1]! <= 0x9f) found.push(`C1 0x${bytes[i + 1]!.toString(16)} at ${i}`);
  }
  // the same check on the text, should the output not be UTF-8 at all
  if (/[\x1b\u0080-\u009f]/.test(bytes.toString('utf8'))) found.push('a control in the decoded text');
  return found;
}

function shown(r: Result, stream: 'stdout' | 'stderr' = 'stdout'): string {
  expect(escapesIn(r[stream]), `${stream}: ${JSON.stringify(r[stream].toString('utf8'))}`).toEqual([]);
  expect(r[stream].toString('utf8')).not.toContain('pwned');
  return r[stream].toString('utf8');
}

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: PostgresStore;
let env: NodeJS.ProcessEnv;
let sessionId: string;
let finishedRunId: string;
let runningRunId: string;
const workerId = `edge-${osc0}worker${c1}`;

beforeAll(async () => {
  db = await createTestDatabase('ocr_cli_text');
  store = await openStore(db.url);
  env = { OCR_DATABASE_URL: db.url };

  const created = await ocr(['--json', 'session', 'new', '--title', title, '--intent', intent, '--lanes', 'A,B'], env);
  expect(created.stderr.toString()).toBe('');
  sessionId = JSON.parse(created.stdout.toString()).id;
  for (const lane of ['A', 'B']) {
    const queued = await ocr(['run', '--json', '--session', sessionId, '--lane', lane, '--', intent], env);
    expect(queued.stderr.toString()).toBe('');
  }

  // A worker whose id and host hold escapes claims both runs, logs hostile output into one and finishes it with a
  // hostile error and a diff whose file names hold escapes; the other stays running.
  await store.registerWorker({ id: workerId, host: `host${erase}${osc8('name')}`, pid: 4242, concurrency: 2, labels: { agents: [`claude${osc0}`] } });
  const claimed = await store.claimRuns(workerId, 2, { sessions: [sessionId] });
  expect(claimed).toHaveLength(2);
  const [done, running] = claimed.sort((a, b) => a.lane.localeCompare(b.lane));
  finishedRunId = done!.id;
  runningRunId = running!.id;
  const lease = { runId: done!.id, workerId, attempt: done!.attempt };
  await store.appendEvents(lease, [
    { stream: 'stdout', text: `${osc0}building ${osc8('docs')}` },
    { stream: 'stderr', text: `${osc52}warning ${erase}here${c1}` },
    { stream: 'stdout', text: ' 10%\r\x1b[32m100%\x1b[0m' },
    { stream: 'system', text: `exit ${osc0}1` },
  ]);
  await store.putArtifact(lease, {
    kind: 'diff',
    name: 'diff',
    content: '',
    meta: {
      base: 'abc',
      files: 1,
      insertions: 2,
      deletions: 0,
      entries: [{ path: `src/${osc0}evil${c1}.ts`, status: 'added', insertions: 2, deletions: 0, binary: false }],
    },
  });
  await store.finishAndClaim(workerId, [{ runId: done!.id, attempt: done!.attempt, status: 'failed', exitCode: 1, error: `boom ${osc52}${erase}failed` }], 0);
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

describe('ocr prints no terminal escapes that came from the database or a run', () => {
  it('session list and session archive: the title as text', async () => {
    const text = shown(await ocr(['session', 'list'], env));
    expect(text).toContain('Deploy notes link clip wipe');
  });

  it('status: titles, intents, worker ids and errors as text', async () => {
    const text = shown(await ocr(['status'], env));
    expect(text).toContain('Deploy notes link');
    expect(text).toContain('make the build green again');
    expect(text).toContain('edge-worker');
    expect(text).toContain('[boom failed]');
  });

  it('logs: each line as a terminal shows it without colors', async () => {
    const r = await ocr(['logs', finishedRunId], env);
    expect(r.code).toBe(0);
    expect(shown(r)).toBe('building docs\nwarning here\n100%\n── exit 1\n');
    const followed = await ocr(['logs', '--follow', finishedRunId], env);
    expect(shown(followed)).toBe('building docs\nwarning here\n100%\n── exit 1\n');
  });

  it('workers: ids, hosts and agents as text', async () => {
    const text = shown(await ocr(['workers'], env));
    expect(text).toMatch(/edge-worker\s+running\s+hostname\s+4242\s+1\/2\s+.*claude/);
  });

  it('diff --stat: file names as text', async () => {
    const text = shown(await ocr(['diff', finishedRunId, '--stat'], env));
    expect(text).toContain('src/evil.ts');
  });

  it('cancel: the worker asked to stop, by its id as text', async () => {
    const text = shown(await ocr(['cancel', runningRunId], env));
    expect(text).toContain('asked worker edge-worker to stop');
  });

  it('error lines: what the user typed or the database said, as text on one line', async () => {
    const unknownOption = await ocr(['status', `--${osc0}x${c1}`], env);
    expect(unknownOption.code).toBe(2);
    expect(shown(unknownOption, 'stderr')).toMatch(/^ocr: --x: not an option of `ocr status` [^\n]*\n$/);
    const choice = await ocr(['run', '--session', sessionId, '--lane', 'A', '--executor', `shell${osc8('x')}${erase}`, '--', 'x'], env);
    expect(choice.code).toBe(2);
    expect(shown(choice, 'stderr')).toMatch(/^ocr: --executor "shell[^\n]*x[^\n]*": allowed choices are shell, agent\n$/);
    const unreachable = await ocr(['status'], { OCR_DATABASE_URL: `postgres://nobody@127.0.0.1:1/${osc0}gone${erase}` });
    expect(unreachable.code).toBe(1);
    // the URL as the store describes it: percent-encoded, so the escapes' text shows, harmless
    expect(escapesIn(unreachable.stderr)).toEqual([]);
    expect(unreachable.stderr.toString()).toMatch(/^ocr: cannot reach the database at [^\n]*gone[^\n]*\n$/);
  });

  it('--json keeps the text exact, escaped by JSON', async () => {
    const r = await ocr(['--json', 'status'], env);
    expect(r.stdout.includes(0x1b)).toBe(false);
    const status = JSON.parse(r.stdout.toString());
    expect(status.sessions[0].title).toBe(title);
    expect(status.runs.map((run: { intent: string }) => run.intent)).toEqual([intent, intent]);
    const logs = JSON.parse((await ocr(['--json', 'logs', finishedRunId], env)).stdout.toString());
    expect(logs.events[0].text).toBe(`${osc0}building ${osc8('docs')}`);
  });

  // JSON.stringify escapes U+0000–U+001F only: a C1 control (U+009B, an 8-bit CSI) would reach the terminal as it is;
  // the JSON printer writes U+0080–U+009F as \u escapes too.
  it('--json escapes C1 controls as well', async () => {
    expect(escapesIn((await ocr(['--json', 'status'], env)).stdout)).toEqual([]);
  });

  it('session archive: the title as text (last: the session is gone from the lists after it)', async () => {
    const archived = await ocr(['session', 'archive', sessionId], env);
    expect(shown(archived)).toContain('"Deploy notes link clip wipe"');
    // the database's own error quotes the title
    const refused = await ocr(['run', '--session', sessionId, '--lane', 'A', '--', 'true'], env);
    expect(refused.code).toBe(1);
    expect(shown(refused, 'stderr')).toMatch(/^ocr: session: \S+ \(Deploy notes link clip wipe\) is archived and takes no new runs[^\n]*\n$/);
  });
});
