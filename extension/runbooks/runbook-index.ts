// The runbooks of the workspace: each folder's .ocr/runbooks/*.yaml read with readRunbooks, and read again when such a
// file is created, changed or deleted (a FileSystemWatcher) or the folders change. The Runbooks view, the diagnostics
// and "Run Runbook…" read it; what a run publishes is always the file on disk.
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
  return (vscode.workspace.workspaceFolders ?? []).find((f) => f.uri.scheme === 'file' && path.dirname(file) === path.join(f.uri.fsPath, runbookFolder));
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

  constructor(private readonly log: Log) {
    const watcher = vscode.workspace.createFileSystemWatcher(runbookFilesGlob);
    const soon = () => this.refreshSoon();
    this.disposables.push(watcher, watcher.onDidCreate(soon), watcher.onDidChange(soon), watcher.onDidDelete(soon), vscode.workspace.onDidChangeWorkspaceFolders(soon), this.changed);
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
        const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
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

  private refreshSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, 150);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
