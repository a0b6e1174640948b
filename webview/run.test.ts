import { describe, expect, it } from 'vitest';
import { liveness } from './run';
import { run, session, t0 } from './test/fixtures';

describe('a run', () => {
  it('reads its worker as alive while the lease is well ahead, and as expiring near its end', () => {
    const s = session();
    const r = run(s, { status: 'running', heartbeat_at: new Date(t0).toISOString(), lease_expires_at: new Date(t0 + 30_000).toISOString() });
    expect(liveness(r, t0 + 5_000)).toBe('live');
    expect(liveness(r, t0 + 25_000)).toBe('expiring');
    expect(liveness({ ...r, status: 'succeeded' }, t0)).toBe('none');
  });
});
