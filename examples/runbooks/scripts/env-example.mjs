#!/usr/bin/env node
// For the vercel-env-fix runbook: the environment variables a project's sources read (process.env.NAME,
// process.env['NAME'], const { NAME } = process.env, import.meta.env.NAME), compared with the names its .env.example
// lists. The missing ones are added to .env.example (empty, each with where it is read), so that the run's diff is the
// patch; names listed there that no source reads are only reported.
//
//   node env-example.mjs            (the repository is the current folder)
//
// $OCR_INPUT_FILE: the example file (default .env.example). $OCR_INPUT_IGNORE: more names to leave out, comma-separated
// (NODE_ENV, CI, VERCEL_* and Vite's MODE, DEV, PROD, SSR and BASE_URL always are: the platform sets them).
// $OCR_INPUT_CHECK=true: change nothing, exit 1 when names are missing (for CI).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const exampleFile = process.env.OCR_INPUT_FILE || '.env.example';
const checkOnly = /^(true|yes|1|on)$/i.test(process.env.OCR_INPUT_CHECK || '');
const platformNames = ['NODE_ENV', 'CI', 'VERCEL', 'VERCEL_*', 'NEXT_RUNTIME', 'MODE', 'DEV', 'PROD', 'SSR', 'BASE_URL'];
const ignored = [...platformNames, ...(process.env.OCR_INPUT_IGNORE || '').split(',').map((s) => s.trim()).filter(Boolean)];
const isIgnored = (name) => ignored.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
const sourceFile = /\.(?:[cm]?[jt]sx?|vue|svelte|astro)$/;
const skippedFolders = new Set(['node_modules', '.git', 'dist', 'build', 'out', 'coverage', '.next', '.nuxt', '.svelte-kit', '.vercel', '.turbo', '.ocr', '.ocr-artifacts']);

/** The project's source files: git's tracked and untracked-but-not-ignored files, else a walk of the folder. */
function sourceFiles() {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\0').filter((f) => f && sourceFile.test(f) && !f.split('/').some((part) => skippedFolders.has(part)) && existsSync(f)).sort();
  } catch {
    const files = [];
    const walk = (dir) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory() && !skippedFolders.has(e.name)) walk(path.join(dir, e.name));
        else if (e.isFile() && sourceFile.test(e.name)) files.push(path.join(dir, e.name));
      }
    };
    walk('.');
    return files.map((f) => f.replace(/^\.\//, '')).sort();
  }
}

const name = '[A-Za-z_][A-Za-z0-9_]*';
const patterns = [
  new RegExp(`\\bprocess\\.env\\.(${name})`, 'g'),
  new RegExp(`\\bprocess\\.env\\[\\s*['"\`](${name})['"\`]\\s*\\]`, 'g'),
  new RegExp(`\\bimport\\.meta\\.env\\.(${name})`, 'g'),
];
const destructuring = /\{([^{}]*)\}\s*=\s*(?:process\.env|import\.meta\.env)\b/g;

/** Every name read, with the first place it is read at (file:line). */
function namesRead(files) {
  const found = new Map();
  const note = (n, file, text, index) => {
    if (!found.has(n) && !isIgnored(n)) found.set(n, `${file}:${text.slice(0, index).split('\n').length}`);
  };
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const p of patterns) for (const m of text.matchAll(p)) note(m[1], file, text, m.index);
    for (const m of text.matchAll(destructuring)) {
      for (const part of m[1].split(',')) {
        const key = /^\s*(?:\.\.\.)?\s*([A-Za-z_][A-Za-z0-9_]*)/.exec(part);
        if (key && !part.trim().startsWith('...')) note(key[1], file, text, m.index);
      }
    }
  }
  return found;
}

/** The names the example file lists, as NAME=… or `# NAME=…` (documented, commented out). */
function namesListed(text) {
  const listed = new Set();
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:#\s*)?(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
    if (m) listed.add(m[1]);
  }
  return listed;
}

const read = namesRead(sourceFiles());
const before = existsSync(exampleFile) ? readFileSync(exampleFile, 'utf8') : '';
const listed = namesListed(before);
const missing = [...read.keys()].filter((n) => !listed.has(n)).sort();
const unused = [...listed].filter((n) => !read.has(n) && !isIgnored(n)).sort();

console.log(`the sources read ${read.size} name(s); ${exampleFile} lists ${listed.size}`);
for (const n of unused) console.log(`listed but read by no source: ${n} (left as it is)`);
if (missing.length === 0) {
  console.log(`${exampleFile} lists every name the sources read`);
  process.exit(0);
}
for (const n of missing) console.log(`${checkOnly ? 'missing' : 'added'} ${n} (read in ${read.get(n)})`);
if (checkOnly) {
  console.log(`${missing.length} name(s) missing from ${exampleFile}`);
  process.exit(1);
}
const block = ['# Read by the sources, added by the vercel-env-fix runbook: give each a value, and set it on Vercel', ...missing.flatMap((n) => [`# read in ${read.get(n)}`, `${n}=`])];
const separator = before === '' ? '' : before.endsWith('\n\n') ? '' : before.endsWith('\n') ? '\n' : '\n\n';
writeFileSync(exampleFile, before + separator + block.join('\n') + '\n');
console.log(`added ${missing.length} name(s) to ${exampleFile}; the run's diff is the patch`);
console.log(`on Vercel: ${missing.map((n) => `vercel env add ${n}`).join('; ')}`);
