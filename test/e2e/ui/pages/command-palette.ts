import type { Locator, Page } from 'playwright-core';

/** The quick input opened by F1: runs commands by their palette label ("Category: Title"). */
export class CommandPalette {
  readonly widget: Locator;
  readonly input: Locator;

  constructor(private readonly page: Page) {
    this.widget = page.locator('.quick-input-widget');
    this.input = this.widget.locator('.quick-input-box input');
  }

  async open(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A focused webview keeps key presses to itself; the workbench only sees them once focus is back in its document.
      await this.page.evaluate(() => {
        if (document.activeElement instanceof HTMLIFrameElement) document.activeElement.blur();
      });
      await this.page.keyboard.press('F1');
      if (await this.input.waitFor({ state: 'visible', timeout: 5_000 }).then(() => true, () => false)) return;
      if (Date.now() > deadline) throw new Error(`the command palette did not open within ${timeoutMs} ms`);
    }
  }

  async close(): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.widget.waitFor({ state: 'hidden', timeout: 10_000 });
  }

  /** Rows currently offered for the typed text. */
  rows(): Locator {
    return this.widget.locator('.quick-input-list .monaco-list-row');
  }

  /**
   * Runs a command by its label. The list is computed when the palette opens, so a command contributed by an extension
   * that is still being registered shows up only in a palette opened later: retry until it is offered.
   */
  async run(label: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const row = this.rows().filter({ has: this.page.locator('.label-name', { hasText: label }) }).first();
    for (;;) {
      await this.open();
      // The palette closes when something else takes the focus (a webview that just finished loading): then retry.
      const offered = await this.input.fill(`>${label}`, { timeout: 5_000 })
        .then(() => row.waitFor({ state: 'visible', timeout: 5_000 }))
        .then(() => row.click({ timeout: 5_000 }))
        .then(() => undefined, () => this.rows().allInnerTexts().catch(() => []));
      if (!offered) {
        await this.widget.waitFor({ state: 'hidden', timeout: 15_000 });
        return;
      }
      if (await this.input.isVisible()) await this.close();
      if (Date.now() > deadline) throw new Error(`the command palette does not offer "${label}"; it offers: ${offered.join(' | ')}`);
    }
  }
}
