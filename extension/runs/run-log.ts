// "Show Run Log": a run's log as a read-only document (`ocr-log:/A-1a2b3c4d.log?run=<id>`) that keeps growing while
// the run is live, like `tail -f`. It follows the run's events while an editor shows it and stops when the run ends
// or the document is closed. Opened at one of its lines (a search's hit), it shows that line selected.
import * as vscode from 'vscode';
import type { Store } from '../../worker/store/store';
import { isFinal, type Run, type RunEvent, shortId } from '../../domain';
import { followRun } from '../../worker/runs/follow-run';
import { findMatches } from '../../worker/runs/search-logs';
import { logHeader, LogText } from './log-text';

export const runLogScheme = 'ocr-log';

export function runLogUri(run: Pick<Run, 'id' | 'lane'>): vscode.Uri {
  return vscode.Uri.from({ scheme: runLogScheme, path: `/${run.lane}-${shortId(run.id)}.log`, query: new URLSearchParams({ run: run.id }).toString() });
}

const runIdOf = (uri: vscode.Uri): string | undefined => new URLSearchParams(uri.query).get('run') ?? undefined;

// At most ten updates a second; a very long log, whose every update VS Code compares whole, gets fewer.
const minUpdateMs = 100;
const updateMs = (chars: number): number => Math.max(minUpdateMs, Math.floor(chars / 10_000));
const catchUpBatch = 5000;

const changes = new vscode.EventEmitter<vscode.Uri>();

/** One open log: its text, and the loop that follows the run while it is live. */
class RunLogDocument {
  readonly log: LogText;
  private following: AbortController | undefined;
  private finished = false;
  private lastUpdate = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly uri: vscode.Uri,
    readonly run: Run,
  ) {
    this.log = new LogText(logHeader(run));
    this.finished = isFinal(run.status);
  }

  get live(): boolean {
    return this.following !== undefined;
  }

  /** Everything logged so far, read before the document opens so that it opens complete. */
  async load(store: Store): Promise<void> {
    for (;;) {
      const batch = await store.listEvents(this.run.id, this.log.lastSeq, catchUpBatch);
      this.log.append(batch);
      if (batch.length < catchUpBatch) return;
    }
  }

  /** Follows the run from the last line it has, unless the run has ended and every line is in. */
  follow(store: Store): void {
    if (this.following || this.finished) return;
    const controller = new AbortController();
    this.following = controller;
    const append = (batch: RunEvent[]) => {
      this.log.append(batch);
      this.changed();
    };
    void followRun(store, this.run.id, this.log.lastSeq, append, controller.signal).then((end) => {
      if (end.kind === 'finished') this.finished = true;
      if (end.kind === 'failed') {
        this.log.note(`stopped following the log: ${end.error.message}`);
        this.changed();
      }
      if (this.following === controller) this.following = undefined;
      this.flush();
    });
  }

  stop(): void {
    this.following?.abort();
    this.following = undefined;
  }

  /** Coalesces a burst of batches into one document update. */
  private changed(): void {
    if (this.timer) return;
    const wait = this.lastUpdate + updateMs(this.log.length) - Date.now();
    if (wait <= 0) this.update();
    else this.timer = setTimeout(() => this.update(), wait);
  }

  private flush(): void {
    if (this.timer) this.update();
  }

  private update(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastUpdate = Date.now();
    tailing.mark(this.uri);
    changes.fire(this.uri);
  }

  dispose(): void {
    this.stop();
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Editors scrolled to the end of a log stay at its end as it grows, like a terminal. */
const tailing = {
  waiting: new Map<string, vscode.TextEditor[]>(),
  mark(uri: vscode.Uri): void {
    const key = uri.toString();
    const atEnd = vscode.window.visibleTextEditors.filter((e) => {
      if (e.document.uri.toString() !== key) return false;
      const last = e.visibleRanges[e.visibleRanges.length - 1];
      return !last || last.end.line >= e.document.lineCount - 2;
    });
    if (atEnd.length > 0) this.waiting.set(key, atEnd);
  },
  reveal(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    const editors = this.waiting.get(key);
    if (!editors) return;
    this.waiting.delete(key);
    const end = new vscode.Range(document.lineCount - 1, 0, document.lineCount - 1, 0);
    for (const editor of editors) editor.revealRange(end, vscode.TextEditorRevealType.Default);
  },
};

const documents = new Map<string, RunLogDocument>();

/** Serves the text of every run log; with a store it also reopens logs VS Code restores after a reload. */
export class RunLogContent implements vscode.TextDocumentContentProvider {
  readonly onDidChange = changes.event;

  constructor(private readonly store?: () => Promise<Store>) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string | undefined> {
    const known = documents.get(uri.toString());
    if (known) return known.log.text;
    const runId = runIdOf(uri);
    if (!this.store || !runId) return undefined;
    try {
      const store = await this.store();
      const doc = await openLog(store, await store.getRun(runId));
      doc.follow(store);
      return doc.log.text;
    } catch {
      return undefined;
    }
  }
}

let registered: vscode.Disposable | undefined;

function listeners(): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.workspace.onDidCloseTextDocument((document) => {
      if (document.uri.scheme !== runLogScheme) return;
      documents.get(document.uri.toString())?.dispose();
      documents.delete(document.uri.toString());
    }),
    // VS Code keeps a closed editor's document around for a while; the database need not feed it meanwhile.
    vscode.window.tabGroups.onDidChangeTabs((e) => {
      if (e.closed.length === 0) return;
      const shown = new Set(vscode.window.tabGroups.all.flatMap((g) => g.tabs).flatMap((t) => (t.input instanceof vscode.TabInputText ? [t.input.uri.toString()] : [])));
      for (const [key, doc] of documents) if (!shown.has(key)) doc.stop();
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document.uri.scheme === runLogScheme) tailing.reveal(e.document);
    }),
  );
}

