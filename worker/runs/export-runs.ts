// The run history as a file or a document: JSON (one array, the database's field names) or a Markdown table. `ocr runs
// --json` / `--md` and the editor's OCR: Export Runs… write the same text with these functions.
import { runDuration, runDurationMs, shortId } from '../../domain';
import { plain, runJson } from '../cli/format';
import type { RunHistoryFilter, RunHistoryRow, RunHistorySort } from '../store/run-history';
import { maxRunHistoryPage } from '../store/run-history';
import type { Store } from '../store/store';

export type RunsExportFormat = 'json' | 'markdown';

/** Every run of the filter, page after page, up to `max`; `more` says whether runs were left out. */
export async function collectRunHistory(
  store: Store,
  filter: RunHistoryFilter & { sort?: RunHistorySort },
  max: number,
): Promise<{ runs: RunHistoryRow[]; more: boolean }> {
  const runs: RunHistoryRow[] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = await store.listRunHistory({ ...filter, limit: Math.min(maxRunHistoryPage, max - runs.length), cursor });
    runs.push(...page.runs);
    if (!page.next) return { runs, more: false };
    if (runs.length >= max) return { runs, more: true };
    cursor = page.next;
  }
}

/** A run of the history as JSON: the fields of `ocr status --json`, its session's title, runbook and duration. */
export function runHistoryJson(run: RunHistoryRow, now: number = Date.now()) {
  return {
    ...runJson(run),
    session_title: run.session_title,
    runbook: run.executor === 'runbook' && typeof run.spec.name === 'string' ? run.spec.name : null,
    duration_ms: runDurationMs(run, now),
  };
}

/** One cell of a Markdown table: plain text on one line, its pipes escaped. */
const cell = (text: string, max = Infinity): string => plain(text, max).replace(/\\/g, '\\\\').replace(/\|/g, '\\|');

export function runsMarkdown(runs: readonly RunHistoryRow[], now: number = Date.now()): string {
  const header = '| Run | Session | Lane | Status | Executor | Created | Duration | Intent |\n|---|---|---|---|---|---|---|---|\n';
  return (
    header +
    runs
      .map((r) => {
        const executor = r.executor === 'runbook' && typeof r.spec.name === 'string' ? `runbook ${r.spec.name}` : r.executor;
        const intent = cell(r.intent, 120) + (r.error ? ` — ${cell(r.error, 80)}` : '');
        return `| \`${shortId(r.id)}\` | ${cell(r.session_title, 60)} | ${cell(r.lane)} | ${r.status} | ${cell(executor)} | ${r.created_at} | ${runDuration(r, now)} | ${intent} |`;
      })
      .join('\n') +
    (runs.length ? '\n' : '')
  );
}

/** The file's text: JSON as one array, or the Markdown table. */
export function exportRunsText(runs: readonly RunHistoryRow[], format: RunsExportFormat, now: number = Date.now()): string {
  return format === 'json' ? `${JSON.stringify(runs.map((r) => runHistoryJson(r, now)), null, 2)}\n` : runsMarkdown(runs, now);
}
