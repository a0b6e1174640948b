// The runbooks of the workspace: each folder's .ocr/runbooks/*.yaml read with readRunbooks, and read again when such a
// file is created, changed or deleted (a FileSystemWatcher, the editor's own saves and file operations, and a look at
// the folders' listings now and then for what a watcher missed) or the folders change. The Runbooks view, the diagnostics
// and "Run Runbook…" read it; what a run publishes is always the file on disk.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { type RunbookFile, type RunbookProblem, readRunbooks, runbookFolder } from '../../worker/runbooks/files';
import type { Log } from '../log';

export const runbookFilesGlob = '**/.ocr/runbooks/*.{yaml,yml}';

export interface FolderRunbooks {
  folder: vscode.WorkspaceFolder;
  runbooks: RunbookFile[];
  problems: RunbookProblem[];
}

export interface IndexedRunbook extends RunbookFile {
  folder: vscode.WorkspaceFolder;
}

/** Whether `file` is a runbook file of one of the workspace's folders (a direct child of its .ocr/runbooks). */
export function runbookFolderOf(file: string): vscode.WorkspaceFolder | undefined {
  if (!/\.ya?ml$/.test(file)) return undefined;
  return fileFolders().find((f) => path.dirname(file) === path.join(f.uri.fsPath, runbookFolder));
}

const fileFolders = (): vscode.WorkspaceFolder[] => (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');

/** Whether `p` is a workspace folder's .ocr or .ocr/runbooks folder (created, deleted or renamed as a whole). */
function isRunbookFolder(p: string): boolean {
  return fileFolders().some((f) => p === path.join(f.uri.fsPath, runbookFolder) || p === path.join(f.uri.fsPath, path.dirname(runbookFolder)));
}

/** The runbook files of the folders, with their sizes and modification times, as one string to compare. */
async function listingOf(folders: readonly vscode.WorkspaceFolder[]): Promise<string> {
  const parts: string[] = [];
  for (const folder of folders) {
    const dir = path.join(folder.uri.fsPath, runbookFolder);
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => /\.ya?ml$/.test(n)).sort();
    for (const name of names) {
      const info = await stat(path.join(dir, name)).catch(() => undefined);
      parts.push(`${path.join(dir, name)}:${info?.size ?? '-'}:${info?.mtimeMs ?? '-'}`);
    }
  }
  return parts.join('\n');
}

export class RunbookIndex implements vscode.Disposable {
  private folders: FolderRunbooks[] = [];
  private reading: Promise<void> | undefined;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Fires once the runbooks were read again. */
  readonly onDidChange = this.changed.event;
  private first: Promise<void> | undefined;
  /** what the runbook folders held when they were last read: names, sizes, modification times */
  private listing = '';
  private readonly poll: ReturnType<typeof setInterval>;

  constructor(
    private readonly log: Log,
    options: { pollMs?: number } = {},
  ) {
    const watcher = vscode.workspace.createFileSystemWatcher(runbookFilesGlob);
    const soon = () => this.refreshSoon();
    const touches = (uris: readonly vscode.Uri[]) => uris.some((u) => u.scheme === 'file' && (runbookFolderOf(u.fsPath) || isRunbookFolder(u.fsPath)));
    this.disposables.push(
      watcher,
      watcher.onDidCreate(soon),
      watcher.onDidChange(soon),
      watcher.onDidDelete(soon),
      vscode.workspace.onDidChangeWorkspaceFolders(soon),
      // what the editor itself does to the files, whatever the watcher reports
      vscode.workspace.onDidSaveTextDocument((doc) => void (touches([doc.uri]) && soon())),
      vscode.workspace.onDidCreateFiles((e) => void (touches(e.files) && soon())),
      vscode.workspace.onDidDeleteFiles((e) => void (touches(e.files) && soon())),
      vscode.workspace.onDidRenameFiles((e) => void (touches(e.files.flatMap((f) => [f.oldUri, f.newUri])) && soon())),
      this.changed,
    );
    // File watchers miss events on some file systems and set-ups, and VS Code's workspace watcher has been seen to stop
    // reporting altogether; a look at the folders' listings now and then (a readdir and a stat per file) catches it.
    this.poll = setInterval(() => void this.checkForChanges(), options.pollMs ?? 2_000);
  }

  /** Resolves once the runbooks were read at least once. */
  ready(): Promise<void> {
    this.first ??= this.refresh();
    return this.first;
  }

  /** Every folder's runbooks and problems, as last read. */
  get byFolder(): readonly FolderRunbooks[] {
    return this.folders;
  }

  get runbooks(): IndexedRunbook[] {
    return this.folders.flatMap((f) => f.runbooks.map((r) => ({ ...r, folder: f.folder })));
  }

  get problems(): RunbookProblem[] {
    return this.folders.flatMap((f) => f.problems);
  }

  find(file: string): IndexedRunbook | undefined {
    return this.runbooks.find((r) => r.file === file);
  }

  /** Reads every folder's runbooks again now (a read in flight is followed by one more). */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        const folders = fileFolders();
        this.listing = await listingOf(folders);
        const read: FolderRunbooks[] = [];
        for (const folder of folders) {
          try {
            read.push({ folder, ...(await readRunbooks(folder.uri.fsPath)) });
          } catch (e) {
            this.log.warn(`could not read the runbooks of ${folder.uri.fsPath}: ${(e as Error).message}`);
            read.push({ folder, runbooks: [], problems: [] });
          }
        }
        this.folders = read;
      } while (this.again);
      this.first ??= Promise.resolve();
      this.changed.fire();
    })().finally(() => (this.reading = undefined));
    return this.reading;
  }

  /** Reads the runbooks again when a folder's listing changed since they were last read. */
  private async checkForChanges(): Promise<void> {
    if (this.reading || !this.first) return;
    const listing = await listingOf(fileFolders());
    if (listing !== this.listing && !this.reading) void this.refresh();
  }

  private refreshSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, 150);
  }

  dispose(): void {
    clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
