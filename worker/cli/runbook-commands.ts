// `ocr runbook list|validate|run|init`: a repository's runbooks (.ocr/runbooks/<name>.yaml), checked the way CI and
// editors read problems (file:line:column), queued as runs with typed inputs, and the example runbooks copied in.
// Inputs are read with the domain's readInputValue for their type; a secret one may come from a file or from stdin,
// so that it is in no command line or shell history, and is sealed before it reaches the database.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import {
  InputProblem,
  type InputValue,
  readInputValue,
  resolveInputs,
  type Runbook,
  type RunbookInput,
  runbookEnvOf,
  shortId,
} from '../../domain';
import { gitMaybe } from '../engine/git';
import { describeProblem, parseRunbook, type RunbookFile, runbookFolder, type RunbookProblem, readRunbooks } from '../runbooks/files';
import { SecretBox, secretKeyFile } from '../runbooks/secrets';
import { queueRunbookRun } from '../runs/queue-runbook-run';
import { OcrError } from '../store/errors';
import type { CliContext } from './context';
import { plain, table } from './format';
import { priorityOption } from './options';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerRunbookCommands(program: Command, ctx: CliContext): void {
  const runbook = program.command('runbook').description("a repository's runbooks (.ocr/runbooks): list, validate, run, and the examples");

  runbook
    .command('list')
    .description("the repository's runbooks, with their inputs; problems of the files that are not runbooks after them")
    .option('--repo <dir>', 'the repository (default: the one of the current folder)')
    .action(async (o: { repo?: string }) => {
      const repo = await repositoryFolder(o.repo);
      const set = await readRunbooks(shownPath(path.join(repo, runbookFolder)));
      const rows = set.runbooks.map(({ runbook: r }) => [r.name, plain(r.title, 40), r.kind, envLabel(r), r.inputs.map(inputLabel).join(', ') || '-']);
      const human =
        (set.runbooks.length === 0
          ? `no runbooks in ${shownPath(path.join(repo, runbookFolder))} (copy the examples with \`ocr runbook init\`)\n`
          : table(['NAME', 'TITLE', 'KIND', 'ENV', 'INPUTS (* required)'], rows)) + problemsText(set.problems);
      ctx.print(human, { folder: path.join(repo, runbookFolder), runbooks: set.runbooks.map(runbookJson), problems: set.problems });
      if (set.problems.length > 0) throw problemsError(set.problems);
    });

  runbook
    .command('validate')
    .description('check runbook files; prints file:line:column: message for each problem and exits 1 when there is one (for CI)')
    .argument('[files...]', "runbook files (default: every file of the repository's .ocr/runbooks)")
    .option('--repo <dir>', 'the repository whose runbooks to check when no file is named (default: the one of the current folder)')
    .action(async (files: string[], o: { repo?: string }) => {
      const checked = files.length > 0 ? await validateFiles(files) : await validateFolder(await repositoryFolder(o.repo));
      const lines = checked.problems.map((p) => plain(describeProblem(p)));
      const ok = checked.problems.length === 0;
      const summary =
        checked.files.length === 0
          ? `no runbook files in ${checked.folder} (copy the examples with \`ocr runbook init\`)`
          : ok
            ? `${checked.files.length} runbook file(s) checked: no problems`
            : '';
      ctx.print([...lines, summary].filter(Boolean).join('\n'), { ok, files: checked.files, problems: checked.problems });
      if (!ok) throw problemsError(checked.problems);
    });

  runbook
    .command('run')
    .description('queue a run of a runbook in a lane of a session; prints the run id')
    .argument('<name>', 'the runbook (its name, as `ocr runbook list` shows it)')
    .requiredOption('--session <id>', 'the session (id or its first characters)')
    .option('--lane <lane>', "one of the session's lanes (default: the runbook's own lane)")
    .option('--input <key=value>', 'an input value, read as its type (repeatable); for a secret input key=@FILE reads the value from FILE', collect, [])
    .option('--input-stdin <key>', 'read this input from stdin (a secret, kept out of the command line)')
    .option('--repo <dir>', "where the runbook is (default: the session's repository, else the current folder's)")
    .option('--priority <n>', 'lower runs first', priorityOption)
    .option('--yes', 'queue it even though it acts on prod')
    .action(async (name: string, o: RunFlags) => runRunbook(ctx, name, o));

  runbook
    .command('init')
    .description('copy the example runbooks and their scripts into the repository\'s .ocr/runbooks')
    .option('--repo <dir>', 'the repository (default: the one of the current folder)')
    .option('--force', 'replace files that are there already and differ from the examples')
    .action(async (o: { repo?: string; force?: boolean }) => {
      const repo = await repositoryFolder(o.repo);
      const result = await copyExamples(repo, { force: Boolean(o.force) });
      const folder = shownPath(path.join(repo, runbookFolder));
      const count = (files: string[], what: string) => `${files.length} ${what}`;
      const human = [
        result.copied.length + result.replaced.length === 0
          ? `${folder} already has the examples; nothing copied`
          : `copied ${count([...result.copied, ...result.replaced], 'file(s)')} into ${folder}${result.replaced.length ? ` (${result.replaced.length} replaced)` : ''}${result.unchanged.length ? `; ${result.unchanged.length} already the same` : ''}`,
        ...[...result.copied, ...result.replaced].map((f) => `  ${plain(f)}`),
        ...(result.copied.length + result.replaced.length > 0
          ? ["commit them: a run's steps see the repository as its lane's worktree has it (made from the session's base commit), scripts included"]
          : []),
      ].join('\n');
      ctx.print(human, { folder: path.join(repo, runbookFolder), ...result });
    });
}

