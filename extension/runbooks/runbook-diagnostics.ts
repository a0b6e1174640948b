// The problems of runbook files in the Problems panel (the collection 'ocr-runbooks'): what readRunbooks found in the
// files on disk, and for a file open with unsaved edits what its text says now (read again as it is typed). A fixed
// file's entries go; a deleted file's too.
import { readFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { parseRunbook, type RunbookProblem } from '../../worker/runbooks/files';
import { type RunbookIndex, runbookFolderOf } from './runbook-index';

export const runbookDiagnosticsName = 'ocr-runbooks';
const source = 'OCR runbook';

/** A problem's range: from its line and column to the end of what is written on that line. */
export function problemRange(problem: Pick<RunbookProblem, 'line' | 'column'>, text: string | undefined): vscode.Range {
  const line = Math.max(0, problem.line - 1);
  const start = Math.max(0, problem.column - 1);
  const content = text?.split(/\r?\n/)[line]?.trimEnd() ?? '';
  return new vscode.Range(line, start, line, Math.max(start + 1, content.length));
}

export function toDiagnostic(problem: RunbookProblem, text: string | undefined): vscode.Diagnostic {
  const diagnostic = new vscode.Diagnostic(problemRange(problem, text), problem.message, vscode.DiagnosticSeverity.Error);
  diagnostic.source = source;
  return diagnostic;
}

export class RunbookDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection(runbookDiagnosticsName);
  private readonly disposables: vscode.Disposable[] = [];
  private readonly typing = new Map<string, ReturnType<typeof setTimeout>>();
  /** counts updates: an older one that finishes later must not win */
  private generation = 0;

  constructor(private readonly index: RunbookIndex) {
    this.disposables.push(
      this.collection,
      index.onDidChange(() => void this.update()),
      vscode.workspace.onDidChangeTextDocument((e) => this.typed(e.document)),
      // after a save the watcher has the index read it again; a closed document goes back to what is on disk
      vscode.workspace.onDidCloseTextDocument((doc) => {
        if (doc.uri.scheme === 'file' && runbookFolderOf(doc.uri.fsPath)) void this.update();
      }),
    );
  }

  /** Sets every runbook file's entries from the index, and the unsaved documents' from their text. */
  async update(): Promise<void> {
    const generation = ++this.generation;
    const byFile = new Map<string, RunbookProblem[]>();
    for (const p of this.index.problems) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
    const entries: Array<[vscode.Uri, vscode.Diagnostic[]]> = [];
    for (const [file, problems] of byFile) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      entries.push([vscode.Uri.file(file), problems.map((p) => toDiagnostic(p, text))]);
    }
    if (generation !== this.generation) return;
    this.collection.clear();
    this.collection.set(entries);
    for (const doc of vscode.workspace.textDocuments) if (doc.isDirty && doc.uri.scheme === 'file' && runbookFolderOf(doc.uri.fsPath)) this.fromText(doc);
  }

  private typed(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file' || !runbookFolderOf(doc.uri.fsPath)) return;
    const file = doc.uri.fsPath;
    clearTimeout(this.typing.get(file));
    this.typing.set(
      file,
      setTimeout(() => {
        this.typing.delete(file);
        if (doc.isDirty) this.fromText(doc);
        else void this.update(); // undone back to what is saved
      }, 250),
    );
  }

  private fromText(doc: vscode.TextDocument): void {
    const text = doc.getText();
    const result = parseRunbook(text, doc.uri.fsPath);
    this.collection.set(doc.uri, 'problems' in result ? result.problems.map((p) => toDiagnostic(p, text)) : []);
  }

  dispose(): void {
    for (const timer of this.typing.values()) clearTimeout(timer);
    for (const d of this.disposables) d.dispose();
  }
}
