import { AssertionError } from 'node:assert';
import type { Locator } from 'playwright-core';

/**
 * Waits until the element's text matches, the way a person would wait for the UI to settle, and fails with the text
 * that was last seen.
 */
export async function expectText(locator: Locator, expected: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const matches = (text: string) => (typeof expected === 'string' ? text.includes(expected) : expected.test(text));
  const deadline = Date.now() + timeoutMs;
  let last = '<element not found>';
  for (;;) {
    last = await locator.innerText({ timeout: 1_000 }).catch(() => last);
    if (matches(last)) return last;
    if (Date.now() > deadline) {
      throw new AssertionError({ message: `expected ${locator} to show ${String(expected)}; it shows ${JSON.stringify(last)}`, actual: last, expected, operator: 'expectText' });
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
