import type { Locator, Page } from 'playwright-core';

/** The quick input an extension opens with showInputBox or showQuickPick: a title, a box, and for a pick its rows. */
export class QuickInput {
  readonly widget: Locator;
  readonly input: Locator;

  constructor(private readonly page: Page) {
    this.widget = page.locator('.quick-input-widget');
    this.input = this.widget.locator('.quick-input-box input');
  }

  title(): Locator {
    return this.widget.locator('.quick-input-title');
  }

  /** Waits until the open quick input's title, prompt or placeholder says `text`. */
  async waitFor(text: string | RegExp, timeoutMs = 30_000): Promise<void> {
    const matches = (said: string) => (typeof text === 'string' ? said.includes(text) : text.test(said));
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (await this.widget.isVisible()) {
        const title = await this.title().innerText({ timeout: 1_000 }).catch(() => '');
        const message = await this.message().innerText({ timeout: 1_000 }).catch(() => '');
        const placeholder = (await this.input.getAttribute('placeholder', { timeout: 1_000 }).catch(() => null)) ?? '';
        last = [title, message, placeholder].join(' | ');
        if (matches(title) || matches(message) || matches(placeholder)) return;
      }
      if (Date.now() > deadline) throw new Error(`the quick input does not say ${String(text)}; it says ${JSON.stringify(last)}`);
      await this.page.waitForTimeout(200);
    }
  }

  /** The message under the box: the prompt, or the validation's complaint. */
  message(): Locator {
    return this.widget.locator('.quick-input-message');
  }

  /** Types into the box (replacing what is there) and presses Enter. */
  async submit(text: string): Promise<void> {
    await this.input.fill(text);
    await this.page.keyboard.press('Enter');
  }

  rows(): Locator {
    return this.widget.locator('.quick-input-list .monaco-list-row');
  }

  /** Picks the row whose label is `label`. */
  async pick(label: string, timeoutMs = 15_000): Promise<void> {
    const row = this.rows().filter({ has: this.page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) }).first();
    await row.click({ timeout: timeoutMs });
  }
}
