// A run's changes in VS Code's own diff editors: "Open Lane Diff" shows every file of the run's diff artifact in the
// multi-file diff editor, "Apply Lane Changes" applies the artifact to the user's working tree after asking. Both run
// git in the user's repository, so both need a trusted workspace; what they show are the files the patch itself
// changes, not the summary the worker stored beside it.
import path from 'node:path';
import * as vscode from 'vscode';
import { OcrError } from '../../worker/store/errors';
import type { Store } from '../../worker/store/store';
import { describeDiff, type DiffSummary, isFinal, type Run, type Session, shortId } from '../../domain';
import { applyLanePatch, laneFiles, loadLanePatch, planApply, type LaneFile, type LanePatch, type PatchConflict } from './patch';
import type { PatchFile } from './patch-files';

export const diffScheme = 'ocr-diff';

/**
 * Why the command runs nothing here, in words for the person, or undefined in a trusted workspace: in an untrusted
 * one OCR runs no git in the user's repository, whose config could make git run a program.
 */
export function untrustedReason(action: 'Open Lane Diff' | 'Apply Lane Changes'): string | undefined {
  if (vscode.workspace.isTrusted) return undefined;
  return `${action} runs git in your repository, which Ops Control Room does not do in an untrusted workspace. Trust this workspace (Manage Workspace Trust) to use it.`;
}

/** "Lane A — run 1a2b3c4d": the diff editor's title. */
export const laneDiffTitle = (run: Pick<Run, 'id' | 'lane'>): string => `Lane ${run.lane} — run ${shortId(run.id)}`;

type Side = 'before' | 'after';

/** `ocr-diff:/src/app.ts?run=<id>&side=after`: the path makes the label and the language, the query the content. */
export function diffUri(runId: string, file: string, side: Side): vscode.Uri {
  return vscode.Uri.from({ scheme: diffScheme, path: `/${file}`, query: new URLSearchParams({ run: runId, side }).toString() });
}

