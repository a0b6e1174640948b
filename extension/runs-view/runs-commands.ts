// The Runs view's commands: its filters (Status…, Lane…, Session…, Executor/Runbook…, Date Range…, Search…, Clear
// Filters), Load More, and OCR: Export Runs…. Each asks only for what its caller did not give: a script or a test may
// pass the value (checked with zod like any other input).
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { z } from 'zod';
import { type RunStatus, runStatuses, shortId } from '../../domain';
import { collectRunHistory, exportRunsText, type RunsExportFormat } from '../../worker/runs/export-runs';
import { FilterTextProblem, parseWhen } from '../../worker/runs/run-filter-text';
import { RunHistoryFilter } from '../../worker/store/run-history';
import type { CommandContext } from '../commands/context';
import { register } from '../commands/register';
import { loadMoreCommand, RunsView } from './runs-view';

export const exportRunsCommand = 'ocr.exportRuns';
/** the most runs one export writes */
const maxExported = 100_000;

const statusWords: Record<RunStatus, string> = {
  queued: 'waiting for a worker',
  running: 'a worker runs it',
  waiting: 'stopped at an approval gate',
  succeeded: 'ended well',
  failed: 'ended with an error',
  canceled: 'stopped by someone',
};

const ExportArg = z.object({ format: z.enum(['json', 'markdown']), file: z.string().min(1).optional() }).strict();

