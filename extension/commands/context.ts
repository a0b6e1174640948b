// What every command needs: the store, the model of sessions, the active session, the worker, the log.
import * as vscode from 'vscode';
import type { Store } from '../../worker/store/store';
import type { Backend } from '../backend';
import { ConflictRadar } from '../lanes/conflict-radar';
import type { Log } from '../log';
import type { SessionsModel } from '../sessions/sessions-model';
import type { EditorWorker } from '../worker/editor-worker';

const activeSessionKey = 'ocr.activeSession';

export class CommandContext {
  private readonly activeChanged = new vscode.EventEmitter<string | undefined>();
  readonly onDidChangeActiveSession = this.activeChanged.event;
  /** which lanes of a session would conflict if merged now; the tree and the Runboard show it */
  readonly radar: ConflictRadar;

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly backend: Backend,
    readonly model: SessionsModel,
    readonly worker: EditorWorker,
    readonly log: Log,
  ) {
    this.radar = new ConflictRadar(model, log);
  }

  store(): Promise<Store> {
    return this.backend.store();
  }

  get activeSessionId(): string | undefined {
    return this.extension.workspaceState.get<string>(activeSessionKey);
  }

  async setActiveSession(id: string | undefined): Promise<void> {
    await this.extension.workspaceState.update(activeSessionKey, id);
    this.activeChanged.fire(id);
  }

  dispose(): void {
    this.radar.dispose();
    this.activeChanged.dispose();
  }
}