// ---- the repository and its runbooks ---------------------------------------------------------------------------------

/** The repository a command is about: --repo (or the current folder), up to its git top level unless it has runbooks itself. */
export async function repositoryFolder(dir: string | undefined): Promise<string> {
  const start = path.resolve(dir ?? '.');
  if (!existsSync(start) || !statSync(start).isDirectory()) {
    throw new OcrError('invalid_input', `--repo ${JSON.stringify(dir)}: no such folder`, 'give the folder of a repository');
  }
  if (existsSync(path.join(start, runbookFolder))) return start;
  const top = await gitMaybe(start, ['rev-parse', '--show-toplevel']);
  return top ? path.resolve(top) : start;
}

/** A path as a person types it: relative to the current folder when it is inside it. */
function shownPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

async function validateFolder(repo: string): Promise<{ folder: string; files: string[]; problems: RunbookProblem[] }> {
  const folder = shownPath(path.join(repo, runbookFolder));
  const set = await readRunbooks(folder);
  let files: string[] = [];
  try {
    files = readdirSync(folder).filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(folder, n));
  } catch {
    // no folder: no runbooks
  }
  return { folder, files, problems: set.problems };
}

async function validateFiles(files: string[]): Promise<{ folder: string; files: string[]; problems: RunbookProblem[] }> {
  const problems: RunbookProblem[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      problems.push({ file, line: 1, column: 1, message: `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` });
      continue;
    }
    const result = parseRunbook(text, file);
    if ('problems' in result) problems.push(...result.problems);
  }
  return { folder: '.', files, problems };
}

function problemsText(problems: RunbookProblem[]): string {
  if (problems.length === 0) return '';
  return `\nproblems:\n${problems.map((p) => `  ${plain(describeProblem(p))}`).join('\n')}\n`;
}

function problemsError(problems: RunbookProblem[]): OcrError {
  const files = new Set(problems.map((p) => p.file)).size;
  return new OcrError('invalid_input', `${problems.length} problem(s) in ${files} runbook file(s)`, 'fix each at the file:line:column shown; a file with a problem cannot be run');
}

function envLabel(r: Runbook): string {
  if (r.env === undefined) return '-';
  const input = /^\{\{\s*inputs\.([a-z][a-z0-9_]*)\s*\}\}$/.exec(r.env);
  return input ? `(input ${input[1]})` : r.env;
}

function inputLabel(i: RunbookInput): string {
  const type = i.type === 'enum' ? (i.values ?? []).join('|') : i.type === 'string' ? '' : i.type;
  return `${i.key}${i.required ? '*' : ''}${type ? `:${plain(type, 40)}` : ''}${i.secret ? ' (secret)' : ''}`;
}

function runbookJson(f: RunbookFile) {
  const r = f.runbook;
  return {
    name: r.name,
    title: r.title,
    kind: r.kind,
    env: r.env ?? null,
    lane: r.lane ?? null,
    file: f.file,
    steps: r.steps.length,
    inputs: r.inputs.map((i) => ({
      key: i.key,
      type: i.type,
      required: i.required,
      secret: i.secret,
      ...(i.values ? { values: i.values } : {}),
      ...(i.default !== undefined ? { default: i.default } : {}),
      ...(i.label ? { label: i.label } : {}),
    })),
  };
}

// ---- run -------------------------------------------------------------------------------------------------------------

interface RunFlags {
  session: string;
  lane?: string;
  input: string[];
  inputStdin?: string;
  repo?: string;
  priority?: number;
  yes?: boolean;
}