export function registerRunsViewCommands(ctx: CommandContext, view: RunsView): vscode.Disposable[] {
  const narrow = (change: Partial<RunHistoryFilter>) => view.setFilter({ ...view.filter, ...change });
  return [
    register(ctx, 'ocr.runs.filterStatus', async (arg?: unknown) => {
      if (arg !== undefined) return narrow({ status: parsed(z.array(z.enum(runStatuses)), arg, 'statuses') });
      const chosen = new Set(view.filter.status ?? []);
      const picked = await vscode.window.showQuickPick(
        runStatuses.map((s) => ({ label: s, description: statusWords[s], picked: chosen.has(s) })),
        { canPickMany: true, title: 'Show runs in these statuses', placeHolder: 'None picked: every status' },
      );
      if (!picked) return undefined;
      return narrow({ status: picked.length ? picked.map((p) => p.label as RunStatus) : undefined });
    }),

    register(ctx, 'ocr.runs.filterLane', async (arg?: unknown) => {
      if (arg !== undefined) return narrow({ lane: parsed(z.string().nullable(), arg, 'lane') ?? undefined });
      await ctx.model.ensureStarted();
      const lanes = [...new Set(ctx.model.sessions.flatMap((s) => s.lanes))].sort();
      const any = 'Any lane';
      const picked = await vscode.window.showQuickPick([any, ...lanes], { title: 'Show runs of which lane?', placeHolder: view.filter.lane ? `now: lane ${view.filter.lane}` : 'now: any lane' });
      if (!picked) return undefined;
      return narrow({ lane: picked === any ? undefined : picked });
    }),

    register(ctx, 'ocr.runs.filterSession', async (arg?: unknown) => {
      if (arg !== undefined) return narrow({ session_id: parsed(z.string().uuid().nullable(), arg, 'session') ?? undefined });
      const sessions = await (await ctx.store()).listSessions({ includeArchived: true });
      const items = [
        { label: 'Any session', id: undefined as string | undefined, description: '' },
        ...sessions.map((s) => ({ label: s.title, id: s.id as string | undefined, description: `${s.status === 'archived' ? 'archived · ' : ''}${shortId(s.id)}` })),
      ];
      const picked = await vscode.window.showQuickPick(items, { title: 'Show runs of which session?', matchOnDescription: true });
      if (!picked) return undefined;
      return narrow({ session_id: picked.id });
    }),

    register(ctx, 'ocr.runs.filterExecutor', async (arg?: unknown) => {
      if (arg !== undefined) {
        const choice = parsed(z.object({ executor: z.enum(['shell', 'agent', 'runbook']).optional(), runbook: z.string().optional() }).strict(), arg, 'executor');
        return narrow({ executor: choice.runbook ? 'runbook' : choice.executor, runbook: choice.runbook });
      }
      const runbookRuns = await (await ctx.store()).listRunHistory({ executor: 'runbook', limit: 1000 });
      const names = [...new Set(runbookRuns.runs.map((r) => r.spec.name).filter((n): n is string => typeof n === 'string'))].sort();
      type Item = vscode.QuickPickItem & { executor?: 'shell' | 'agent' | 'runbook'; runbook?: string };
      const items: Item[] = [
        { label: 'Any executor' },
        { label: 'shell', description: 'shell commands', executor: 'shell' },
        { label: 'agent', description: 'coding-agent prompts', executor: 'agent' },
        { label: 'runbook', description: 'every runbook', executor: 'runbook' },
        ...names.map((name) => ({ label: `runbook ${name}`, description: `.ocr/runbooks/${name}.yaml`, executor: 'runbook' as const, runbook: name })),
      ];
      const picked = await vscode.window.showQuickPick(items, { title: 'Show runs of which executor or runbook?' });
      if (!picked) return undefined;
      return narrow({ executor: picked.executor, runbook: picked.runbook });
    }),

    register(ctx, 'ocr.runs.filterDates', async (arg?: unknown) => {
      if (arg !== undefined) {
        const range = parsed(z.object({ since: z.string().optional(), until: z.string().optional() }).strict(), arg, 'date range');
        return narrow({ since: range.since && when(range.since, 'start'), until: range.until && when(range.until, 'end') });
      }
      const ask = (edge: 'start' | 'end') =>
        vscode.window.showInputBox({
          title: edge === 'start' ? 'Runs created since… (1/2)' : 'Runs created until… (2/2)',
          prompt: `7d, 12h or 30m ago, a day such as 2026-12-01, or a time; empty for no ${edge === 'start' ? 'start' : 'end'}`,
          validateInput: (v) => (v.trim() ? problemOf(() => parseWhen(v, edge)) : undefined),
        });
      const since = await ask('start');
      if (since === undefined) return undefined;
      const until = await ask('end');
      if (until === undefined) return undefined;
      return narrow({ since: since.trim() ? parseWhen(since, 'start') : undefined, until: until.trim() ? parseWhen(until, 'end') : undefined });
    }),

    register(ctx, 'ocr.runs.search', async (arg?: unknown) => {
      if (arg !== undefined) return narrow({ search: parsed(z.string().nullable(), arg, 'search')?.trim() || undefined });
      const text = await vscode.window.showInputBox({
        title: 'Search the runs',
        prompt: 'A piece of the intent (any case), or the first characters of a run id; empty for every run',
        value: view.filter.search ?? '',
      });
      if (text === undefined) return undefined;
      return narrow({ search: text.trim() || undefined });
    }),

    register(ctx, 'ocr.runs.clearFilters', async () => view.setFilter({})),
    register(ctx, loadMoreCommand, async () => view.loadMore()),
    register(ctx, 'ocr.runs.refresh', async () => view.refresh()),

    register(ctx, exportRunsCommand, async (arg?: unknown) => {
      const given = arg === undefined ? undefined : parsed(ExportArg, arg, 'export');
      const format = given?.format ?? (await pickFormat());
      if (!format) return undefined;
      let target: vscode.Uri | undefined;
      if (given?.file) target = vscode.Uri.file(given.file);
      else {
        const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri ?? vscode.Uri.file(os.homedir());
        target = await vscode.window.showSaveDialog({
          title: 'Export the runs of the Runs view',
          defaultUri: vscode.Uri.joinPath(folder, format === 'json' ? 'runs.json' : 'runs.md'),
          filters: format === 'json' ? { JSON: ['json'] } : { Markdown: ['md'] },
          saveLabel: 'Export',
        });
      }
      if (!target) return undefined;
      const { runs, more } = await collectRunHistory(await ctx.store(), view.filter, maxExported);
      await vscode.workspace.fs.writeFile(target, Buffer.from(exportRunsText(runs, format), 'utf8'));
      ctx.log.info(`exported ${runs.length} runs to ${target.toString(true)}`);
      const name = path.posix.basename(target.path);
      void vscode.window.showInformationMessage(`Exported ${runs.length} run${runs.length === 1 ? '' : 's'} to ${name}${more ? ` (the newest ${maxExported.toLocaleString('en')}; narrow the filter for the rest)` : ''}.`);
      return { file: target.fsPath, runs: runs.length };
    }),
  ];
}

async function pickFormat(): Promise<RunsExportFormat | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: 'JSON', description: 'one array: each run with the database\'s field names', format: 'json' as const },
      { label: 'Markdown', description: 'a table to paste into an issue or a note', format: 'markdown' as const },
    ],
    { title: 'Export the runs as' },
  );
  return picked?.format;
}

/** A value a script passed, checked: a wrong one is refused naming what it should be. */
function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new Error(`${what}: ${r.error.issues[0]?.message ?? 'not understood'}`);
  return r.data;
}

function when(text: string, edge: 'start' | 'end'): string {
  try {
    return parseWhen(text, edge);
  } catch (e) {
    if (e instanceof FilterTextProblem) throw new Error(`${edge === 'start' ? 'since' : 'until'} ${JSON.stringify(text)}: ${e.message}`);
    throw e;
  }
}

function problemOf(read: () => unknown): string | undefined {
  try {
    read();
    return undefined;
  } catch (e) {
    return e instanceof FilterTextProblem ? e.message : (e as Error).message;
  }
}

/** The Runs view and its commands. */
export function registerRunsView(ctx: CommandContext): vscode.Disposable[] {
  const view = new RunsView(ctx);
  return [view, ...registerRunsViewCommands(ctx, view)];
}
