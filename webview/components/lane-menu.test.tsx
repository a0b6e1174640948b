// @vitest-environment jsdom
// Land Lane… and Reset Lane in a lane's menu: each asks the editor for its command on that lane, and says beside the
// menu why it could not.
import '../test/dom';
import { fireEvent, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import { lane } from '../test/board';
import { session, snapshot } from '../test/fixtures';
import { mountRunboard } from '../test/mount';

function choose(laneName: string, label: string): void {
  fireEvent.click(lane(laneName).querySelector('.lane-menu vscode-toolbar-button')!);
  const menu = within(lane(laneName)).getByRole('menu', { name: `Actions of lane ${laneName}` });
  fireEvent.click(within(menu).getByRole('menuitem', { name: label }));
}

describe("a lane's menu: landing", () => {
  it('Land Lane… asks the editor with the session and lane; a refusal shows beside the menu, naming the lane', async () => {
    const mounted = mountRunboard();
    const s = session({ lanes: ['A', 'B'] });
    await mounted.host.notify('snapshot', snapshot(s, []));
    const items = (() => {
      fireEvent.click(lane('A').querySelector('.lane-menu vscode-toolbar-button')!);
      const labels = within(lane('A')).getAllByRole('menuitem').map((i) => i.textContent);
      fireEvent.keyDown(within(lane('A')).getByRole('menu'), { key: 'Escape' });
      return labels;
    })();
    expect(items).toEqual(['Run Runbook…', 'Land Lane…', 'Reset Lane']);

    choose('B', 'Land Lane…');
    expect(mounted.host.request('landLane').params).toEqual({ session_id: s.id, lane: 'B' });
    await mounted.host.fail(mounted.host.request('landLane'), 'patch_conflict', 'lane B conflicts with main in 1 file: app.ts');
    expect(within(lane('B')).getByRole('alert').textContent).toBe('Could not land lane B: lane B conflicts with main in 1 file: app.ts');

    choose('B', 'Reset Lane');
    expect(within(lane('B')).queryByRole('alert')).toBeNull();
    expect(mounted.host.request('resetLane').params).toEqual({ session_id: s.id, lane: 'B' });
    await mounted.host.answer(mounted.host.request('resetLane'), { reset: true });
    expect(within(lane('B')).queryByRole('alert')).toBeNull();
  });
});
