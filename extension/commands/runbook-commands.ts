// OCR: Run Runbook…, OCR: Add Example Runbooks. queueRunbook is the one function that queues a runbook run from the
// editor: the palette, the Runbooks view, scripts and the Runboard call it alike. The command asks only for what its
// caller did not give: the runbook, the session when none is active, the inputs, the lane, and a confirmation when the
// run acts on prod. The Runboard passes { session_id, lane } and is asked only for the runbook and its inputs. A
// scripted call ({ file, session_id?, lane?, inputs? }) asks nothing: what it does not give is the runbook's own (its
// lane, its defaults) or refused in one error naming the field.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import { type InputValues, laneName, resolveInputs, type Run, type Runbook, runbookEnvOf, type Session, shortId } from '../../domain';
import { describeProblem, parseRunbook, type RunbookFile } from '../../worker/runbooks/files';
import { SecretBox, secretKeyFile } from '../../worker/runbooks/secrets';
import { queueRunbookRun } from '../../worker/runs/queue-runbook-run';
import { OcrError } from '../../worker/store/errors';
import { copyExampleRunbooks, exampleRunbookNames } from '../runbooks/examples';
import { askInputValues, confirmProdRun, pickRunbookLane } from '../runbooks/input-prompts';
import type { RunbookIndex } from '../runbooks/runbook-index';
import { describeRunbook, RunbookNode } from '../runbooks/runbooks-tree';
import type { CommandContext } from './context';
import { pickSession } from './pick';
import { register } from './register';

export interface RunbookRequest {
  /** the runbook file: an absolute path, or one relative to the first workspace folder */
  file: string;
  session_id: string;
  /** the lane; the runbook's own when absent */
  lane?: string;
  /** values by input key: typed, or text read as the input's type; the defaults for the others */
  inputs?: Record<string, unknown>;
}

