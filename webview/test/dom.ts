// What jsdom lacks for the Runboard's tests, filled in: the parts of ElementInternals that form-associated
// @vscode-elements call, ResizeObserver, innerText, the codicon stylesheet link the icons look for, and a layout for
// log viewports (jsdom lays nothing out, so a log's scroll box gets a fixed size and a real scrollTop).
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

// Lit's development build (which tests load) warns that it is one, and about elements that update twice; neither
// says anything about the Runboard.
(globalThis as { litIssuedWarnings?: Set<string> }).litIssuedWarnings = new Set(['dev-mode', 'change-in-update']);

export const viewport = { width: 600, height: 180 };

const internals = globalThis.ElementInternals?.prototype as unknown as Record<string, unknown> | undefined;
if (internals) {
  internals['setValidity'] ??= () => {};
  internals['setFormValue'] ??= () => {};
  internals['checkValidity'] ??= () => true;
  internals['reportValidity'] ??= () => true;
}

globalThis.ResizeObserver ??= class {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
};

if (!('innerText' in HTMLElement.prototype)) {
  Object.defineProperty(HTMLElement.prototype, 'innerText', {
    get(this: HTMLElement) {
      return this.textContent ?? '';
    },
    set(this: HTMLElement, value: string) {
      this.textContent = value;
    },
  });
}

if (!document.getElementById('vscode-codicon-stylesheet')) {
  const link = document.createElement('link');
  link.id = 'vscode-codicon-stylesheet';
  link.rel = 'stylesheet';
  link.href = 'codicon.css';
  document.head.appendChild(link);
}

// ---- log viewport layout --------------------------------------------------------------------------------------

const isViewport = (el: Element): boolean => el.classList.contains('log-scroll');
const scrollTops = new WeakMap<Element, number>();

function contentHeight(el: HTMLElement): number {
  const sizer = el.querySelector<HTMLElement>('.log-sizer');
  return Math.max(viewport.height, sizer ? parseFloat(sizer.style.height) || 0 : 0);
}

function inherit<T>(name: string): (this: Element) => T {
  const own = Object.getOwnPropertyDescriptor(Element.prototype, name);
  return function (this: Element) {
    return own?.get?.call(this) as T;
  };
}

const original = {
  clientHeight: inherit<number>('clientHeight'),
  clientWidth: inherit<number>('clientWidth'),
  scrollHeight: inherit<number>('scrollHeight'),
  scrollTop: inherit<number>('scrollTop'),
};

Object.defineProperties(HTMLElement.prototype, {
  clientHeight: {
    configurable: true,
    get(this: HTMLElement) {
      return isViewport(this) ? viewport.height : original.clientHeight.call(this);
    },
  },
  clientWidth: {
    configurable: true,
    get(this: HTMLElement) {
      return isViewport(this) ? viewport.width : original.clientWidth.call(this);
    },
  },
  scrollHeight: {
    configurable: true,
    get(this: HTMLElement) {
      return isViewport(this) ? contentHeight(this) : original.scrollHeight.call(this);
    },
  },
  scrollTop: {
    configurable: true,
    get(this: HTMLElement) {
      return isViewport(this) ? (scrollTops.get(this) ?? 0) : original.scrollTop.call(this);
    },
    set(this: HTMLElement, value: number) {
      if (!isViewport(this)) return;
      const max = Math.max(0, contentHeight(this) - viewport.height);
      const next = Math.min(max, Math.max(0, value));
      if (next === (scrollTops.get(this) ?? 0)) return;
      scrollTops.set(this, next);
      // like a browser: the scroll event comes later, not inside the assignment
      setTimeout(() => this.dispatchEvent(new Event('scroll')), 0);
    },
  },
});

HTMLElement.prototype.scrollTo = function (this: HTMLElement, options?: ScrollToOptions | number, y?: number) {
  const top = typeof options === 'number' ? y : options?.top;
  if (typeof top === 'number') this.scrollTop = top;
} as HTMLElement['scrollTo'];

afterEach(() => cleanup());
