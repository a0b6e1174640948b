// What the board's component tests share: a page that has had its first snapshot, a lane found by its name, and
// typing into a field as the user does.
import { act, screen } from '@testing-library/react';
import type { ValueElement } from '../elements';
import type { Run } from '../../domain';
import { session, snapshot } from './fixtures';
import { mountRunboard } from './mount';

export function lane(name: string): HTMLElement {
  return screen.getByRole('region', { name: `Lane ${name}` });
}

export async function type(field: Element, value: string): Promise<void> {
  await act(async () => {
    (field as ValueElement).value = value;
    field.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
  });
}

export async function connected(runs: (s: ReturnType<typeof session>) => Run[] = () => []) {
  const mounted = mountRunboard();
  const s = session();
  const rows = runs(s);
  await mounted.host.notify('snapshot', snapshot(s, rows));
  return { ...mounted, s, rows };
}

