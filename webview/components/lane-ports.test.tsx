// @vitest-environment jsdom
// A lane's header shows the ports its runs get, from the snapshot, and follows the host's `ports` notifications: a lane
// leasing its range, the session archived (none left), another session's ports never shown.
import '../test/dom';
import { describe, expect, it } from 'vitest';
import '../elements';
import type { LanePorts } from '../../domain';
import { lane } from '../test/board';
import { run, session, snapshot, t0 } from '../test/fixtures';
import { mountRunboard } from '../test/mount';

const portsOf = (sessionId: string, lane: string, base: number, count = 10): LanePorts => ({
  session_id: sessionId,
  lane,
  port_base: base,
  port_count: count,
  leased_at: new Date(t0).toISOString(),
  leased_by: 'worker-1',
});

const shownPorts = (name: string) => lane(name).querySelector('.lane-header .lane-ports');

describe('a lane\'s ports', () => {
  it('shows the range of each lane that has one in its header, and what its runs get in the tooltip', async () => {
    const { host } = mountRunboard();
    const s = session();
    await host.notify('snapshot', snapshot(s, [run(s, { status: 'running' })], { ports: [portsOf(s.id, 'A', 20000)] }));
    expect(shownPorts('A')?.textContent).toBe('ports 20000–20009');
    expect(shownPorts('A')?.getAttribute('title')).toBe('Its runs get OCR_PORT=20000 and OCR_PORT_COUNT=10; no other lane of this database has these ports');
    expect(shownPorts('B')).toBeNull();

    // lane B's first run leased a range; a notification for another session changes nothing
    await host.notify('ports', { session_id: s.id, ports: [portsOf(s.id, 'A', 20000), portsOf(s.id, 'B', 20010, 1)] });
    expect(shownPorts('B')?.textContent).toBe('port 20010');
    await host.notify('ports', { session_id: '00000000-0000-4000-8000-000000000000', ports: [] });
    expect(shownPorts('A')?.textContent).toBe('ports 20000–20009');

    // archived: the ranges are free again, and gone from the board
    await host.notify('ports', { session_id: s.id, ports: [] });
    expect(shownPorts('A')).toBeNull();
    expect(shownPorts('B')).toBeNull();
  });

  it('shows none for a snapshot without ports (a host of an earlier version)', async () => {
    const { host } = mountRunboard();
    const s = session();
    await host.notify('snapshot', snapshot(s, []));
    expect(shownPorts('A')).toBeNull();
  });
});