function parseDiffUri(uri: vscode.Uri): { runId: string; file: string; side: Side } | undefined {
  const query = new URLSearchParams(uri.query);
  const runId = query.get('run');
  const side = query.get('side');
  if (!runId || (side !== 'before' && side !== 'after')) return undefined;
  return { runId, file: uri.path.replace(/^\//, ''), side };
}

/**
 * The files of recently opened runs, by run id. A few runs are kept so that switching between diff tabs does not
 * rebuild them; older ones are rebuilt from the store on demand (when the provider was given one).
 */
class RunFiles {
  private readonly runs = new Map<string, Promise<Map<string, LaneFile>>>();
  constructor(private readonly keep = 8) {}

  get(runId: string): Promise<Map<string, LaneFile>> | undefined {
    const found = this.runs.get(runId);
    if (found) {
      this.runs.delete(runId);
      this.runs.set(runId, found);
    }
    return found;
  }

  set(runId: string, files: Promise<Map<string, LaneFile>>): void {
    this.runs.delete(runId);
    this.runs.set(runId, files);
    // A failed rebuild is not kept: the next request tries again.
    files.catch(() => this.runs.get(runId) === files && this.runs.delete(runId));
    while (this.runs.size > this.keep) this.runs.delete(this.runs.keys().next().value!);
  }
}

const runFiles = new RunFiles();

/** Serves both sides of every file of a run's diff, read-only. */
export class LaneDiffContent implements vscode.TextDocumentContentProvider {
  /** `store` lets it rebuild a diff that is no longer cached (an editor restored after a reload). */
  constructor(private readonly store?: () => Promise<Store>) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string | undefined> {
    const parsed = parseDiffUri(uri);
    // A diff editor restored in an untrusted workspace stays empty: rebuilding it would run git.
    if (!parsed || untrustedReason('Open Lane Diff')) return undefined;
    let files = runFiles.get(parsed.runId);
    if (!files && this.store) {
      files = this.store().then((store) => filesOfRun(store, parsed.runId));
      runFiles.set(parsed.runId, files);
    }
    // Undefined lets another provider of the scheme answer, or VS Code say the content is gone.
    const file = (await files?.catch(() => undefined))?.get(parsed.file);
    if (!file) return undefined;
    return parsed.side === 'before' ? file.before : file.after;
  }
}

let registered: vscode.Disposable | undefined;

/**
 * Registers the `ocr-diff:` content provider; the extension calls it on activation with its store so that diff
 * editors restored after a reload show their content. openLaneDiff registers one itself when nobody did.
 */
export function registerDiffContent(context: { subscriptions: vscode.Disposable[] }, store?: () => Promise<Store>): vscode.Disposable {
  registered?.dispose();
  const registration = vscode.workspace.registerTextDocumentContentProvider(diffScheme, new LaneDiffContent(store));
  registered = registration;
  const disposable = new vscode.Disposable(() => {
    registration.dispose();
    if (registered === registration) registered = undefined;
  });
  context.subscriptions.push(disposable);
  return disposable;
}

function ensureDiffContent(): void {
  registered ??= vscode.workspace.registerTextDocumentContentProvider(diffScheme, new LaneDiffContent());
}

/** A run's files from the store alone: the provider's way back to a diff that is no longer cached. */
async function filesOfRun(store: Store, runId: string): Promise<Map<string, LaneFile>> {
  const run = await store.getRun(runId);
  const lane = await loadLanePatch(store, run);
  if (!lane) throw new OcrError('diff_unavailable', `run ${shortId(run.id)} has no diff`);
  return filesOf(await store.getSession(run.session_id), lane);
}

async function filesOf(session: Session, lane: LanePatch): Promise<Map<string, LaneFile>> {
  const files = await laneFiles(repoOf(session), lane.summary.base || session.base_ref || '', lane);
  return new Map(files.map((f) => [f.path, f]));
}

function repoOf(session: Session): string {
  if (!session.repo_path) {
    throw new OcrError('diff_unavailable', `session "${session.title}" has no repository on record`, 'its runs worked in scratch folders, which have no diff');
  }
  return session.repo_path;
}

/** Why a run has nothing to show, in words for the person who asked; undefined when it has a diff. */
function nothingToShow(run: Run, lane: LanePatch | undefined): string | undefined {
  const who = `Run ${shortId(run.id)} in lane ${run.lane}`;
  if (!lane) {
    if (!isFinal(run.status)) return `${who} has not finished yet; its diff is recorded when it ends.`;
    return `${who} has no diff: its worker recorded none (the session has no repository, or the run ended before the diff was taken).`;
  }
  if (lane.summary.omitted) return `${who} changed more than the worker stores (${describeDiff(lane.summary)}); only that summary was kept. Its branch has the changes.`;
  if (lane.files.length === 0) return `${who} changed no files.`;
  return undefined;
}

export interface OpenLaneDiffResult {
  /** which editor showed it: the multi-file diff editor, one diff editor per file, or none (nothing to show) */
  shown: 'changes' | 'diff' | 'none';
  title: string;
  files: Array<Pick<LaneFile, 'path' | 'status' | 'binary' | 'insertions' | 'deletions'>>;
  /** why nothing was shown */
  message?: string;
}

/**
 * The run's files rebuilt from its diff artifact, ready for the diff editor; or, said to the person as well, why there
 * is nothing to show (an untrusted workspace, a run without a diff).
 */
async function runFilesOrWhy(store: Store, run: Run, session: Session, title: string): Promise<Map<string, LaneFile> | OpenLaneDiffResult> {
  const untrusted = untrustedReason('Open Lane Diff');
  if (untrusted) {
    void vscode.window.showWarningMessage(untrusted);
    return { shown: 'none', title, files: [], message: untrusted };
  }
  const lane = await loadLanePatch(store, run);
  const message = nothingToShow(run, lane);
  if (message || !lane) {
    void vscode.window.showInformationMessage(message ?? '');
    return { shown: 'none', title, files: [], message };
  }
  ensureDiffContent();
  const files = filesOf(session, lane);
  runFiles.set(run.id, files);
  return files;
}

/**
 * Opens the run's changes in VS Code's multi-file diff editor (`vscode.changes`): for each file, the session's base on
 * the left and the file after the run on the right, both rebuilt from the run's diff artifact.
 */
export async function openLaneDiff(store: Store, run: Run, session: Session): Promise<OpenLaneDiffResult> {
  const title = laneDiffTitle(run);
  const files = await runFilesOrWhy(store, run, session, title);
  if (!(files instanceof Map)) return files;
  const list = [...files.values()];
  const summary = list.map(({ path: p, status, binary, insertions, deletions }) => ({ path: p, status, binary, insertions, deletions }));
  const resources = list.map((f): [vscode.Uri, vscode.Uri, vscode.Uri] => {
    const before = diffUri(run.id, f.path, 'before');
    const after = diffUri(run.id, f.path, 'after');
    return [f.status === 'deleted' ? before : after, before, after];
  });
  try {
    await vscode.commands.executeCommand('vscode.changes', title, resources);
    return { shown: 'changes', title, files: summary };
  } catch {
    // An editor without the multi-file diff editor: one diff editor per file, the last one focused.
    for (const [i, [, before, after]] of resources.entries()) {
      const file = list[i]!;
      await vscode.commands.executeCommand('vscode.diff', before, after, `${file.path} (${title})`, { preview: false, preserveFocus: i < resources.length - 1 });
    }
    return { shown: 'diff', title, files: summary };
  }
}

/**
 * Opens one file of the run's changes in VS Code's diff editor: the file an agent's edit names (relative to the lane's
 * worktree). A file the run edited and then put back as it was is not in the diff: the person is told so, and gets the
 * whole diff of the run rather than nothing.
 */
export async function openLaneFileDiff(store: Store, run: Run, session: Session, file: string): Promise<OpenLaneDiffResult> {
  const title = laneDiffTitle(run);
  const files = await runFilesOrWhy(store, run, session, title);
  if (!(files instanceof Map)) return files;
  const wanted = path.posix.normalize(file.replace(/\\/g, '/')).replace(/^\.\//, '');
  const found = files.get(wanted);
  if (!found) {
    void vscode.window.showInformationMessage(`Run ${shortId(run.id)} in lane ${run.lane} left ${wanted} as it was: its diff does not change it. Showing the whole diff.`);
    return openLaneDiff(store, run, session);
  }
  const before = diffUri(run.id, found.path, 'before');
  const after = diffUri(run.id, found.path, 'after');
  await vscode.commands.executeCommand('vscode.diff', before, after, `${found.path} (${title})`, { preview: false });
  const { path: p, status, binary, insertions, deletions } = found;
  return { shown: 'diff', title, files: [{ path: p, status, binary, insertions, deletions }] };
}

export type ApplyLaneResult =
  | { outcome: 'applied'; folder: string; files: string[] }
  | { outcome: 'conflict'; folder: string; conflicts: PatchConflict[] }
  /** the person said no */
  | { outcome: 'declined'; folder: string }
  | { outcome: 'nothing'; message: string };

export interface ApplyLaneOptions {
  /** ask first with a modal dialog (default true); scripts and tests pass false */
  confirm?: boolean;
}

export interface ApplyConfirmation {
  message: string;
  /** the files, one a line, then what happens when one does not apply */
  detail: string;
  /** the worker's summary names other files than the patch does */
  disagrees: boolean;
}

/** How many files the dialog lists before "… and n more"; files whose place makes them run or configure something are always listed. */
const listedFiles = 20;

/**
 * What Apply asks before it changes the working tree: the files the patch itself changes (`files`, from planApply),
 * each with what happens to it, whatever the worker's `summary` says.
 */
export function applyConfirmation(input: { run: Pick<Run, 'id' | 'lane'>; session: Pick<Session, 'title'>; folder: string; summary: DiffSummary; files: PatchFile[] }): ApplyConfirmation {
  const { files, summary } = input;
  const lines = files.map((f, i) => ({ line: `  ${fileLine(f)}`, always: i < listedFiles || noteworthy(f) }));
  const listed = lines.filter((l) => l.always).map((l) => l.line);
  if (listed.length < files.length) listed.push(`  … and ${files.length - listed.length} more`);
  const patchPaths = new Set(files.flatMap((f) => [f.path, ...(f.from !== undefined ? [f.from] : [])]));
  const summaryPaths = new Set(summary.entries.map((e) => e.path));
  const disagrees = patchPaths.size !== summaryPaths.size || [...summaryPaths].some((p) => !patchPaths.has(p));
  const count = `${files.length} file${files.length === 1 ? '' : 's'}`;
  const detail = [
    `The patch of session "${input.session.title}" changes ${count}:`,
    ...listed,
    ...(disagrees
      ? ['', `The worker's summary of this run lists other files (${[...summaryPaths].slice(0, 5).join(', ') || 'none'}${summaryPaths.size > 5 ? ', …' : ''}); the files above are what the patch changes.`]
      : []),
    '',
    'Your working tree changes only if every file applies cleanly; otherwise nothing is changed.',
  ].join('\n');
  return { message: `Apply lane ${input.run.lane}'s changes (run ${shortId(input.run.id)}) to ${input.folder}?`, detail, disagrees };
}

/**
 * The question Apply asks for this run's patch and this working tree, after what it refuses outright (planApply):
 * everything the dialog shows, so that the dialog itself is one call.
 */
export async function applyQuestion(lane: LanePatch, run: Pick<Run, 'id' | 'lane'>, session: Pick<Session, 'title'>, folder: string): Promise<ApplyConfirmation> {
  const plan = await planApply(folder, lane);
  return applyConfirmation({ run, session, folder: path.resolve(folder), summary: lane.summary, files: plan.files });
}

function fileLine(f: PatchFile): string {
  const mark = { added: '+', deleted: '−', modified: '~', renamed: '→', copied: '+' }[f.status];
  const name = f.from !== undefined ? `${f.from} → ${f.path}` : f.path;
  const notes: string[] = [];
  if (f.status === 'copied') notes.push('copied');
  if (f.binary) notes.push('binary');
  if ((f.newMode ?? f.oldMode)?.startsWith('120')) notes.push('symbolic link');
  if (f.oldMode && f.newMode && f.oldMode !== f.newMode) notes.push(`mode ${f.oldMode} → ${f.newMode}`);
  else if (f.status === 'added' && f.newMode === '100755') notes.push('executable');
  return `${mark} ${name}${notes.length ? ` (${notes.join(', ')})` : ''}`;
}

/** A dot-folder or dotfile (.vscode, .github, .envrc…), a link, or a file made executable: listed however many files there are. */
function noteworthy(f: PatchFile): boolean {
  const dotted = (p: string) => p.split('/').some((segment) => segment.startsWith('.'));
  return dotted(f.path) || (f.from !== undefined && dotted(f.from)) || Boolean(f.newMode && (f.newMode.startsWith('120') || f.newMode === '100755'));
}

/**
 * Applies the run's diff to the working tree at `targetFolder` after the person confirms. Either every file applies
 * or nothing changes: conflicts are named file by file, and the tree is left as it was. A patch that would write into
 * a .git folder, to an absolute path or outside the tree is refused before anything is asked.
 */
export async function applyLaneChanges(store: Store, run: Run, session: Session, targetFolder: string, options: ApplyLaneOptions = {}): Promise<ApplyLaneResult> {
  const untrusted = untrustedReason('Apply Lane Changes');
  if (untrusted) {
    void vscode.window.showWarningMessage(untrusted);
    return { outcome: 'nothing', message: untrusted };
  }
  const lane = await loadLanePatch(store, run);
  const message = nothingToShow(run, lane);
  if (message || !lane) {
    void vscode.window.showInformationMessage(message ?? '');
    return { outcome: 'nothing', message: message ?? '' };
  }
  const where = path.resolve(targetFolder);
  const name = `lane ${run.lane}'s changes (run ${shortId(run.id)})`;
  if (options.confirm ?? true) {
    const question = await applyQuestion(lane, run, session, where);
    const answer = await vscode.window.showWarningMessage(question.message, { modal: true, detail: question.detail }, 'Apply');
    if (answer !== 'Apply') return { outcome: 'declined', folder: where };
  }
  const outcome = await applyLanePatch(where, lane);
  if (outcome.applied) {
    void vscode.window.showInformationMessage(`Applied ${name} to ${path.basename(outcome.folder)}: ${outcome.files.length} file${outcome.files.length === 1 ? '' : 's'} changed.`);
    return { outcome: 'applied', folder: outcome.folder, files: outcome.files };
  }
  const shown = outcome.conflicts.slice(0, 5).map((c) => (c.path ? `${c.path} (${c.reason})` : c.reason));
  if (outcome.conflicts.length > shown.length) shown.push(`and ${outcome.conflicts.length - shown.length} more`);
  const plural = outcome.conflicts.length === 1 ? 'file conflicts' : 'files conflict';
  void vscode.window
    .showErrorMessage(`Could not apply ${name}: ${outcome.conflicts.length} ${plural} with ${path.basename(outcome.folder)}, so nothing was changed. ${shown.join('; ')}.`, 'Open Lane Diff')
    .then((choice) => (choice ? openLaneDiff(store, run, session) : undefined))
    .then(undefined, () => undefined);
  return { outcome: 'conflict', folder: outcome.folder, conflicts: outcome.conflicts };
}
