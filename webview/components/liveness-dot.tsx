// Whether the worker that holds a running run is alive: a dot that pulses with each heartbeat, grey once the lease is
// about to expire.
import type { Run } from '../../domain';
import { liveness } from '../run';

export function LivenessDot({ run, now }: { run: Run; now: number }) {
  const live = liveness(run, now);
  if (live === 'none') return null;
  const label = live === 'live' ? 'Heartbeats arriving' : 'No heartbeat: the lease is about to expire';
  return (
    <span className={`liveness ${live}`} role="img" aria-label={label} title={label}>
      {/* a new key per heartbeat restarts the pulse */}
      <span key={run.heartbeat_at ?? ''} className="liveness-dot" />
    </span>
  );
}