/**
 * Registers the `ocr-log:` content provider; the extension calls it on activation with its store so that logs
 * restored after a reload follow their run again. showRunLog registers one itself when nobody did.
 */
export function registerRunLogContent(context: { subscriptions: vscode.Disposable[] }, store?: () => Promise<Store>): vscode.Disposable {
  registered?.dispose();
  const registration = vscode.Disposable.from(vscode.workspace.registerTextDocumentContentProvider(runLogScheme, new RunLogContent(store)), listeners());
  registered = registration;
  const disposable = new vscode.Disposable(() => {
    registration.dispose();
    if (registered === registration) registered = undefined;
    for (const doc of documents.values()) doc.dispose();
    documents.clear();
  });
  context.subscriptions.push(disposable);
  return disposable;
}

function ensureRunLogContent(): void {
  registered ??= vscode.Disposable.from(vscode.workspace.registerTextDocumentContentProvider(runLogScheme, new RunLogContent()), listeners());
}

async function openLog(store: Store, run: Run): Promise<RunLogDocument> {
  const uri = runLogUri(run);
  let doc = documents.get(uri.toString());
  if (!doc) {
    doc = new RunLogDocument(uri, run);
    documents.set(uri.toString(), doc);
  }
  await doc.load(store);
  return doc;
}

export interface ShowRunLogOptions {
  viewColumn?: vscode.ViewColumn;
  preserveFocus?: boolean;
  /** show this line of the run (its seq) in the middle of the editor, selected, instead of the end */
  seq?: number;
  /** with seq: select where this text is in the line (any case) rather than the whole line */
  match?: string;
}

/** Where the event `seq` is in the document: the text `match` in its line, or the whole line; undefined if it is not. */
function lineRange(document: vscode.TextDocument, log: LogText, seq: number, match?: string): vscode.Range | undefined {
  const line = log.lineOf(seq);
  if (line === undefined || line >= document.lineCount) return undefined;
  const whole = document.lineAt(line).range;
  const found = match ? findMatches(document.lineAt(line).text, match)[0] : undefined;
  return found ? new vscode.Range(line, found.start, line, found.end) : whole;
}

/**
 * Opens the run's log, scrolled to its end (or to the line `seq`, selected), and follows the run while it is live.
 */
export async function showRunLog(store: Store, runId: string, options: ShowRunLogOptions = {}): Promise<vscode.TextEditor> {
  ensureRunLogContent();
  const run = await store.getRun(runId);
  const doc = await openLog(store, run);
  const document = await vscode.workspace.openTextDocument(doc.uri);
  const editor = await vscode.window.showTextDocument(document, { preview: false, viewColumn: options.viewColumn, preserveFocus: options.preserveFocus });
  const at = options.seq === undefined ? undefined : lineRange(document, doc.log, options.seq, options.match);
  if (at) {
    editor.selection = new vscode.Selection(at.start, at.end);
    editor.revealRange(at, vscode.TextEditorRevealType.InCenter);
  } else {
    const end = new vscode.Range(document.lineCount - 1, 0, document.lineCount - 1, 0);
    editor.revealRange(end, vscode.TextEditorRevealType.Default);
  }
  // Also when it is shown again after its tab was closed: following catches up from the last line it has.
  doc.follow(store);
  return editor;
}