async function runRunbook(ctx: CliContext, name: string, o: RunFlags): Promise<void> {
  const store = await ctx.openStore();
  const session = await store.getSession(await store.resolveId('session', o.session));
  const repo = o.repo !== undefined ? await repositoryFolder(o.repo) : session.repo_path && existsSync(session.repo_path) ? session.repo_path : await repositoryFolder(undefined);
  const file = await findRunbook(repo, name);
  const { runbook } = file;
  const given = await readGivenInputs(runbook, o.input, o.inputStdin);
  let values;
  try {
    values = resolveInputs(runbook, given);
  } catch (e) {
    if (!(e instanceof InputProblem)) throw e;
    const input = runbook.inputs.find((i) => i.key === e.key);
    throw new OcrError('invalid_input', e.message, input?.secret ? `give it with --input ${e.key}=@FILE or --input-stdin ${e.key}` : `give it with --input ${e.key}=…`);
  }
  // checked here, before anything is published, so that a refused run leaves nothing behind
  if (session.status === 'archived') {
    throw new OcrError('invalid_state', `session: ${session.id} (${plain(session.title, 60)}) is archived and takes no new runs`, 'create a new session');
  }
  const lane = o.lane ?? runbook.lane;
  if (!lane) throw new OcrError('invalid_input', `--lane: runbook ${runbook.name} names no lane of its own`, `give --lane, one of the session's lanes: ${session.lanes.join(', ')}`);
  if (!session.lanes.includes(lane)) {
    throw new OcrError('invalid_input', `--lane ${JSON.stringify(lane)}: not a lane of session ${shortId(session.id)}`, `use one of its lanes: ${session.lanes.join(', ')}`);
  }
  const env = runbookEnvOf(runbook, values);
  if (env === 'prod' && !o.yes) {
    throw new OcrError('invalid_input', `runbook ${runbook.name} acts on prod; nothing was queued`, 'give --yes to queue it on prod');
  }
  const run = await queueRunbookRun(store, file, { session_id: session.id, lane, inputs: values, priority: o.priority }, () =>
    SecretBox.fromFile(secretKeyFile(), { create: true }),
  );
  const version = Number(run.spec.version);
  const gate = runbook.steps.some((s) => s.approval) ? ' (it has an approval step: `ocr approve` when it waits)' : '';
  ctx.print(
    `queued run ${shortId(run.id)} of runbook ${runbook.name} v${version} in lane ${plain(run.lane)}${env ? ` on ${plain(env)}` : ''}${gate}\n${run.id}`,
    { id: run.id, runbook: runbook.name, version, lane: run.lane, env: env ?? null, session_id: run.session_id },
  );
}

/** The runbook `name` of a repository; a file with problems names its first one, by file:line:column. */
export async function findRunbook(repo: string, name: string): Promise<RunbookFile> {
  const folder = shownPath(path.join(repo, runbookFolder));
  const set = await readRunbooks(folder);
  const found = set.runbooks.find((r) => r.runbook.name === name);
  const problem = set.problems.find((p) => path.basename(p.file).replace(/\.ya?ml$/, '') === name || (found && p.file === found.file));
  if (problem) {
    throw new OcrError('invalid_input', describeProblem(problem), `fix runbook ${name}'s file; \`ocr runbook validate\` lists every problem`);
  }
  if (found) return found;
  const names = set.runbooks.map((r) => r.runbook.name);
  throw new OcrError(
    'not_found',
    `runbook ${JSON.stringify(name)}: no such runbook in ${folder}`,
    names.length > 0 ? `its runbooks: ${names.join(', ')}` : 'add one there, or copy the examples with `ocr runbook init`',
  );
}

/** The values of --input key=value and --input-stdin key, each read as its input's type. */
async function readGivenInputs(runbook: Runbook, texts: string[], stdinKey: string | undefined): Promise<Record<string, InputValue>> {
  const byKey = new Map(runbook.inputs.map((i) => [i.key, i]));
  const known = () => `runbook ${runbook.name}'s inputs: ${[...byKey.keys()].join(', ') || 'none'}`;
  const given: Record<string, InputValue> = {};
  const take = (key: string, flag: string, text: string) => {
    const input = byKey.get(key);
    if (!input) throw new OcrError('invalid_input', `${flag}: runbook ${runbook.name} has no input ${JSON.stringify(key)}`, known());
    if (Object.hasOwn(given, key)) throw new OcrError('invalid_input', `${flag}: input ${key} is given twice`, 'give each input once');
    const read = readInputValue(input, text);
    if ('problem' in read) throw new OcrError('invalid_input', `${flag}: ${read.problem}`, inputHint(input));
    given[key] = read.value;
  };
  for (const text of texts) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new OcrError('invalid_input', `--input ${JSON.stringify(plain(text, 80))}: not key=value`, 'give --input key=value, such as --input env=dev');
    const key = text.slice(0, eq);
    let value = text.slice(eq + 1);
    const input = byKey.get(key);
    // a secret's value is never repeated in a message
    let flag = `--input ${key}=${input?.secret ? '…' : JSON.stringify(plain(value, 80))}`;
    if (input?.secret && value.startsWith('@')) {
      flag = `--input ${key}=${value}`;
      value = readValueFile(value.slice(1), flag);
    }
    take(key, flag, value);
  }
  if (stdinKey !== undefined) {
    const flag = `--input-stdin ${stdinKey}`;
    if (!byKey.has(stdinKey)) throw new OcrError('invalid_input', `${flag}: runbook ${runbook.name} has no input ${JSON.stringify(stdinKey)}`, known());
    if (process.stdin.isTTY) throw new OcrError('invalid_input', `${flag}: stdin is a terminal`, `pipe the value in: … | ocr runbook run ${runbook.name} ${flag}`);
    take(stdinKey, flag, withoutFinalNewline(await readStdin()));
  }
  return given;
}

