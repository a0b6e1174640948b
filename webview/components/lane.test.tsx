// @vitest-environment jsdom
import '../test/dom';
import { describe, expect, it } from 'vitest';
import '../elements';
import { connected, lane } from '../test/board';
import { run } from '../test/fixtures';

describe('a lane', () => {
  it('keeps every action in the tab order, lane after lane', async () => {
    await connected((s) => [run(s, { status: 'running' }), run(s, { lane: 'B', status: 'running' })]);
    const order = Array.from(document.querySelectorAll<HTMLElement>('.lane-intent, .lane-run, .log-scroll, [role="button"]'))
      .map((el) => el.closest('.lane')?.getAttribute('data-lane'))
      .filter(Boolean);
    // DOM order is tab order: every focusable of lane A comes before any of lane B
    expect(order.lastIndexOf('A')).toBeLessThan(order.indexOf('B'));
    expect(lane('A').querySelector('.log-scroll')?.getAttribute('tabindex')).toBe('0');
  });
});
