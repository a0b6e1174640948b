// The Sessions tree's lane sizes: measured once when first shown, kept, measured again at most every 30 s or as soon as a
// run of the lane ended (again after a measure in flight), one lane at a time; a real lane folder measured for real.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../worker/engine/git.test-support';
import { laneFolder } from '../../worker/engine/worktree';
import type { DiskUsage } from '../../worker/lanes/disk-usage';
import { LaneSizes } from './lane-sizes';

const dir = tempDir('ocr-lane-sizes-');
afterAll(() => dir.remove());

const session = '4ca054cd-0000-4000-8000-000000000000';
const usage = (bytes: number): DiskUsage => ({ bytes, entries: 1, symlinks: 0, sharedFiles: 0, sharedBytes: 0, unreadable: 0 });
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

function sizes() {
  let now = 1_000_000;
  const measured: string[] = [];
  const pending: Array<() => void> = [];
  let shown = 0;
  let bytes = 100;
  const lanes = new LaneSizes({
    root: () => '/roots/here',
    onDidMeasure: () => void shown++,
    now: () => now,
    measure: (folder) => {
      measured.push(folder);
      return new Promise((resolve) => pending.push(() => resolve(usage(bytes))));
    },
  });
  return {
    lanes,
    measured,
    shown: () => shown,
    advance: (ms: number) => void (now += ms),
    setBytes: (b: number) => void (bytes = b),
    /** the measures in flight end */
    finish: async () => {
      while (pending.length > 0) {
        pending.shift()!();
        await settle();
      }
    },
  };
}

describe('lane sizes', () => {
  it('measures a lane when first shown, keeps it, and measures again only after 30 s', async () => {
    const t = sizes();
    expect(t.lanes.get(session, 'A')).toBeUndefined();
    expect(t.lanes.get(session, 'A')).toBeUndefined();
    expect(t.measured).toEqual([laneFolder('/roots/here', session, 'A')]);
    await t.finish();
    expect(t.shown()).toBe(1);
    expect(t.lanes.get(session, 'A')?.usage.bytes).toBe(100);
    t.advance(29_000);
    t.setBytes(200);
    expect(t.lanes.get(session, 'A')?.usage.bytes).toBe(100);
    expect(t.measured).toHaveLength(1);
    t.advance(1_000);
    expect(t.lanes.get(session, 'A')?.usage.bytes, 'the old size is shown while the new one is measured').toBe(100);
    await t.finish();
    expect(t.measured).toHaveLength(2);
    expect(t.lanes.get(session, 'A')?.usage.bytes).toBe(200);
  });

  it('measures again as soon as a run of the lane ended, once more if it ended during a measure, one lane at a time', async () => {
    const t = sizes();
    t.lanes.get(session, 'A');
    t.lanes.get(session, 'B');
    expect(t.measured, 'one at a time').toHaveLength(1);
    await t.finish();
    expect(t.measured).toHaveLength(2);
    t.lanes.runEnded(session, 'A');
    expect(t.measured).toHaveLength(3);
    t.lanes.runEnded(session, 'A'); // during that measure
    await t.finish();
    expect(t.measured.filter((f) => f.endsWith(`${path.sep}A`))).toHaveLength(3);
    t.lanes.runEnded(session, 'C'); // never shown: nothing to do
    expect(t.measured).toHaveLength(4);
  });

  it('measures a real lane folder under the root', async () => {
    const root = path.join(dir.path, 'worktrees');
    const folder = laneFolder(root, session, 'A');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'big.bin'), 'x'.repeat(100_000));
    let done!: () => void;
    const measured = new Promise<void>((resolve) => (done = resolve));
    const lanes = new LaneSizes({ root: () => root, onDidMeasure: () => done() });
    lanes.get(session, 'A');
    await measured;
    const size = lanes.get(session, 'A')!;
    expect(size.folder).toBe(folder);
    expect(size.usage.bytes).toBeGreaterThanOrEqual(100_000);
    lanes.dispose();
  });
});
