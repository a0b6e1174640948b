// A corpus of database URLs and folders given to openStore (--db, OCR_DATABASE_URL, the editor's settings): a value
// that is neither a PostgreSQL URL nor an embedded database's folder is refused in one line that names it, before
// anything is created or started; a URL of a server that does not answer says where it looked. A password never shows.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OcrError, type OcrErrorCode } from './errors';
import * as open from './open';

// What worker/store/open.ts (chooseDatabase) decides a value names: once, `http://…` and `postgress://…` were taken for
// embedded data folders and a server was started in ./http:/….

const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-open-bad-input-'));
const aFile = path.join(scratch, 'a-file');
const notEmpty = path.join(scratch, 'not-empty');
const empty = path.join(scratch, 'empty');
const missing = path.join(scratch, 'missing', 'db');
writeFileSync(aFile, 'not a folder');
mkdirSync(notEmpty);
writeFileSync(path.join(notEmpty, 'notes.txt'), 'mine');
mkdirSync(empty);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// prettier-ignore
const rows: Array<[name: string, value: string, code: OcrErrorCode, message: RegExp]> = [
  ['an http URL', 'http://example.com/db', 'invalid_input', /^--db "http:\/\/example\.com\/db" .*postgres:\/\//],
  ['an https URL', 'https://db.example.com/ops', 'invalid_input', /^--db "https:\/\/db\.example\.com\/ops" /],
  ['a misspelt scheme', 'postgress://h/db', 'invalid_input', /^--db "postgress:\/\/h\/db" /],
  ['another database', 'mysql://root@h/db', 'invalid_input', /^--db "mysql:\/\/root@h\/db" /],
  ['an ftp URL', 'ftp://h/db', 'invalid_input', /^--db "ftp:\/\/h\/db" /],
  ['a port that is not a number', 'postgres://h:abc/db', 'invalid_input', /^--db "postgres:\/\/h:abc\/db".*port "abc"/],
  ['a port past 65535', 'postgres://h:99999/db', 'invalid_input', /^--db "postgres:\/\/h:99999\/db".*port 99999/],
  ['port zero', 'postgres://h:0/db', 'invalid_input', /^--db "postgres:\/\/h:0\/db".*port 0/],
  ['no host', 'postgres:///db', 'invalid_input', /^--db "postgres:\/\/\/db".*host/],
  ['no database', 'postgres://h', 'invalid_input', /^--db "postgres:\/\/h".*database/],
  ['an empty database name', 'postgres://h/', 'invalid_input', /^--db "postgres:\/\/h\/".*database/],
  ['a database name with a slash', 'postgres://h/a/b', 'invalid_input', /^--db "postgres:\/\/h\/a\/b".*database/],
  ['a database name that is not URL encoding', 'postgres://h/%zz', 'invalid_input', /^--db "postgres:\/\/h\/%zz".*database name/],
  ['a password in a bad URL stays hidden', 'postgres://user:s3cret@h:abc/db', 'invalid_input', /^--db "postgres:\/\/user:\*\*\*@h:abc\/db"(?!.*s3cret)/],
  ['a file, not a folder', aFile, 'invalid_input', /is a file, not a folder/],
  ['a folder of something else', notEmpty, 'invalid_input', /not-empty" is a folder without an embedded database, and not empty/],
  ['a folder that does not exist', missing, 'invalid_input', /there is no embedded database in that folder \(add --init/],
  ['an empty folder', empty, 'invalid_input', /there is no embedded database in that folder/],
  ['sslmode=require of a host that does not exist', 'postgres://h/db?sslmode=require', 'db_unreachable', /^cannot (reach|use) the database at postgres:\/\/h\/db\?sslmode=require: /],
  ['a server that does not answer', 'postgres://nobody@127.0.0.1:1/none', 'db_unreachable', /^cannot (reach|use) the database at postgres:\/\/nobody@127\.0\.0\.1:1\/none: .*ECONNREFUSED/],
  ['spaces around a URL', '  postgres://nobody@127.0.0.1:1/none  ', 'db_unreachable', /^cannot (reach|use) the database at postgres:\/\/nobody@127\.0\.0\.1:1\/none: /],
  ['a scheme in capitals', 'POSTGRESQL://nobody@127.0.0.1:1/none', 'db_unreachable', /^cannot (reach|use) the database at postgresql:\/\/nobody@127\.0\.0\.1:1\/none: /i],
  ['a password of a server that does not answer stays hidden', 'postgres://nobody:s3cret@127.0.0.1:1/none', 'db_unreachable', /^cannot (reach|use) the database at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: (?!.*s3cret)/],
];

describe('openStore: database URLs and folders, the bad-input corpus', () => {
  it.each(rows)('%s', async (_name, value, code, message) => {
    const before = readdirSync(scratch).sort();
    const error = await open.openStore(value).then(
      async (store) => {
        await store.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OcrError);
    expect((error as OcrError).code).toBe(code);
    expect((error as OcrError).line).toMatch(message);
    expect((error as OcrError).line).not.toMatch(/\n/);
    // nothing created: no folder named after a URL, no new data folder
    expect(readdirSync(scratch).sort()).toEqual(before);
    expect(existsSync(missing)).toBe(false);
    expect(readdirSync(empty)).toEqual([]);
    if (/^[a-z]+:/i.test(value.trim())) expect(existsSync(path.resolve(value.trim()))).toBe(false);
  });
});
