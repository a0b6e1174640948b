// supabase/schema.sql must be what the migrations build: regenerated here and compared with the committed file.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSchema, normaliseDump, OUT_OF_DATE, schemaFile } from './schema-dump';

describe('supabase/schema.sql', () => {
  it('is what the migrations build', async () => {
    const generated = await generateSchema();
    expect(readFileSync(schemaFile(), 'utf8'), OUT_OF_DATE).toBe(generated);
  });

  it('leaves out of a dump only what varies between runs and versions', () => {
    const dump = [
      '--',
      '-- PostgreSQL database dump',
      '--',
      '',
      '\\restrict abc123',
      '',
      '-- Dumped from database version 15.20',
      '-- Dumped by pg_dump version 15.20',
      '',
      'SET statement_timeout = 0;',
      "SELECT pg_catalog.set_config('search_path', '', false);",
      '',
      '',
      'CREATE FUNCTION ops.f() RETURNS void',
      '    LANGUAGE plpgsql',
      "    SET enable_seqscan TO 'off'",
      '    AS $$ begin end $$;',
      '',
      '',
      '',
      '\\unrestrict abc123',
    ].join('\n');
    expect(normaliseDump(dump)).toBe(
      [
        '--',
        '-- PostgreSQL database dump',
        '--',
        '',
        'CREATE FUNCTION ops.f() RETURNS void',
        '    LANGUAGE plpgsql',
        "    SET enable_seqscan TO 'off'",
        '    AS $$ begin end $$;',
        '',
      ].join('\n'),
    );
  });
});
