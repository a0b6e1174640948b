import type { Locator, Page } from 'playwright-core';

/** A modal dialog (showWarningMessage with `modal: true`), drawn by the workbench in the web UI. */
export class Dialog {
  readonly box: Locator;

  constructor(page: Page) {
    this.box = page.locator('.monaco-dialog-box');
  }

  message(): Locator {
    return this.box.locator('.dialog-message-text');
  }

  detail(): Locator {
    return this.box.locator('.dialog-message-detail');
  }

  button(label: string): Locator {
    return this.box.locator('.dialog-buttons .monaco-button', { hasText: label });
  }

  async choose(label: string, timeoutMs = 15_000): Promise<void> {
    await this.button(label).click({ timeout: timeoutMs });
    await this.box.waitFor({ state: 'hidden', timeout: timeoutMs });
  }
}
