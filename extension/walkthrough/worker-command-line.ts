// The command line that adds a worker machine, as "OCR: Copy Worker Command Line" puts it on the clipboard: what the
// README's "Add a worker machine" says, with this workspace's repository and this editor's concurrency filled in.

/** A word the shell reads back unchanged: as it is when it holds only safe characters, otherwise single-quoted. */
export function shellWord(word: string): string {
  return /^[\w.@%+=:,/-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface WorkerCommandLineInput {
  /** the name of the repository's folder here; the other machine keeps its clone in ~/src/<name> */
  repoName: string | undefined;
  concurrency: number;
  /** the project's ops-api function, when the editor is signed in to Supabase: the worker joins with a worker token */
  apiUrl?: string;
}

/**
 * `ocr worker` run from a clone of Ops Control Room on the other machine, the database URL read from a file (so that
 * no process environment and no shell history holds its password); on Supabase, through the ops-api function with a
 * worker token read from a file the same way.
 */
export function workerCommandLine({ repoName, concurrency, apiUrl }: WorkerCommandLineInput): string {
  const repo = repoName ? `~/src/${shellWord(repoName)}` : '~/src/app';
  if (apiUrl) return `OCR_WORKER_TOKEN=$(cat ~/.config/ocr/worker-token) bin/ocr worker --api ${shellWord(apiUrl)} --repo ${repo} --concurrency ${concurrency}`;
  return `OCR_DATABASE_URL_FILE=~/.config/ocr/db-url bin/ocr worker --repo ${repo} --concurrency ${concurrency}`;
}
