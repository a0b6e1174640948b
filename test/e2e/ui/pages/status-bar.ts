import type { Locator, Page } from 'playwright-core';

/** Status-bar entries are found by their id: `<publisher>.<name>.<item id>` for an extension's items. */
export class StatusBar {
  readonly root: Locator;

  constructor(page: Page) {
    this.root = page.locator('.part.statusbar');
  }

  item(id: string): Locator {
    return this.root.locator(`.statusbar-item[id="${id}"]`);
  }

  async text(id: string): Promise<string> {
    return (await this.item(id).innerText({ timeout: 30_000 })).trim();
  }

  async tooltip(id: string): Promise<string | null> {
    return this.item(id).locator('a.statusbar-item-label').getAttribute('aria-label');
  }

  async click(id: string): Promise<void> {
    await this.item(id).locator('a.statusbar-item-label').click();
  }
}
