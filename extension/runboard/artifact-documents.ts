// The artifacts the Runboard opens in the editor: files, logs and manifests as read-only documents
// (`ocr-artifact:/A-1a2b3c4d/report.txt?run=<id>&artifact=<id>`, read from the store when opened, never written
// back), links in the browser through vscode.env.openExternal once artifactOpening has checked them, a diff in the
// diff editor.
import * as vscode from 'vscode';
import { type Artifact, shortId } from '../../domain';
import { OcrError } from '../../worker/store/errors';
import type { Store } from '../../worker/store/store';
import { artifactOpening, documentText } from './artifact-opening';

export const artifactScheme = 'ocr-artifact';

async function findArtifact(store: Store, runId: string, artifactId: string): Promise<Artifact> {
  const artifact = (await store.listArtifacts(runId)).find((a) => a.id === artifactId);
  if (!artifact) throw new OcrError('not_found', `run ${shortId(runId)} has no artifact ${artifactId}`);
  return artifact;
}

class ArtifactContent implements vscode.TextDocumentContentProvider {
  constructor(private readonly store: () => Promise<Store>) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const runId = query.get('run');
    const artifactId = query.get('artifact');
    if (!runId || !artifactId) throw new OcrError('invalid_input', `${uri.toString()} names no artifact`);
    return documentText(await findArtifact(await this.store(), runId, artifactId));
  }
}

let registered: vscode.Disposable | undefined;

/** Registers the `ocr-artifact:` documents once; they go with the extension. */
function ensureRegistered(extension: vscode.ExtensionContext, store: () => Promise<Store>): void {
  if (registered) return;
  registered = vscode.workspace.registerTextDocumentContentProvider(artifactScheme, new ArtifactContent(store));
  extension.subscriptions.push(registered, { dispose: () => (registered = undefined) });
}

export interface ArtifactOpeners {
  extension: vscode.ExtensionContext;
  store(): Promise<Store>;
  /** the diff editor on the run's changes */
  openDiff(runId: string): Promise<void>;
}

export async function openArtifact(openers: ArtifactOpeners, runId: string, artifactId: string): Promise<void> {
  const store = await openers.store();
  const artifact = await findArtifact(store, runId, artifactId);
  const opening = artifactOpening(artifact);
  if (opening.kind === 'diff') return openers.openDiff(runId);
  if (opening.kind === 'external') {
    // false when the person declined the editor's own "open this website?" question: nothing to say
    await vscode.env.openExternal(vscode.Uri.parse(opening.url, true));
    return;
  }
  ensureRegistered(openers.extension, openers.store);
  const run = await store.getRun(runId);
  const uri = vscode.Uri.from({
    scheme: artifactScheme,
    path: `/${run.lane}-${shortId(run.id)}/${artifact.name.replace(/[/\\]/g, '_')}`,
    query: new URLSearchParams({ run: run.id, artifact: artifact.id }).toString(),
  });
  let document = await vscode.workspace.openTextDocument(uri);
  if (opening.language && document.languageId !== opening.language) document = await vscode.languages.setTextDocumentLanguage(document, opening.language);
  await vscode.window.showTextDocument(document, { preview: true, viewColumn: vscode.ViewColumn.Beside });
}
