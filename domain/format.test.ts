import { describe, expect, it } from 'vitest';
import { formatDuration, oneLine, runDuration, runDurationMs, shortId, timeAgo } from './format';

const t0 = Date.UTC(2026, 0, 1);
const at = (ms: number): string => new Date(t0 + ms).toISOString();

describe('durations and ids for people', () => {
  it('formats every range the same way wherever it is shown', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_460)).toBe('12.4 s');
    expect(formatDuration(59_990)).toBe('59.9 s');
    expect(formatDuration(185_000)).toBe('3 min 05 s');
    expect(formatDuration(7_260_000)).toBe('2 h 01 min');
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });

  it("measures a run from its start to its end, or to now while it runs", () => {
    const run = { status: 'running', started_at: at(0), finished_at: null, updated_at: at(0) };
    expect(runDurationMs(run, t0 + 4_000)).toBe(4_000);
    expect(runDuration({ ...run, status: 'succeeded', finished_at: at(2_500) }, t0 + 60_000)).toBe('2.5 s');
    // recovered as failed without a finish time: until its last update, not forever
    expect(runDurationMs({ ...run, status: 'failed', updated_at: at(9_000) }, t0 + 60_000)).toBe(9_000);
    expect(runDuration({ ...run, started_at: null })).toBe('');
    // waiting at an approval gate since 3 s in: still counting
    expect(runDurationMs({ ...run, status: 'waiting', updated_at: at(3_000) }, t0 + 60_000)).toBe(60_000);
  });

  it('says how long ago, shortens ids and flattens text to one line', () => {
    expect(timeAgo(at(0), t0 + 3_000)).toBe('3.0 s ago');
    expect(timeAgo(null)).toBe('');
    expect(shortId('0b9f2c4e-1111-2222-3333-444455556666')).toBe('0b9f2c4e');
    expect(oneLine('npm test\n  && npm run lint', 12)).toBe('npm test &&…');
  });
});
