// `ocr runbook init|list|validate|run` as a user runs them: the real bundle as a process, a real repository and a real
// PostgreSQL. Bad input gets one line naming the field and the fix, and leaves nothing in the database.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, sh, tempDir } from '../engine/git.test-support';
import { fixtureFiles } from '../runbooks/fixture-project.test-support';
import { SecretBox } from '../runbooks/secrets';
import { openStore } from '../store/open';
import type { Store } from '../store/store';
import { createTestDatabase } from '../store/testing';
import { type CliOptions, type CliResult, refused, runOcr } from './cli.test-support';

const examples = path.resolve('examples/runbooks');


let db: Awaited<ReturnType<typeof createTestDatabase>>;
let store: Store;
const dir = tempDir('ocr-cli-runbooks-');
const repo = path.join(dir.path, 'project');
const keyFile = path.join(dir.path, 'keys', 'secret.key');

const ocr = (args: string[], options: CliOptions = {}): Promise<CliResult> =>
  runOcr(args, { ...options, cwd: options.cwd ?? repo, env: { OCR_DATABASE_URL: db.url, OCR_SECRET_KEY_FILE: keyFile, ...options.env } });

const json = (r: CliResult) => {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};


async function count(sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
  } finally {
    await client.end();
  }
}

const broken = 'name: broken\ntitle: Broken\nsteps:\n  - id: a\n    run: echo a\n    retries: 3\n';

beforeAll(async () => {
  db = await createTestDatabase('ocr_cli_runbooks');
  store = await openStore(db.url);
  mkdirSync(repo);
  makeRepo(repo, fixtureFiles());
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
  dir.remove();
});

