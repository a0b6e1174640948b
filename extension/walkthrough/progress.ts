// What the walkthrough's steps wait for that no command or setting says: the context keys its `onContext:` completion
// events name, set from what the Sessions model reads. This is the one place they are set.
import * as vscode from 'vscode';
import type { CommandContext } from '../commands/context';
import { type Progress, type ProgressKey, progressKeys, progressOf } from './steps-done';

export type { Progress };

export class WalkthroughProgress implements vscode.Disposable {
  private readonly state: Progress = { hasSession: false, firstLaneRunEnded: false, agentRunQueued: false };
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly ctx: CommandContext) {
    for (const key of Object.keys(progressKeys) as ProgressKey[]) void this.publish(key);
    this.subscriptions = [
      ctx.model.onDidChange(() => this.update()),
      // A session made or a run queued from the palette changes the active session; the Sessions view may be closed, so
      // nobody may have started reading the sessions yet.
      ctx.onDidChangeActiveSession(() => void ctx.model.ensureStarted().catch(() => undefined)),
    ];
    this.update();
  }

  get progress(): Progress {
    return { ...this.state };
  }

  private update(): void {
    // once every key is true there is nothing left to learn: the sessions model changes on every run's transition
    if (Object.values(this.state).every(Boolean)) return;
    const seen = progressOf(this.ctx.model.sessions, (id) => this.ctx.model.runs(id));
    for (const key of Object.keys(progressKeys) as ProgressKey[]) {
      if (!seen[key] || this.state[key]) continue;
      this.state[key] = true;
      this.ctx.log.info(`walkthrough: ${progressKeys[key]} is now true`);
      void this.publish(key);
    }
  }

  private publish(key: ProgressKey): Thenable<unknown> {
    return vscode.commands.executeCommand('setContext', progressKeys[key], this.state[key]);
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
