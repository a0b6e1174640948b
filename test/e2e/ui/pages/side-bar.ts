import type { Locator, Page } from 'playwright-core';

/** The side bar and the views (panes) of the container it shows. */
export class SideBar {
  readonly root: Locator;

  constructor(page: Page) {
    this.root = page.locator('.part.sidebar');
  }

  title(): Locator {
    return this.root.locator('.composite.title h2');
  }

  view(name: string): ViewPane {
    return new ViewPane(this.root.locator('.pane').filter({ has: this.root.page().locator('.pane-header', { hasText: name }) }));
  }
}

export class ViewPane {
  constructor(readonly root: Locator) {}

  /** What an empty view shows instead of rows (the `viewsWelcome` contribution). */
  welcome(): Locator {
    return this.root.locator('.welcome-view-content');
  }

  rows(): Locator {
    return this.root.locator('.pane-body .monaco-list-row');
  }

  button(label: string): Locator {
    return this.root.locator('.pane-body .monaco-button', { hasText: label });
  }

  /** An action in the view's title bar, by its tooltip. */
  action(label: string): Locator {
    return this.root.locator(`.pane-header .actions a.action-label[aria-label^="${label}"]`);
  }
}
