// How a run is shown in VS Code's own UI: icon, one-line description, tooltip.
import * as vscode from 'vscode';
import { type Run, runDuration, shortId, statusLabel } from '../../domain';

export function runIcon(run: Run): vscode.ThemeIcon {
  switch (run.status) {
    case 'queued':
      return new vscode.ThemeIcon('clock');
    case 'running':
      return new vscode.ThemeIcon(run.cancel_requested_at ? 'loading~spin' : 'sync~spin', new vscode.ThemeColor('charts.blue'));
    case 'waiting':
      return new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('charts.yellow'));
    case 'succeeded':
      return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
    case 'failed':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
    case 'canceled':
      return new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('disabledForeground'));
  }
}

/** "running · 12.3 s · worker-1", "failed · exit 2 · 4.0 s" */
export function describeRun(run: Run): string {
  const exit = run.exit_code !== null && run.status !== 'succeeded' ? `exit ${run.exit_code}` : '';
  return [statusLabel(run), exit, runDuration(run), run.claimed_by ?? ''].filter(Boolean).join(' · ');
}

export function runTooltip(run: Run): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**Run ${shortId(run.id)}** · lane ${run.lane} · ${run.executor}\n\n`);
  md.appendCodeblock(run.intent, run.executor === 'shell' ? 'shellscript' : 'text');
  md.appendMarkdown(`\n${describeRun(run)} · attempt ${run.attempt}/${run.max_attempts} · priority ${run.priority}`);
  if (run.error) md.appendMarkdown(`\n\n$(error) ${run.error.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&')}`);
  md.supportThemeIcons = true;
  return md;
}
