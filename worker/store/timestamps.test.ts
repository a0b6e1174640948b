import { describe, expect, it } from 'vitest';
import { isoTimestamp } from './timestamps';

describe('isoTimestamp', () => {
  it('gives what Date gives for every form PostgreSQL prints', () => {
    for (const text of [
      '2026-11-30 06:21:00.123456+00',
      '2026-11-30 06:21:00.123999+00',
      '2026-11-30 06:21:00.9999+00',
      '2026-11-30 06:21:00.5+00',
      '2026-11-30 06:21:00.05+00',
      '2026-11-30 06:21:00+00',
      '1999-12-31 23:59:59.999999+00',
      // another session time zone: through Date
      '2026-11-30 07:21:00.123456+01',
      '2026-11-30 01:51:00.5-04:30',
    ]) {
      expect(isoTimestamp(text), text).toBe(new Date(text).toISOString());
    }
  });
});
