// @vitest-environment jsdom
import '../test/dom';
import { act } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { ValueElement } from '../elements';
import '../elements';
import { connected } from '../test/board';
import { session } from '../test/fixtures';

describe('the board', () => {
  it('switches sessions through the picker, archived ones behind a toggle', async () => {
    const { host, s } = await connected();
    const other = session({ title: 'Other work' });
    const archived = session({ title: 'Old release', status: 'archived' });
    await host.notify('sessions', { sessions: [s, other, archived] });
    const options = () => Array.from(document.querySelectorAll('.session-picker vscode-option')).map((o) => o.textContent);
    expect(options()).toEqual([s.title, 'Other work']);
    const toggle = document.querySelector('vscode-checkbox') as HTMLElement & { checked: boolean };
    await act(async () => {
      toggle.checked = true;
      toggle.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(options()).toEqual([s.title, 'Other work', 'Old release (archived)']);
    const picker = document.querySelector('.session-picker') as ValueElement;
    await act(async () => {
      picker.value = other.id;
      // as vscode-single-select fires it: without bubbling
      picker.dispatchEvent(new Event('change'));
    });
    expect(host.request('selectSession').params).toEqual({ session_id: other.id });
  });
});
