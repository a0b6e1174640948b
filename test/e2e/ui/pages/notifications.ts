import type { Locator, Page } from 'playwright-core';

/** Toasts in the bottom-right corner. */
export class Notifications {
  readonly toasts: Locator;

  constructor(private readonly page: Page) {
    this.toasts = page.locator('.notifications-toasts .notification-toast');
  }

  message(text: string | RegExp): Locator {
    return this.toasts.locator('.notification-list-item-message', { hasText: text });
  }

  async waitFor(text: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const message = this.message(text).first();
    await message.waitFor({ state: 'visible', timeout: timeoutMs });
    return message.innerText();
  }

  async messages(): Promise<string[]> {
    return this.toasts.locator('.notification-list-item-message').allInnerTexts();
  }

  /** A button of the toast that says `text` (an action the extension offers with its message). */
  button(text: string | RegExp, label: string): Locator {
    return this.toasts.filter({ has: this.page.locator('.notification-list-item-message', { hasText: text }) }).locator('.notification-list-item-buttons-container .monaco-button', { hasText: label });
  }

  /** Closes every toast with its own close button, which shows while the pointer is over the toast. */
  async dismissAll(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.toasts.count()) > 0) {
      if (Date.now() > deadline) throw new Error(`notifications still shown after ${timeoutMs} ms: ${(await this.messages()).join(' | ')}`);
      const toast = this.toasts.first();
      await toast.hover({ timeout: 5_000 }).catch(() => undefined);
      await toast.locator('.codicon-notifications-clear').click({ timeout: 5_000 }).catch(() => undefined);
    }
  }
}
