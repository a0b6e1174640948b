import type { Locator, Page } from 'playwright-core';

/** The icons on the left that switch the side bar between view containers. */
export class ActivityBar {
  constructor(private readonly page: Page) {}

  item(title: string): Locator {
    return this.page.locator('.part.activitybar li.action-item').filter({ has: this.page.locator(`a.action-label[aria-label^="${title}"]`) });
  }

  async isOpen(title: string): Promise<boolean> {
    return (await this.item(title).getAttribute('aria-selected')) === 'true';
  }

  /** Shows the container; clicking an already open one would close the side bar, so that is avoided. */
  async open(title: string): Promise<void> {
    const item = this.item(title);
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    if (!(await this.isOpen(title))) await item.click();
    await this.page.locator(`.part.activitybar li.action-item[aria-selected="true"] a.action-label[aria-label^="${title}"]`).waitFor({ timeout: 15_000 });
  }
}
