// OCR: Search Run Logs…: a piece of text, then the newest lines of every run's log that hold it in a quick pick (the
// line, where it is, the lines around it); the one picked opens its run's log at that line with the text selected.
// The same search as `ocr search` (worker/runs/search-logs.ts).
import * as vscode from 'vscode';
import { z } from 'zod';
import { shortId } from '../../domain';
import { type LogSearchHit, searchLogs } from '../../worker/runs/search-logs';
import { minLogQueryLength } from '../../worker/store/log-search';
import type { CommandContext } from './context';
import { register } from './register';

/** The most hits the quick pick lists: enough to scroll through, few enough to read at once. */
export const searchPickLimit = 200;

/** From a script or a test: the text, and optionally the session to search in. */
const SearchArg = z.object({ query: z.string(), sessionId: z.string().uuid().optional() });

const lastQueryKey = 'ocr.searchRunLogs.lastQuery';

interface HitItem extends vscode.QuickPickItem {
  found: LogSearchHit;
}

/** A line of a log for one line of the picker: tabs and runs of spaces as one space. */
const flat = (text: string): string => text.replace(/\s+/g, ' ').trim();

export function hitItem(found: LogSearchHit): HitItem {
  const { hit } = found;
  const context = [...found.before.map(flat), '▸', ...found.after.map(flat)].join('  ⏎  ');
  return {
    label: flat(found.line) || '(an empty line)',
    description: `${flat(hit.session_title)} · lane ${hit.lane} · run ${shortId(hit.run_id)} (${hit.run_status}) · line ${hit.seq}`,
    detail: found.before.length + found.after.length > 0 ? context : undefined,
    found,
  };
}

export function validateQuery(value: string): string | undefined {
  if (/[\r\n]/.test(value)) return 'One line of text: each line of a log is searched on its own.';
  if (value.trim().length < minLogQueryLength) return `Give at least ${minLogQueryLength} characters, such as ERR or 404.`;
  if (value.length > 500) return 'At most 500 characters.';
  return undefined;
}

export function registerSearchCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    register(ctx, 'ocr.searchRunLogs', async (arg?: unknown) => {
      const given = SearchArg.safeParse(arg);
      const query = given.success
        ? given.data.query
        : await vscode.window.showInputBox({
            title: 'Search Run Logs',
            prompt: "A piece of a line in any run's log, in any case: an error message, a file name, an exit code…",
            placeHolder: 'ECONNREFUSED',
            value: ctx.extension.globalState.get<string>(lastQueryKey) ?? '',
            validateInput: validateQuery,
          });
      if (query === undefined || query.trim() === '') return undefined;
      await ctx.extension.globalState.update(lastQueryKey, query);
      const store = await ctx.store();
      const hits = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `Searching run logs for "${query}"` },
        () => searchLogs(store, { query, session: given.success ? given.data.sessionId : undefined, limit: searchPickLimit + 1, context: 2, width: 200 }),
      );
      if (hits.length === 0) {
        void vscode.window.showInformationMessage(`No line of any run's log holds "${query}".`);
        return undefined;
      }
      const shown = hits.slice(0, searchPickLimit);
      const picked = await vscode.window.showQuickPick(shown.map(hitItem), {
        title: `Search Run Logs: "${query}" — ${hits.length > searchPickLimit ? `the newest ${searchPickLimit} lines` : `${shown.length} line${shown.length === 1 ? '' : 's'}`}, newest first`,
        placeHolder: 'Pick a line to open its run’s log there; type to narrow the list',
        matchOnDescription: true,
        matchOnDetail: true,
      });
      if (!picked) return undefined;
      const { hit } = picked.found;
      await vscode.commands.executeCommand('ocr.showRunLog', { runId: hit.run_id, seq: hit.seq, match: query });
      return { runId: hit.run_id, seq: hit.seq };
    }),
  ];
}
