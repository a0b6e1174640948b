import { describe, expect, it } from 'vitest';
import { shellWord, workerCommandLine } from './worker-command-line';

describe('the worker command line', () => {
  it('names the repository folder and the concurrency, and reads the database URL from a file', () => {
    expect(workerCommandLine({ repoName: 'shop-api', concurrency: 4 })).toBe(
      'OCR_DATABASE_URL_FILE=~/.config/ocr/db-url bin/ocr worker --repo ~/src/shop-api --concurrency 4',
    );
  });

  it('quotes a folder name the shell would split or expand, and falls back to ~/src/app without a repository', () => {
    expect(workerCommandLine({ repoName: "it's $HOME", concurrency: 2 })).toContain(`--repo ~/src/'it'\\''s $HOME' --concurrency 2`);
    expect(workerCommandLine({ repoName: undefined, concurrency: 8 })).toContain('--repo ~/src/app --concurrency 8');
  });

  it('on Supabase, joins through the ops-api function with a worker token read from a file', () => {
    expect(workerCommandLine({ repoName: 'shop-api', concurrency: 4, apiUrl: 'https://abcd.supabase.co/functions/v1/ops-api' })).toBe(
      'OCR_WORKER_TOKEN=$(cat ~/.config/ocr/worker-token) bin/ocr worker --api https://abcd.supabase.co/functions/v1/ops-api --repo ~/src/shop-api --concurrency 4',
    );
  });

  it('leaves safe words alone', () => {
    expect(shellWord('a.b_c-d/e')).toBe('a.b_c-d/e');
    expect(shellWord('a b')).toBe(`'a b'`);
  });
});
