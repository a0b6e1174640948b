// The example runbooks the extension ships (examples/runbooks: the .yaml files and the scripts they run), copied into a
// folder's .ocr/runbooks. A file that is there already is kept as it is.
import { constants } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { runbookFolder } from '../../worker/runbooks/files';

export interface CopiedExamples {
  /** the files written, in the folder's .ocr/runbooks */
  added: string[];
  /** the files left alone because they exist */
  kept: string[];
}

const examplesOf = (extensionPath: string): string => path.join(extensionPath, 'examples', 'runbooks');

/** The example runbooks shipped in `extensionPath`, by file name. */
export async function exampleRunbookNames(extensionPath: string): Promise<string[]> {
  const names = await readdir(examplesOf(extensionPath)).catch(() => [] as string[]);
  return names.filter((n) => /\.ya?ml$/.test(n)).sort();
}

/** Every file under the examples folder, relative to it, in name order. */
async function exampleFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await exampleFiles(dir, rel)));
    else if (entry.isFile()) files.push(rel);
  }
  return files;
}

/** Copies the examples (runbooks and their scripts) into `folder`/.ocr/runbooks, never over a file that is there. */
export async function copyExampleRunbooks(extensionPath: string, folder: string): Promise<CopiedExamples> {
  const from = examplesOf(extensionPath);
  const target = path.join(folder, runbookFolder);
  const copied: CopiedExamples = { added: [], kept: [] };
  for (const rel of await exampleFiles(from)) {
    const to = path.join(target, rel);
    await mkdir(path.dirname(to), { recursive: true });
    try {
      await copyFile(path.join(from, rel), to, constants.COPYFILE_EXCL);
      copied.added.push(to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      copied.kept.push(to);
    }
  }
  return copied;
}
