// Test support: a small Node project in a fresh git repository, as a user's clone would be after
// `ocr runbook init` — package.json with a test and a lint script, a source file that reads two environment variables,
// a .env.example that lists one of them, two Supabase migrations, and the example runbooks with their scripts.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { copyExamples } from '../cli/runbook-commands';
import { makeRepo, sh } from '../engine/git.test-support';

export const examplesRoot = path.resolve(__dirname, '..', '..', 'examples', 'runbooks');

export const fixtureMigrations: Record<string, string> = {
  'supabase/migrations/20240101000000_create_users.sql': 'create table users (\n  id bigint primary key,\n  email text not null unique\n);\n',
  'supabase/migrations/20240102000000_create_posts.sql':
    'create table posts (\n  id bigint primary key,\n  user_id bigint not null references users (id),\n  body text not null\n);\ncreate index posts_user_id on posts (user_id);\n',
};

/** The project's files (besides the runbooks); `extra` adds or replaces some. */
export function fixtureFiles(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name: 'fixture', version: '1.0.0', private: true, scripts: { test: 'node test/run.js', lint: 'node scripts/lint.js' } }, null, 2) + '\n',
    'package-lock.json':
      JSON.stringify({ name: 'fixture', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'fixture', version: '1.0.0' } } }, null, 2) + '\n',
    '.gitignore': 'node_modules/\n.env\n',
    'src/config.js': "export const config = {\n  apiUrl: process.env.API_URL,\n  apiToken: process.env.API_TOKEN,\n  mode: process.env.NODE_ENV,\n};\n",
    'test/run.js': "const assert = require('node:assert');\nassert.strictEqual(1 + 1, 2);\nconsole.log('tests passed');\n",
    'scripts/lint.js': "console.log('lint: no problems');\n",
    '.env.example': '# where the API is\nAPI_URL=http://localhost:3000\n',
    ...fixtureMigrations,
    ...extra,
  };
}

/** A committed repository in `folder` with the project and the examples copied into .ocr/runbooks. */
export async function makeFixtureProject(folder: string, extra: Record<string, string> = {}): Promise<string> {
  mkdirSync(folder, { recursive: true });
  makeRepo(folder, fixtureFiles(extra));
  await copyExamples(folder, { force: false, from: examplesRoot });
  sh(folder, 'git add -A && git commit -q -m "runbooks"');
  return folder;
}

