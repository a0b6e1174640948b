// `npm run schema:runbook`: writes schemas/runbook.schema.json, the JSON Schema of a runbook file, from the domain's
// zod schema (extension/runbooks/json-schema.ts). `--check` compares instead of writing, and exits 1 when the file is
// out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderRunbookJsonSchema, runbookSchemaFile } from '../extension/runbooks/json-schema';

const root = path.resolve(__dirname, '..');
const file = path.join(root, runbookSchemaFile);
const text = renderRunbookJsonSchema();
if (process.argv.includes('--check')) {
  let committed: string | undefined;
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    committed = undefined;
  }
  if (committed !== text) {
    console.error(`${runbookSchemaFile} is out of date: run \`npm run schema:runbook\` and commit it`);
    process.exitCode = 1;
  } else console.log(`${runbookSchemaFile} is up to date`);
} else {
  writeFileSync(file, text);
  console.log(`wrote ${runbookSchemaFile}`);
}
