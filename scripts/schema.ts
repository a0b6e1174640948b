// `npm run schema`: writes supabase/schema.sql, the whole schema the migrations build, from a throwaway database on the
// test server (OCR_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres). `--check` compares instead
// of writing, and exits 1 when the file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateSchema, OUT_OF_DATE, schemaFile } from '../worker/store/schema-dump';

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const file = schemaFile();
  const schema = await generateSchema();
  const name = path.relative(process.cwd(), file) || file;
  if (!check) {
    writeFileSync(file, schema);
    console.log(`wrote ${name}`);
    return;
  }
  let committed: string | undefined;
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    committed = undefined;
  }
  if (committed !== schema) {
    console.error(OUT_OF_DATE);
    process.exitCode = 1;
    return;
  }
  console.log(`${name} is up to date`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
