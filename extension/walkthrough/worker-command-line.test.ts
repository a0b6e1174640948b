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

  it('leaves safe words alone', () => {
    expect(shellWord('a.b_c-d/e')).toBe('a.b_c-d/e');
    expect(shellWord('a b')).toBe(`'a b'`);
  });
});
