import type { Locator, Page } from 'playwright-core';
import type { SideBar, ViewPane } from './side-bar';

/** The Runs view of the Ops Control Room container: its rows, its description (the active filters), its title actions. */
export class RunsView {
  readonly pane: ViewPane;

  constructor(
    private readonly page: Page,
    sideBar: SideBar,
  ) {
    this.pane = sideBar.view('Runs');
  }

  rows(): Locator {
    return this.pane.rows();
  }

  /** The row of the run whose intent is `intent`. */
  row(intent: string): Locator {
    return this.rows().filter({ has: this.page.locator('.label-name', { hasText: intent }) }).first();
  }

  /** The intents of the rows the view shows now, top to bottom. */
  async intents(): Promise<string[]> {
    return this.rows().locator('.label-name').allInnerTexts();
  }

  /** What the view's header says beside its name: the filters in force. */
  description(): Locator {
    return this.pane.root.locator('.pane-header .description');
  }

  /** Clicks an action of the view's title bar by its title; the header shows its actions while the pointer is on it. */
  async action(title: string, timeoutMs = 15_000): Promise<void> {
    await this.pane.root.locator('.pane-header').hover({ timeout: timeoutMs });
    await this.pane.action(title).click({ timeout: timeoutMs });
  }
}
