// Test support: every test file gets its own database on the machine's PostgreSQL, dropped at the end.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const testServerUrl = (): string =>
  process.env.OCR_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export async function createTestDatabase(prefix = 'ocr_test'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const admin = testServerUrl();
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
