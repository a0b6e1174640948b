import * as vscode from 'vscode';
import { openRunboardCommand } from './runboard/runboard-panel';

export const statusBarItemId = 'ocr.status';

/** The Ops Control Room entry in the status bar; a click opens the Runboard. */
export function createStatusBarItem(): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem(statusBarItemId, vscode.StatusBarAlignment.Left, 50);
  item.name = 'Ops Control Room';
  item.text = '$(layers) OCR';
  item.tooltip = 'Ops Control Room: open the Runboard';
  item.command = openRunboardCommand;
  item.show();
  return item;
}
