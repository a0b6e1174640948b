// The @vscode-elements components the Runboard uses, registered once, and their JSX types. React 19 sets properties on
// custom elements and listens to their events, so no wrapper library is needed.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-icon/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textarea/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-toolbar-button/index.js';
import type { DetailedHTMLProps, HTMLAttributes } from 'react';

/** What the page reads back from the value-holding elements. */
export interface ValueElement extends HTMLElement {
  value: string;
}
interface CheckedElement extends HTMLElement {
  checked: boolean;
}

type CustomElement<P, E extends HTMLElement = HTMLElement> = DetailedHTMLProps<HTMLAttributes<E>, E> & P;

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements {
      'vscode-badge': CustomElement<{ variant?: 'default' | 'counter' | 'activity-bar-counter' | 'tab-header-counter' }>;
      'vscode-button': CustomElement<{ disabled?: boolean; secondary?: boolean; icon?: string; iconAfter?: string; type?: 'button' | 'submit' }>;
      'vscode-checkbox': CustomElement<{ checked?: boolean; label?: string; disabled?: boolean }, CheckedElement>;
      'vscode-icon': CustomElement<{ name: string; label?: string; actionIcon?: boolean; spin?: boolean; size?: number }>;
      'vscode-option': CustomElement<{ value?: string; selected?: boolean; description?: string }>;
      'vscode-progress-ring': CustomElement<Record<never, never>>;
      'vscode-single-select': CustomElement<{ value?: string; label?: string; disabled?: boolean }, ValueElement>;
      'vscode-textarea': CustomElement<{ value?: string; placeholder?: string; label?: string; rows?: number; resize?: string }, ValueElement>;
      'vscode-toolbar-button': CustomElement<{ icon?: string; label?: string; toggleable?: boolean; checked?: boolean }>;
      'vscode-textfield': CustomElement<{ value?: string; placeholder?: string; label?: string; disabled?: boolean; type?: string }, ValueElement>;
    }
  }
}

/**
 * A ref that listens to an element's own event. vscode-single-select fires a `change` that does not bubble, and React
 * hears events at its root, so `onChange` on the element would never run.
 */
export function listenTo<E extends HTMLElement>(type: string, handler: (element: E) => void): (element: E | null) => (() => void) | undefined {
  return (element) => {
    if (!element) return undefined;
    const listener = () => handler(element);
    element.addEventListener(type, listener);
    return () => element.removeEventListener(type, listener);
  };
}
