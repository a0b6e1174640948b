/// <reference types="mocha" />
// A database of its own for one UI test file. Registered before useVsCode: the code-server it starts, and the
// extension host in it, take OCR_DATABASE_URL from this process's environment.
import { openStore } from '../../../worker/store/open';
import type { Store } from '../../../worker/store/store';
import { createTestDatabase } from '../../../worker/store/testing';

export interface TestDatabase {
  url: string;
  /** a store of the test's own on that database, opened on first use and closed after the file's tests */
  store(): Promise<Store>;
}

export function useTestDatabase(prefix: string): () => TestDatabase {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let store: Promise<Store> | undefined;
  const before_ = process.env.OCR_DATABASE_URL;
  before(async () => {
    db = await createTestDatabase(prefix);
    process.env.OCR_DATABASE_URL = db.url;
  });
  after(async () => {
    if (before_ === undefined) delete process.env.OCR_DATABASE_URL;
    else process.env.OCR_DATABASE_URL = before_;
    await (await store?.catch(() => undefined))?.close();
    await db?.drop();
  });
  return () => {
    const opened = db;
    if (!opened) throw new Error('the test database is not there: its `before all` hook failed');
    return { url: opened.url, store: () => (store ??= openStore(opened.url)) };
  };
}
