import { describe, expect, it } from 'vitest';
import { ComparisonRequest, describeChecks, parseCheckSummary } from './compare';

describe('parseCheckSummary', () => {
  it('reads vitest totals, not its Test Files line', () => {
    const log = [' ✓ a.test.ts (3 tests)', '', ' Test Files  1 failed | 2 passed (3)', '      Tests  2 failed | 5 passed | 1 skipped (8)', '   Duration  1.2s'];
    expect(parseCheckSummary(log)).toEqual({ passed: 5, failed: 2, skipped: 1, line: 'Tests  2 failed | 5 passed | 1 skipped (8)' });
  });

  it('reads vitest in colour', () => {
    expect(parseCheckSummary(['\x1b[2m      Tests \x1b[22m \x1b[1m\x1b[32m4 passed\x1b[39m\x1b[22m\x1b[90m (4)\x1b[39m'])).toMatchObject({ passed: 4, failed: 0 });
  });

  it('reads jest, pytest and cargo', () => {
    expect(parseCheckSummary(['Tests:       1 failed, 3 passed, 4 total'])).toMatchObject({ passed: 3, failed: 1, skipped: 0 });
    expect(parseCheckSummary(['============ 3 passed, 1 failed, 2 skipped in 0.12s ============'])).toMatchObject({ passed: 3, failed: 1, skipped: 2 });
    expect(parseCheckSummary(['=== 1 failed, 2 passed, 1 error in 3.40s ==='])).toMatchObject({ passed: 2, failed: 2 });
    expect(parseCheckSummary(['test result: FAILED. 3 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out'])).toMatchObject({ passed: 3, failed: 1, skipped: 2 });
  });

  it('adds up mocha and node --test lines', () => {
    expect(parseCheckSummary(['', '  3 passing (12ms)', '  2 pending', '  1 failing', '', '  1) a test:'])).toEqual({ passed: 3, failed: 1, skipped: 2, line: '3 passing (12ms), 2 pending, 1 failing' });
    expect(parseCheckSummary(['# tests 4', '# pass 3', '# fail 1', '# skipped 0'])).toMatchObject({ passed: 3, failed: 1, skipped: 0 });
  });

  it('takes the last summary of the log, and nothing from text that only mentions tests', () => {
    expect(parseCheckSummary(['Tests:       1 failed, 1 total', 'Tests:       2 passed, 2 total'])).toMatchObject({ passed: 2, failed: 0 });
    expect(parseCheckSummary(['all tests passed', 'building...', 'Tests are great'])).toBeUndefined();
  });

  it('describes checks for the table', () => {
    expect(describeChecks({ state: 'none' })).toBe('—');
    expect(describeChecks({ state: 'failed', exitCode: 2 })).toBe('failed (exit 2)');
    expect(describeChecks({ state: 'failed', exitCode: 1, counts: { passed: 5, failed: 2, skipped: 0, line: '' } })).toBe('5 passed, 2 failed');
  });
});

describe('ComparisonRequest', () => {
  const session_id = '3f1c2a4e-0b7d-4c55-9a8e-2d7a9f0e6b11';
  it('names the field of a bad request', () => {
    const one = ComparisonRequest.safeParse({ session_id, intent: 'fix it', attempts: [{ lane: 'A' }] });
    expect(one.success || one.error.issues[0]).toMatchObject({ path: ['attempts'], message: 'a comparison needs at least 2 attempts, each in its own lane' });
    const twice = ComparisonRequest.safeParse({ session_id, intent: 'fix it', attempts: [{ lane: 'A' }, { lane: 'A' }] });
    expect(twice.success || twice.error.issues[0]).toMatchObject({ path: ['attempts', 1, 'lane'] });
    const verify = ComparisonRequest.safeParse({ session_id, intent: 'fix it', attempts: [{ lane: 'A' }, { lane: 'B' }], verify: '  ' });
    expect(verify.success || verify.error.issues[0]).toMatchObject({ path: ['verify'] });
  });
});