function inputHint(input: RunbookInput): string {
  switch (input.type) {
    case 'number':
      return `give a number: --input ${input.key}=3`;
    case 'boolean':
      return `give true or false: --input ${input.key}=true`;
    case 'enum':
      return `give one of its values: --input ${input.key}=${input.values?.[0] ?? ''}`;
    default:
      return `give --input ${input.key}=…`;
  }
}

function readValueFile(file: string, flag: string): string {
  try {
    return withoutFinalNewline(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new OcrError('invalid_input', `${flag}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'give the path of a file that holds the value');
  }
}

const withoutFinalNewline = (text: string): string => text.replace(/\r?\n$/, '');

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// ---- init ------------------------------------------------------------------------------------------------------------

/**
 * The examples shipped with ocr: `examples/runbooks` next to the bundle's folder (dist/ocr.js and dist/extension.js
 * → ../examples), or next to the sources when run from them.
 */
export function examplesFolder(): string {
  const candidates = [path.resolve(__dirname, '..', 'examples', 'runbooks'), path.resolve(__dirname, '..', '..', 'examples', 'runbooks')];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new OcrError('invalid_state', `the example runbooks are not installed with this ocr (looked in ${candidates[0]})`, 'reinstall ocr, or copy examples/runbooks from its repository');
  return found;
}

/** The examples' files, relative to examples/runbooks: the runbooks (*.yaml) and everything under scripts/. */
function exampleFiles(root: string): string[] {
  const files = readdirSync(root).filter((n) => /\.ya?ml$/.test(n)).sort();
  const walk = (rel: string): string[] =>
    readdirSync(path.join(root, rel), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((e) => (e.isDirectory() ? walk(path.join(rel, e.name)) : e.isFile() ? [path.join(rel, e.name)] : []));
  if (existsSync(path.join(root, 'scripts'))) files.push(...walk('scripts'));
  return files;
}

/**
 * Copies the example runbooks and their scripts into `<repo>/.ocr/runbooks` (scripts into its scripts/ folder, where
 * the runbooks name them). A file there already that differs is kept, and nothing is copied, unless `force`.
 */
export async function copyExamples(repo: string, options: { force: boolean; from?: string }): Promise<{ copied: string[]; replaced: string[]; unchanged: string[] }> {
  const root = options.from ?? examplesFolder();
  const target = path.join(repo, runbookFolder);
  const plan = exampleFiles(root).map((rel) => {
    const from = path.join(root, rel);
    const to = path.join(target, rel);
    const state = !existsSync(to) ? 'new' : readFileSync(to).equals(readFileSync(from)) ? 'same' : 'differs';
    return { rel: path.join(runbookFolder, rel), from, to, state };
  });
  const differing = plan.filter((p) => p.state === 'differs');
  if (differing.length > 0 && !options.force) {
    const names = differing.map((p) => p.rel);
    throw new OcrError(
      'invalid_state',
      `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''} already exist${names.length === 1 ? 's' : ''} and differ${names.length === 1 ? 's' : ''} from the examples; nothing was copied`,
      `give --force to replace ${names.length === 1 ? 'it' : 'them'}, or move ${names.length === 1 ? 'it' : 'them'} aside`,
    );
  }
  for (const p of plan.filter((p) => p.state !== 'same')) {
    await mkdir(path.dirname(p.to), { recursive: true });
    await copyFile(p.from, p.to);
  }
  return {
    copied: plan.filter((p) => p.state === 'new').map((p) => p.rel),
    replaced: plan.filter((p) => p.state === 'differs').map((p) => p.rel),
    unchanged: plan.filter((p) => p.state === 'same').map((p) => p.rel),
  };
}