describe('ocr runbook', () => {
  it('init copies the examples and their scripts; again it changes nothing; a changed copy is kept unless --force', async () => {
    const first = json(await ocr(['runbook', 'init', '--json']));
    expect(first.copied).toEqual([
      '.ocr/runbooks/db-migrate.yaml',
      '.ocr/runbooks/healthcheck.yaml',
      '.ocr/runbooks/supabase-migration-run.yaml',
      '.ocr/runbooks/test-and-lint.yaml',
      '.ocr/runbooks/vercel-env-fix.yaml',
      '.ocr/runbooks/scripts/env-example.mjs',
      '.ocr/runbooks/scripts/healthcheck.mjs',
      '.ocr/runbooks/scripts/sql-migrate.mjs',
    ]);
    expect(first.folder).toBe(path.join(repo, '.ocr', 'runbooks'));
    expect(readFileSync(path.join(repo, '.ocr/runbooks/scripts/healthcheck.mjs'), 'utf8')).toBe(readFileSync(path.join(examples, 'scripts/healthcheck.mjs'), 'utf8'));
    expect(existsSync(path.join(repo, '.ocr/runbooks/README.md'))).toBe(false);

    const again = await ocr(['runbook', 'init', '--repo', repo], { cwd: dir.path });
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toBe('project/.ocr/runbooks already has the examples; nothing copied\n');

    const mine = path.join(repo, '.ocr/runbooks/healthcheck.yaml');
    writeFileSync(mine, readFileSync(mine, 'utf8') + '# mine\n');
    refused(await ocr(['runbook', 'init']), /^ocr: \.ocr\/runbooks\/healthcheck\.yaml already exists and differs from the examples; nothing was copied \(give --force to replace it, or move it aside\)\n$/);
    expect(readFileSync(mine, 'utf8')).toContain('# mine');
    const forced = await ocr(['runbook', 'init', '--force']);
    expect(forced).toMatchObject({ code: 0, stderr: '' });
    expect(forced.stdout).toMatch(/^copied 1 file\(s\) into \.ocr\/runbooks \(1 replaced\); 7 already the same\n  \.ocr\/runbooks\/healthcheck\.yaml\ncommit them/);
    expect(readFileSync(mine, 'utf8')).toBe(readFileSync(path.join(examples, 'healthcheck.yaml'), 'utf8'));
    sh(repo, 'git add -A && git commit -q -m runbooks');
  });

  it("list shows each runbook's kind, env and inputs, from any folder of the repository; --json gives them as data", async () => {
    const text = await ocr(['runbook', 'list'], { cwd: path.join(repo, 'src') });
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^NAME +TITLE +KIND +ENV +INPUTS \(\* required\)$/m);
    expect(text.stdout).toMatch(/^healthcheck +HTTP health check +healthcheck +- +urls\*, timeout:number$/m);
    expect(text.stdout).toMatch(/^db-migrate +Apply SQL migrations +schema_sync +\(input env\) +env:dev\|staging\|prod, database_url\* \(secret\), folder, client:auto\|psql\|pg$/m);
    expect(text.stdout).toMatch(/^test-and-lint +Test and lint +custom +- +-$/m);
    const data = json(await ocr(['--json', 'runbook', 'list', '--repo', repo], { cwd: dir.path }));
    expect(data.problems).toEqual([]);
    expect(data.runbooks.map((r: { name: string }) => r.name)).toEqual(['db-migrate', 'healthcheck', 'supabase-migration-run', 'test-and-lint', 'vercel-env-fix']);
    expect(data.runbooks[0]).toMatchObject({
      name: 'db-migrate',
      kind: 'schema_sync',
      env: '{{ inputs.env }}',
      file: 'project/.ocr/runbooks/db-migrate.yaml',
      inputs: [
        { key: 'env', type: 'enum', values: ['dev', 'staging', 'prod'], default: 'dev', required: false, secret: false },
        { key: 'database_url', type: 'string', required: true, secret: true },
        { key: 'folder', type: 'string', default: 'migrations' },
        { key: 'client', type: 'enum', values: ['auto', 'psql', 'pg'], default: 'auto' },
      ],
    });
  });

  it('validate checks every runbook file, or those named: file:line:column lines and exit 1 on a problem, --json as data', async () => {
    const ok = await ocr(['runbook', 'validate']);
    expect(ok).toEqual({ code: 0, stderr: '', stdout: '5 runbook file(s) checked: no problems\n' });
    expect(json(await ocr(['runbook', 'validate', '--json', path.join(examples, 'healthcheck.yaml')]))).toEqual({ ok: true, files: [path.join(examples, 'healthcheck.yaml')], problems: [] });

    const file = path.join(repo, '.ocr/runbooks/broken.yaml');
    writeFileSync(file, broken);
    try {
      const found = await ocr(['runbook', 'validate']);
      expect(found).toEqual({
        code: 1,
        stdout: '.ocr/runbooks/broken.yaml:6:5: steps.0: unknown field retries; remove it\n',
        stderr: 'ocr: 1 problem(s) in 1 runbook file(s) (fix each at the file:line:column shown; a file with a problem cannot be run)\n',
      });
      const named = await ocr(['runbook', 'validate', file, path.join(dir.path, 'missing.yaml')], { cwd: dir.path });
      expect(named.code).toBe(1);
      expect(named.stdout).toBe(`${file}:6:5: steps.0: unknown field retries; remove it\n${path.join(dir.path, 'missing.yaml')}:1:1: cannot read it (ENOENT)\n`);
      const data = await ocr(['runbook', 'validate', '--json']);
      expect(data.code).toBe(1);
      expect(JSON.parse(data.stdout)).toEqual({
        ok: false,
        files: expect.arrayContaining(['.ocr/runbooks/broken.yaml', '.ocr/runbooks/healthcheck.yaml']),
        problems: [{ file: '.ocr/runbooks/broken.yaml', line: 6, column: 5, message: 'steps.0: unknown field retries; remove it' }],
      });

      const list = await ocr(['runbook', 'list']);
      expect(list.code).toBe(1);
      expect(list.stdout).toMatch(/^healthcheck /m);
      expect(list.stdout).toMatch(/\nproblems:\n {2}\.ocr\/runbooks\/broken\.yaml:6:5: steps\.0: unknown field retries; remove it\n$/);
      expect(list.stderr).toBe('ocr: 1 problem(s) in 1 runbook file(s) (fix each at the file:line:column shown; a file with a problem cannot be run)\n');

      const { id: sessionId } = json(await ocr(['--json', 'session', 'new', '--title', 'broken runbook', '--repo', repo]));
      refused(await ocr(['runbook', 'run', 'broken', '--session', sessionId, '--lane', 'A']), /^ocr: \.ocr\/runbooks\/broken\.yaml:6:5: steps\.0: unknown field retries; remove it \(fix runbook broken's file; `ocr runbook validate` lists every problem\)\n$/);
      expect(await count(`select count(*) as n from ops.runs where session_id = '${sessionId}'`)).toBe(0);
    } finally {
      rmSync(file);
    }
  });

  it('run queues a run with its inputs read as their types, secrets sealed from a file or stdin, and prints the run id', async () => {
    const { id: sessionId } = json(await ocr(['--json', 'session', 'new', '--title', 'runbooks', '--repo', repo]));
    const queued = json(await ocr(['runbook', 'run', 'healthcheck', '--session', sessionId.slice(0, 8), '--lane', 'A', '--input', 'urls=http://127.0.0.1:8080/health=200', '--input', 'timeout=3', '--json']));
    expect(queued).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), runbook: 'healthcheck', version: 1, lane: 'A', env: null, session_id: sessionId });
    const run = await store.getRun(queued.id);
    expect(run).toMatchObject({ executor: 'runbook', status: 'queued', lane: 'A', intent: 'HTTP health check (runbook healthcheck v1)' });
    expect(run.spec).toMatchObject({ name: 'healthcheck', version: 1, inputs: { urls: 'http://127.0.0.1:8080/health=200', timeout: 3 }, env: null });

    const text = await ocr(['runbook', 'run', 'healthcheck', '--session', sessionId, '--lane', 'B', '--input', 'urls=http://127.0.0.1:8080/=2xx']);
    expect(text.stderr).toBe('');
    expect(text.stdout).toMatch(/^queued run [0-9a-f]{8} of runbook healthcheck v1 in lane B\n[0-9a-f-]{36}\n$/);

    // a secret from a file: sealed with the key file, made on first use (only its owner may read it)
    expect(existsSync(keyFile)).toBe(false);
    writeFileSync(path.join(dir.path, 'db-url'), 'postgres://app:s3cret-from-file@db.internal/app\n');
    const fromFile = json(await ocr(['runbook', 'run', 'db-migrate', '--session', sessionId, '--lane', 'C', '--input', `database_url=@${path.join(dir.path, 'db-url')}`, '--json']));
    expect(fromFile).toMatchObject({ runbook: 'db-migrate', env: 'dev', lane: 'C' });
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const sealed = (await store.getRun(fromFile.id)).spec as { inputs: Record<string, unknown>; env: string };
    expect(JSON.stringify(sealed)).not.toContain('s3cret');
    expect(sealed).toMatchObject({ env: 'dev', inputs: { env: 'dev', folder: 'migrations', client: 'auto', database_url: { sealed: expect.any(String) } } });
    const box = SecretBox.fromFile(keyFile);
    expect(box.open((sealed.inputs.database_url as { sealed: string }).sealed)).toBe('postgres://app:s3cret-from-file@db.internal/app');

    const fromStdin = json(await ocr(['runbook', 'run', 'db-migrate', '--session', sessionId, '--lane', 'D', '--input', 'env=staging', '--input-stdin', 'database_url', '--json'], { stdin: 'postgres://app:s3cret-from-stdin@db.internal/app\n' }));
    const viaStdin = (await store.getRun(fromStdin.id)).spec as { inputs: Record<string, { sealed: string }>; env: string };
    expect(viaStdin.env).toBe('staging');
    expect(box.open(viaStdin.inputs.database_url!.sealed)).toBe('postgres://app:s3cret-from-stdin@db.internal/app');

    // prod: only with --yes
    const prod = json(await ocr(['runbook', 'run', 'db-migrate', '--session', sessionId, '--lane', 'A', '--input', 'env=prod', '--input-stdin', 'database_url', '--yes', '--json'], { stdin: 'postgres://prod' }));
    expect(prod).toMatchObject({ env: 'prod' });
    expect((await store.getRun(prod.id)).spec).toMatchObject({ env: 'prod' });
    // the same text is the same published version
    expect(await count(`select count(*) as n from ops.templates where name = 'db-migrate'`)).toBe(1);
  });

  it('run refuses bad input in one line that names the field and the fix, and stores nothing', async () => {
    const { id: sessionId } = json(await ocr(['--json', 'session', 'new', '--title', 'bad input', '--repo', repo]));
    const templates = await count('select count(*) as n from ops.templates');
    const s = ['--session', sessionId];
    const urls = ['--input', 'urls=http://127.0.0.1:8080/health=200'];
    const secret = ['--input', 'database_url=postgres://app:hunter2@db/app'];
    const cases: Array<[string[], RegExp, number?]> = [
      [['runbook', 'run', 'nope', ...s, '--lane', 'A'], /^ocr: runbook "nope": no such runbook in \.ocr\/runbooks \(its runbooks: db-migrate, healthcheck, supabase-migration-run, test-and-lint, vercel-env-fix\)\n$/],
      [['runbook', 'run', 'healthcheck', ...s, '--lane', 'A', ...urls, '--input', 'colour=red'], /^ocr: --input colour="red": runbook healthcheck has no input "colour" \(runbook healthcheck's inputs: urls, timeout\)\n$/],
      [['runbook', 'run', 'healthcheck', ...s, '--lane', 'A', ...urls, '--input', 'timeout=soon'], /^ocr: --input timeout="soon": expected a number \(give a number: --input timeout=3\)\n$/],
      [['runbook', 'run', 'db-migrate', ...s, '--lane', 'A', ...secret, '--input', 'env=qa'], /^ocr: --input env="qa": expected one of dev, staging, prod \(give one of its values: --input env=dev\)\n$/],
      [['runbook', 'run', 'vercel-env-fix', ...s, '--lane', 'A', '--input', 'check=maybe'], /^ocr: --input check="maybe": expected true or false \(give true or false: --input check=true\)\n$/],
      [['runbook', 'run', 'healthcheck', ...s, '--lane', 'A'], /^ocr: inputs\.urls: URLs and their expected status is required \(give it with --input urls=…\)\n$/],
      [['runbook', 'run', 'db-migrate', ...s, '--lane', 'A'], /^ocr: inputs\.database_url: .* is required \(give it with --input database_url=@FILE or --input-stdin database_url\)\n$/],
      [['runbook', 'run', 'healthcheck', ...s, '--lane', 'A', '--input', 'urls'], /^ocr: --input "urls": not key=value \(give --input key=value, such as --input env=dev\)\n$/],
      [['runbook', 'run', 'healthcheck', ...s, '--lane', 'A', ...urls, ...urls], /^ocr: --input urls="[^"]*": input urls is given twice \(give each input once\)\n$/],
      [['runbook', 'run', 'db-migrate', ...s, '--lane', 'A', '--input', 'database_url=@/nonexistent/url'], /^ocr: --input database_url=@\/nonexistent\/url: cannot read \/nonexistent\/url \(ENOENT\) \(give the path of a file that holds the value\)\n$/],
      [['runbook', 'run', 'db-migrate', ...s, '--lane', 'A', ...secret, ...secret], /^ocr: --input database_url=…: input database_url is given twice \(give each input once\)\n$/],
      [['runbook', 'run', 'healthcheck', ...s, '--lane', 'A', ...urls, '--input-stdin', 'token'], /^ocr: --input-stdin token: runbook healthcheck has no input "token"/],
      [['runbook', 'run', 'db-migrate', ...s, '--lane', 'A', ...secret, '--input', 'env=prod'], /^ocr: runbook db-migrate acts on prod; nothing was queued \(give --yes to queue it on prod\)\n$/],
      [['runbook', 'run', 'healthcheck', ...s, ...urls], /^ocr: --lane: runbook healthcheck names no lane of its own \(give --lane, one of the session's lanes: A, B, C, D\)\n$/],
      [['runbook', 'run', 'healthcheck', ...s, '--lane', 'Z', ...urls], /^ocr: --lane "Z": not a lane of session [0-9a-f]{8} \(use one of its lanes: A, B, C, D\)\n$/],
      [['runbook', 'run', 'healthcheck', '--session', 'ffffffff', '--lane', 'A', ...urls], /^ocr: session ffffffff does not exist/],
      [['runbook', 'run', 'healthcheck', '--lane', 'A', ...urls], /^ocr: --session: required \(give --session <id>; run `ocr runbook run --help` for usage\)\n$/, 2],
      [['runbook', 'validate', '--bogus'], /^ocr: --bogus: not an option of `ocr runbook validate`/, 2],
      [['runbook', 'list', '--repo', path.join(dir.path, 'nowhere')], /^ocr: --repo ".*nowhere": no such folder \(give the folder of a repository\)\n$/],
    ];
    for (const [args, line, code] of cases) {
      const r = await ocr(args);
      expect({ args, stderr: r.stderr, stdout: r.stdout, code: r.code }).toEqual({ args, stderr: expect.stringMatching(line), stdout: '', code: code ?? 1 });
      expect(r.stderr).toMatch(/^ocr: [^\n]*\n$/);
      expect(r.stderr).not.toContain('hunter2');
      // --json changes nothing of the line
      if (!code) expect((await ocr(['--json', ...args])).stderr).toBe(r.stderr);
    }
    expect(await count(`select count(*) as n from ops.runs where session_id = '${sessionId}'`)).toBe(0);
    expect(await count('select count(*) as n from ops.templates')).toBe(templates);
  });
});