/** What a script or a tool passes to `ocr.runRunbook`; the session is the active one when it names none. */
export const ScriptedRunbookRun = z.strictObject({
  file: z.string().min(1, 'the runbook file, such as .ocr/runbooks/deploy.yaml'),
  session_id: z.string().uuid('a session id').optional(),
  lane: laneName.optional(),
  inputs: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/** What the Runboard passes for a lane's "Run Runbook…": the session and lane are given, the rest is asked. */
export const RunbookInLane = z.strictObject({
  session_id: z.string().uuid('a session id').optional(),
  lane: laneName.optional(),
});

/** The runbook in `file` as it is saved, or an error naming its first problem by file:line:column. */
export async function readRunbookFile(file: string): Promise<RunbookFile> {
  const absolute = resolveRunbookPath(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (e) {
    throw new OcrError('invalid_input', `file: cannot read ${absolute} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'name a runbook file, such as .ocr/runbooks/deploy.yaml');
  }
  const parsed = parseRunbook(text, absolute);
  if ('problems' in parsed) {
    const more = parsed.problems.length > 1 ? ` (and ${parsed.problems.length - 1} more)` : '';
    throw new OcrError('invalid_input', `${describeProblem(parsed.problems[0]!)}${more}`, 'fix the runbook file: its problems are in the Problems panel');
  }
  return parsed;
}

function resolveRunbookPath(file: string): string {
  if (path.isAbsolute(file)) return file;
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  if (!folder) throw new OcrError('invalid_input', `file: ${file} is relative and no folder is open`, 'give an absolute path');
  return path.join(folder.uri.fsPath, file);
}

let secretBox: { file: string; box: SecretBox } | undefined;

/** The key secret inputs are sealed with: the file the CLI and the workers read too, made on first use. */
function secrets(): SecretBox {
  const file = secretKeyFile();
  if (secretBox?.file !== file) secretBox = { file, box: SecretBox.fromFile(file, { create: true }) };
  return secretBox.box;
}

/** Queues a run of the runbook in `file` (as it is saved) in a session's lane; asks nothing. */
export async function queueRunbook(ctx: CommandContext, request: RunbookRequest): Promise<Run> {
  const file = await readRunbookFile(request.file);
  let run: Run;
  try {
    run = await queueRunbookRun(await ctx.store(), file, { session_id: request.session_id, lane: request.lane, inputs: request.inputs }, secrets);
  } catch (e) {
    // the engine's hints name the CLI's options; here the caller passes fields
    if (e instanceof OcrError && e.code === 'invalid_input' && e.message.startsWith('inputs.')) throw new OcrError(e.code, e.message, 'give it in inputs, or the input a default in the runbook');
    if (e instanceof OcrError && e.code === 'invalid_input' && e.message.startsWith('lane:')) throw new OcrError(e.code, e.message, 'choose a lane, or give the runbook one (lane: A)');
    throw e;
  }
  ctx.log.info(`runbook ${file.runbook.name} (${file.file}) queued as run ${run.id} in lane ${run.lane}${run.spec.env ? `, env ${String(run.spec.env)}` : ''}`);
  return run;
}

export function registerRunbookCommands(ctx: CommandContext, index: RunbookIndex): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.runRunbook', async (arg?: unknown) => {
      if (arg instanceof RunbookNode) return runInteractively(ctx, index, arg.file);
      if (arg instanceof vscode.Uri) return runInteractively(ctx, index, arg.fsPath);
      if (typeof arg === 'object' && arg !== null && !('file' in arg)) return runInteractively(ctx, index, undefined, parsed(RunbookInLane, arg));
      if (arg !== undefined) return (await queueScripted(ctx, parsed(ScriptedRunbookRun, arg))).id;
      return runInteractively(ctx, index);
    }),
    register(ctx, 'ocr.addExampleRunbooks', async (arg?: unknown) => {
      const scripted = z.strictObject({ folder: z.string().min(1) }).safeParse(arg);
      if (arg !== undefined && !scripted.success) throw new OcrError('invalid_input', 'ocr.addExampleRunbooks: folder: expected the folder to add them to', 'pass { folder: "/path/to/repository" }');
      const folder = scripted.success ? scripted.data.folder : await pickFolder();
      if (!folder) return undefined;
      const extensionPath = ctx.extension.extensionUri.fsPath;
      if ((await exampleRunbookNames(extensionPath)).length === 0) {
        throw new OcrError('invalid_state', 'this installation of Ops Control Room has no example runbooks (examples/runbooks is missing)', 'reinstall the extension');
      }
      const copied = await copyExampleRunbooks(extensionPath, folder);
      await index.refresh();
      const runbooks = (files: string[]) => files.filter((f) => /\.ya?ml$/.test(f));
      const names = (files: string[]) => files.map((f) => path.basename(f)).join(', ');
      ctx.log.info(`example runbooks added to ${folder}: ${names(copied.added) || 'none'}${copied.kept.length ? `; kept ${names(copied.kept)}` : ''}`);
      if (!scripted.success) {
        const added = runbooks(copied.added);
        const kept = runbooks(copied.kept).length ? ` ${names(runbooks(copied.kept))} ${runbooks(copied.kept).length === 1 ? 'was' : 'were'} there already and kept.` : '';
        const text = added.length
          ? `Added ${added.length} example runbook${added.length === 1 ? '' : 's'} to .ocr/runbooks: ${names(added)}.${kept} Commit them with their scripts: a run works in a lane's worktree, made from the repository's commits.`
          : `The example runbooks are there already.${kept}`;
        void vscode.window.showInformationMessage(text);
        if (added[0]) await vscode.window.showTextDocument(vscode.Uri.file(added[0]), { preview: true });
      }
      return copied;
    }),
  ];
}

/** The argument checked with `schema`, or one error naming the field and what to pass. */
function parsed<T extends z.ZodType>(schema: T, arg: unknown): z.output<T> {
  const result = schema.safeParse(arg);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.map(String).join('.') || 'the argument';
  throw new OcrError('invalid_input', `ocr.runRunbook: ${field}: ${issue.code === 'unrecognized_keys' ? 'not an option' : issue.message}`, 'pass { file, session_id?, lane?, inputs? }, or { session_id?, lane? } to be asked for the runbook');
}

async function queueScripted(ctx: CommandContext, request: z.output<typeof ScriptedRunbookRun>): Promise<Run> {
  const sessionId = request.session_id ?? ctx.activeSessionId;
  if (!sessionId) throw new OcrError('invalid_input', 'session_id: no session is active', 'pass session_id, or make a session active');
  return queueRunbook(ctx, { ...request, session_id: sessionId });
}

async function runInteractively(ctx: CommandContext, index: RunbookIndex, file?: string, given: z.output<typeof RunbookInLane> = {}): Promise<string | undefined> {
  const chosen = file ?? (await pickRunbookFile(index));
  if (!chosen || !(await savedOrAsk(chosen))) return undefined;
  const { runbook } = await readRunbookFile(chosen);
  const session = given.session_id ? await sessionOf(ctx, given.session_id) : await activeOrPickSession(ctx);
  if (!session) return undefined;
  const values = await askInputValues(runbook);
  if (!values) return undefined;
  const lane = given.lane ?? (await pickRunbookLane(ctx.model, session, runbook));
  if (!lane) return undefined;
  if (envOf(runbook, values) === 'prod' && !(await confirmProdRun(runbook, session, lane, values))) return undefined;
  const run = await queueRunbook(ctx, { file: chosen, session_id: session.id, lane, inputs: values });
  await ctx.setActiveSession(session.id);
  vscode.window.setStatusBarMessage(`$(play) ${runbook.title}: run ${shortId(run.id)} queued in lane ${lane}`, 5_000);
  return run.id;
}

/** The environment the run will act on, with the defaults of what was left out. */
function envOf(runbook: Runbook, values: InputValues): string | undefined {
  try {
    return runbookEnvOf(runbook, resolveInputs(runbook, values));
  } catch {
    return runbookEnvOf(runbook, values); // queueing refuses the values, saying why
  }
}

async function pickRunbookFile(index: RunbookIndex): Promise<string | undefined> {
  await index.ready();
  const runbooks = index.runbooks;
  if (runbooks.length === 0) {
    const broken = new Set(index.problems.map((p) => p.file)).size;
    if (broken > 0) {
      const show = 'Show Problems';
      const answer = await vscode.window.showWarningMessage(`No runbook of this workspace can run: ${broken} runbook file${broken === 1 ? ' has' : 's have'} problems.`, show);
      if (answer === show) await vscode.commands.executeCommand('workbench.actions.view.problems');
      return undefined;
    }
    const add = 'Add Example Runbooks';
    const answer = await vscode.window.showInformationMessage('There is no runbook in this workspace: runbooks are .ocr/runbooks/*.yaml files.', add);
    if (answer === add) await vscode.commands.executeCommand('ocr.addExampleRunbooks');
    return undefined;
  }
  const several = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
  const items = runbooks.map((r) => ({
    label: r.runbook.title,
    description: [describeRunbook(r.runbook), several ? r.folder.name : ''].filter(Boolean).join(' · '),
    detail: r.runbook.description.split('\n')[0] || path.relative(r.folder.uri.fsPath, r.file),
    file: r.file,
  }));
  return (await vscode.window.showQuickPick(items, { title: 'Run Runbook', placeHolder: 'Which runbook?', matchOnDescription: true, matchOnDetail: true }))?.file;
}

/** A run takes the file as saved: unsaved edits are saved first, or left out, as the person says. */
async function savedOrAsk(file: string): Promise<boolean> {
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'file' && d.uri.fsPath === file && d.isDirty);
  if (!doc) return true;
  const save = 'Save and Run';
  const saved = 'Run Saved Version';
  const answer = await vscode.window.showWarningMessage(`${path.basename(file)} has unsaved changes.`, { modal: true, detail: 'A run takes the runbook as it is saved.' }, save, saved);
  if (answer === save) return doc.save();
  return answer === saved;
}

async function sessionOf(ctx: CommandContext, id: string): Promise<Session> {
  await ctx.model.ensureStarted();
  return ctx.model.session(id) ?? (await (await ctx.store()).getSession(id));
}

async function activeOrPickSession(ctx: CommandContext): Promise<Session | undefined> {
  await ctx.model.ensureStarted();
  const active = ctx.activeSessionId ? ctx.model.session(ctx.activeSessionId) : undefined;
  return active ?? (await pickSession(ctx, 'Run the runbook in which session?'));
}

async function pickFolder(): Promise<string | undefined> {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  if (folders.length === 0) {
    void vscode.window.showInformationMessage('Open a folder first: its runbooks live in its .ocr/runbooks.');
    return undefined;
  }
  if (folders.length === 1) return folders[0]!.uri.fsPath;
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Add the example runbooks to which folder?' }))?.uri.fsPath;
}
