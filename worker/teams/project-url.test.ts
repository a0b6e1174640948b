import { describe, expect, it } from 'vitest';
import { opsApiUrl } from './project-url';

describe('opsApiUrl', () => {
  const ref = 'abcdefghijklmnopqrst';
  it("names the function of the project a direct or pooler connection string reaches", () => {
    expect(opsApiUrl(`postgres://postgres:pw@db.${ref}.supabase.co:5432/postgres`)).toBe(`https://${ref}.supabase.co/functions/v1/ops-api`);
    expect(opsApiUrl(`postgres://postgres.${ref}:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres`)).toBe(`https://${ref}.supabase.co/functions/v1/ops-api`);
  });
  it('knows none for any other database', () => {
    for (const url of [undefined, '', '/home/ann/ocr-db', 'postgres://ocr@127.0.0.1:5432/ocr', `postgres://postgres@aws-0-x.pooler.supabase.com:5432/postgres`, 'not a url']) {
      expect(opsApiUrl(url)).toBeUndefined();
    }
  });
});
