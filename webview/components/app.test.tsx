// @vitest-environment jsdom
import '../test/dom';
import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import '../elements';
import { connected, type } from '../test/board';
import { run, snapshot } from '../test/fixtures';
import { mountRunboard } from '../test/mount';

describe('the board', () => {
  it('shows the session, its summary, and one lane per configured lane in lane order', async () => {
    const { host, s } = await connected((s) => [run(s, { status: 'running' }), run(s, { lane: 'B' }), run(s, { lane: 'C', status: 'failed' })]);
    expect(host.sent[0]).toMatchObject({ method: 'ready' });
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe(s.title);
    expect(screen.getByText('make CI green')).toBeTruthy();
    expect(screen.getByText(/team\/app\.git/)).toBeTruthy();
    expect(screen.getByRole('status', { name: 'Runs by status' }).textContent).toBe('1 running · 1 queued · 0 succeeded · 1 failed · 0 canceled');
    const names = screen.getAllByRole('region').map((r) => r.getAttribute('aria-label'));
    expect(names).toEqual(['Lane A', 'Lane B', 'Lane C', 'Lane D']);
  });

  it('says it is connecting until the first snapshot, and offers New Session when there is none', async () => {
    const { host } = mountRunboard();
    expect(screen.getByText(/Connecting to Ops Control Room/)).toBeTruthy();
    await host.notify('snapshot', snapshot(null));
    expect(screen.getByText(/No session yet/)).toBeTruthy();
    fireEvent.click(screen.getByText('New Session'));
    const form = screen.getByRole('form', { name: 'New session' });
    await type(form.querySelector('.new-session-title')!, 'Release 2.0');
    await type(form.querySelector('.new-session-intent')!, 'ship it');
    fireEvent.click(within(form).getByText('Create'));
    expect(host.request('createSession').params).toEqual({ title: 'Release 2.0', intent: 'ship it' });
    await host.answer(host.request('createSession'), { session_id: crypto.randomUUID() });
    expect(screen.queryByRole('form', { name: 'New session' })).toBeNull();
  });
});
