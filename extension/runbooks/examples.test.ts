// The example runbooks: every one the project ships is a runbook without problems, and copying them into a folder
// brings their scripts along and never overwrites a file that is there.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRunbooks } from '../../worker/runbooks/files';
import { copyExampleRunbooks, exampleRunbookNames } from './examples';

const root = path.resolve(__dirname, '..', '..');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the example runbooks', () => {
  it('are shipped, and each reads as a runbook without problems', async () => {
    const names = await exampleRunbookNames(root);
    expect(names.length).toBeGreaterThan(0);
    const { runbooks, problems } = await readRunbooks(path.join(root, 'examples', 'runbooks'));
    expect(problems).toEqual([]);
    expect(runbooks.map((r) => path.basename(r.file))).toEqual(names);
  });

  it('are copied into .ocr/runbooks with what they run, keeping a file that is there already', async () => {
    const extension = path.join(scratch, 'extension');
    mkdirSync(path.join(extension, 'examples', 'runbooks', 'scripts'), { recursive: true });
    writeFileSync(path.join(extension, 'examples', 'runbooks', 'one.yaml'), 'name: one\n');
    writeFileSync(path.join(extension, 'examples', 'runbooks', 'two.yml'), 'name: two\n');
    writeFileSync(path.join(extension, 'examples', 'runbooks', 'scripts', 'check.mjs'), 'console.log(1)\n');
    const repo = path.join(scratch, 'repo');
    mkdirSync(path.join(repo, '.ocr', 'runbooks'), { recursive: true });
    writeFileSync(path.join(repo, '.ocr', 'runbooks', 'two.yml'), 'name: two\n# mine\n');
    expect(await exampleRunbookNames(extension)).toEqual(['one.yaml', 'two.yml']);
    const copied = await copyExampleRunbooks(extension, repo);
    const at = (rel: string) => path.join(repo, '.ocr', 'runbooks', rel);
    expect(copied).toEqual({ added: [at('one.yaml'), at(path.join('scripts', 'check.mjs'))], kept: [at('two.yml')] });
    expect(readFileSync(at('two.yml'), 'utf8')).toBe('name: two\n# mine\n');
    expect(readFileSync(at('scripts/check.mjs'), 'utf8')).toBe('console.log(1)\n');
    expect(await copyExampleRunbooks(extension, repo)).toEqual({ added: [], kept: [at('one.yaml'), at(path.join('scripts', 'check.mjs')), at('two.yml')] });
    expect(await exampleRunbookNames(path.join(scratch, 'nowhere'))).toEqual([]);
  });
});
