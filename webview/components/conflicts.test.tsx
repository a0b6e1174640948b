// @vitest-environment jsdom
import '../test/dom';
import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import { connected, lane } from '../test/board';

describe('conflicts on the Runboard', () => {
  it('lists the lanes that would conflict if merged now and marks each lane; a lane without a conflict is not marked', async () => {
    const { host, s } = await connected();
    expect(screen.queryByRole('alert', { name: 'Lane conflicts' })).toBeNull();
    await host.notify('conflicts', {
      session_id: s.id,
      user_branch: 'main',
      checked_at: new Date().toISOString(),
      error: null,
      conflicts: [
        { a: 'A', b: 'B', against: 'lane', files: ['src/app.ts'] },
        { a: 'C', b: 'main', against: 'user-branch', files: ['README.md', 'package.json'] },
      ],
    });
    const banner = screen.getByRole('alert', { name: 'Lane conflicts' });
    expect(within(banner).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'lanes A and B conflict in 1 file: src/app.ts',
      'lane C and your branch main conflict in 2 files: README.md, package.json',
    ]);
    expect(within(lane('A')).getByRole('img', { name: 'Lane A conflicts with lane B' })).toBeTruthy();
    expect(within(lane('B')).getByRole('img', { name: 'Lane B conflicts with lane A' })).toBeTruthy();
    expect(within(lane('C')).getByRole('img', { name: 'Lane C conflicts with your branch' })).toBeTruthy();
    expect(within(lane('D')).queryByRole('img', { name: /conflicts/ })).toBeNull();

    // the radar looked again and found none: the marks go
    await host.notify('conflicts', { session_id: s.id, user_branch: 'main', checked_at: new Date().toISOString(), error: null, conflicts: [] });
    expect(screen.queryByRole('alert', { name: 'Lane conflicts' })).toBeNull();
    expect(within(lane('A')).queryByRole('img', { name: /conflicts/ })).toBeNull();
    // another session's findings are not this one's
    await host.notify('conflicts', { session_id: '00000000-0000-4000-8000-000000000000', user_branch: 'main', checked_at: new Date().toISOString(), error: null, conflicts: [{ a: 'A', b: 'B', against: 'lane', files: ['x'] }] });
    expect(screen.queryByRole('alert', { name: 'Lane conflicts' })).toBeNull();
  });
});
