// What a --db value names (chooseDatabase): the URLs and folders it accepts, and everything else refused in one line
// that says what was given and what is accepted, with nothing created. Real folders, and the machine's PostgreSQL.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OcrError } from './errors';
import { chooseDatabase, openStore } from './open';
import { createTestDatabase } from './testing';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-open-'));
const savedDataHome = process.env.XDG_DATA_HOME;

beforeEach(() => {
  // the default data folder, for this test only
  process.env.XDG_DATA_HOME = path.join(scratch, 'data-home');
});
afterEach(() => {
  if (savedDataHome === undefined) delete process.env.XDG_DATA_HOME;
  else process.env.XDG_DATA_HOME = savedDataHome;
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function refusal(db: string | undefined, options: Parameters<typeof chooseDatabase>[1] = {}): OcrError {
  try {
    chooseDatabase(db, options);
  } catch (e) {
    expect(e).toBeInstanceOf(OcrError);
    return e as OcrError;
  }
  throw new Error(`${db} was accepted`);
}

describe('chooseDatabase', () => {
  it.each([
    'postgres://user:secret@db.example.com:5432/ops',
    'postgresql://db.example.com/ops',
    'POSTGRES://user@127.0.0.1/ops',
    'postgres://user@[::1]:6543/ops',
    'postgres://user@db.example.com/ops?sslmode=require',
    'postgres://user@db.example.com:5432/ops?sslmode=verify-full&application_name=x',
    'postgres://user@localhost/ops?host=%2Fvar%2Frun%2Fpostgresql',
  ])('takes the URL %s as it is', (url) => {
    expect(chooseDatabase(url)).toEqual({ kind: 'postgres', url });
  });

  it.each<[string, RegExp]>([
    ['http://example.com/db', /^--db "http:\/\/example\.com\/db" is neither a PostgreSQL URL nor a folder \(give a postgres:\/\/ or postgresql:\/\/ URL .* or the folder of an embedded database\)$/],
    ['postgress://h/db', /^--db "postgress:\/\/h\/db" is neither a PostgreSQL URL nor a folder \(give a postgres:\/\/ or postgresql:\/\//],
    ['file:///tmp/db', /^--db "file:\/\/\/tmp\/db" is neither a PostgreSQL URL nor a folder/],
    ['postgres://h:abc/db', /^--db "postgres:\/\/h:abc\/db": the port "abc" is not a number from 1 to 65535 \(for example postgres:\/\/user:password@host:5432\/dbname\)$/],
    ['postgres://h:70000/db', /^--db "postgres:\/\/h:70000\/db": the port 70000 is not a number from 1 to 65535/],
    ['postgres://h:0/db', /^--db "postgres:\/\/h:0\/db": the port 0 is not a number from 1 to 65535/],
    ['postgres://h/', /^--db "postgres:\/\/h\/" names no database \(add its name after the host/],
    ['postgres://h', /^--db "postgres:\/\/h" names no database/],
    ['postgres:///db', /^--db "postgres:\/\/\/db" names no host/],
    ['postgres://h/db?port=x', /^--db "postgres:\/\/h\/db\?port=x": the port "x" is not a number/],
  ])('refuses %s in one line', (db, message) => {
    const e = refusal(db);
    expect(e.code).toBe('invalid_input');
    expect(e.line).toMatch(message);
    expect(e.line).not.toContain('\n');
  });

  it('never repeats a password it refuses', () => {
    const e = refusal('postgres://user:hunter2@h:abc/db');
    expect(e.line).not.toContain('hunter2');
    expect(e.line).toContain('postgres://user:***@h:abc/db');
  });

  it('names where the value came from', () => {
    expect(refusal('http://x/db', { source: 'OCR_DATABASE_URL' }).line).toMatch(/^OCR_DATABASE_URL "http:\/\/x\/db"/);
  });

  it('takes an embedded data folder, of this version or of the one before', () => {
    const current = path.join(scratch, 'current');
    mkdirSync(current);
    writeFileSync(path.join(current, 'embedded.json'), '{}');
    expect(chooseDatabase(current)).toEqual({ kind: 'embedded', dataFolder: current, isNew: false });
    const previous = path.join(scratch, 'previous');
    mkdirSync(path.join(previous, 'pgdata'), { recursive: true });
    writeFileSync(path.join(previous, 'pgdata', 'PG_VERSION'), '17\n');
    expect(chooseDatabase(previous)).toEqual({ kind: 'embedded', dataFolder: previous, isNew: false });
  });

  it('takes a missing or empty folder only with --init, and creates nothing when it refuses', () => {
    const missing = path.join(scratch, 'missing', 'db');
    const e = refusal(missing);
    expect(e.line).toBe(`--db "${missing}": there is no embedded database in that folder (add --init to create one there, or give a postgres:// or postgresql:// URL (postgres://user:password@host:5432/dbname) or the folder of an embedded database)`);
    expect(existsSync(path.join(scratch, 'missing'))).toBe(false);
    expect(chooseDatabase(missing, { init: true })).toEqual({ kind: 'embedded', dataFolder: missing, isNew: true });
    const empty = path.join(scratch, 'empty');
    mkdirSync(empty);
    refusal(empty);
    expect(chooseDatabase(empty, { init: true })).toEqual({ kind: 'embedded', dataFolder: empty, isNew: true });
    expect(readdirSync(empty)).toEqual([]);
    // without an --init flag to give (the editor), the refusal says how to make one
    expect(refusal(missing, { source: 'ocr.embedded.dataDir', initFlag: false }).line).toContain(`create one with \`ocr --db "${missing}" --init db start\``);
  });

  it('refuses a folder with other things in it, even with --init, and a file', () => {
    const project = path.join(scratch, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'README.md'), 'mine');
    expect(refusal(project, { init: true }).line).toMatch(/^--db ".*project" is a folder without an embedded database, and not empty \(/);
    const file = path.join(project, 'README.md');
    expect(refusal(file, { init: true }).line).toMatch(/^--db ".*README\.md" is a file, not a folder \(give a postgres:\/\//);
    expect(readdirSync(project)).toEqual(['README.md']);
  });

  it('takes nothing, or the default data folder, without --init: the default is created when missing', () => {
    const fallback = path.join(scratch, 'data-home', 'ops-control-room', 'db');
    expect(chooseDatabase(undefined)).toEqual({ kind: 'embedded', dataFolder: fallback, isNew: true });
    expect(chooseDatabase('  ')).toEqual({ kind: 'embedded', dataFolder: fallback, isNew: true });
    expect(chooseDatabase(fallback)).toEqual({ kind: 'embedded', dataFolder: fallback, isNew: true });
  });
});

describe('openStore', () => {
  it('refuses a bad value before anything is created or dialed', async () => {
    const cwd = process.cwd();
    const here = path.join(scratch, 'cwd');
    mkdirSync(here);
    process.chdir(here);
    try {
      for (const db of ['http://example.com/db', 'postgress://h/db', 'postgres://h:abc/db', 'not-yet-a-folder']) {
        await expect(openStore(db), db).rejects.toMatchObject({ code: 'invalid_input' });
      }
    } finally {
      process.chdir(cwd);
    }
    expect(readdirSync(here)).toEqual([]);
  });

  it('takes sslmode=require and answers a server without SSL in one line, without node-postgres warning about it', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const db = await createTestDatabase('ocr_open_ssl');
    try {
      const url = new URL(db.url);
      url.searchParams.set('sslmode', 'require');
      const error = await openStore(url.toString()).then(
        async (store) => {
          await store.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      // a server that does SSL with a certificate node-postgres trusts would have been fine
      if (error) {
        expect(error).toBeInstanceOf(OcrError);
        expect((error as OcrError).code).toBe('db_unreachable');
        expect((error as OcrError).line).toMatch(/^cannot (use|reach) the database at postgres:\/\/.*sslmode=require: .+ \(check that it is running/);
        expect((error as OcrError).line).not.toContain('\n');
      }
      await new Promise((r) => setTimeout(r, 10));
      expect(warnings.filter((w) => /sslmode|SSL modes/i.test(w))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await db.drop();
    }
  });
});
