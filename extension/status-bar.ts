// The status bar shows the in-editor worker: `$(play) OCR 2/4` while it runs (running / capacity),
// `$(debug-pause) OCR paused` when it is off. A click toggles it.
import * as vscode from 'vscode';
import type { EditorWorker, EditorWorkerState } from './worker/editor-worker';

export const statusBarItemId = 'ocr.status';
export const toggleWorkerCommand = 'ocr.toggleWorker';
export const setWorkerTokenCommand = 'ocr.setWorkerToken';

export function createStatusBarItem(worker: EditorWorker): vscode.Disposable & { item: vscode.StatusBarItem } {
  const item = vscode.window.createStatusBarItem(statusBarItemId, vscode.StatusBarAlignment.Left, 50);
  item.name = 'Ops Control Room worker';
  item.command = toggleWorkerCommand;
  const render = (state: EditorWorkerState) => {
    const look = present(state);
    item.text = look.text;
    item.tooltip = look.tooltip;
    item.backgroundColor = look.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    // without a worker token there is nothing to toggle: a click sets one
    item.command = state.kind === 'off' && state.reason === 'no-worker-token' ? setWorkerTokenCommand : toggleWorkerCommand;
  };
  render(worker.state);
  const subscription = worker.onDidChange(render);
  item.show();
  return { item, dispose: () => (subscription.dispose(), item.dispose()) };
}

function present(state: EditorWorkerState): { text: string; tooltip: vscode.MarkdownString | string; warning?: boolean } {
  switch (state.kind) {
    case 'on': {
      const { running, capacity, id } = state.status;
      const md = new vscode.MarkdownString(`**Ops Control Room worker** \`${id}\` — ${running.length} of ${capacity} slots busy\n\n`);
      for (const r of running) md.appendMarkdown(`- lane ${r.lane}: ${r.intent.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&').slice(0, 80)}\n`);
      md.appendMarkdown('\nClick to pause the worker.');
      return { text: `$(play) OCR ${running.length}/${capacity}`, tooltip: md };
    }
    case 'starting':
      return { text: '$(loading~spin) OCR', tooltip: 'Ops Control Room: starting the worker…' };
    case 'stopping':
      return { text: '$(loading~spin) OCR stopping', tooltip: 'Ops Control Room: letting running runs finish, then stopping the worker…' };
    case 'failed':
      return { text: '$(warning) OCR', tooltip: `Ops Control Room: the worker could not start: ${state.error}. Click to try again.`, warning: true };
    case 'off':
      if (state.reason === 'no-worker-token') {
        return {
          text: '$(key) OCR no worker token',
          tooltip: 'Ops Control Room worker is off: on a Supabase project it runs with a worker token, and none is set. Click to set one (OCR: Set Worker Token…); runs wait in the queue for other workers meanwhile.',
        };
      }
      return state.reason === 'untrusted'
        ? { text: '$(shield) OCR untrusted', tooltip: 'Ops Control Room runs nothing in an untrusted workspace. Trust this workspace to start the worker.' }
        : { text: '$(debug-pause) OCR paused', tooltip: 'Ops Control Room worker is paused: runs wait in the queue for another worker. Click to start it.' };
  }
}
