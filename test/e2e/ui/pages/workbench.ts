import type { Locator, Page } from 'playwright-core';
import { ActivityBar } from './activity-bar';
import { CommandPalette } from './command-palette';
import { Notifications } from './notifications';
import { SideBar } from './side-bar';
import { StatusBar } from './status-bar';
import { Webview } from './webview';

/** The VS Code window, as a person sees it: the entry point to every other page object. */
export class Workbench {
  readonly commandPalette: CommandPalette;
  readonly activityBar: ActivityBar;
  readonly sideBar: SideBar;
  readonly statusBar: StatusBar;
  readonly notifications: Notifications;

  constructor(readonly page: Page) {
    this.commandPalette = new CommandPalette(page);
    this.activityBar = new ActivityBar(page);
    this.sideBar = new SideBar(page);
    this.statusBar = new StatusBar(page);
    this.notifications = new Notifications(page);
  }

  /** The workbench is rendered and connected to its extension host (the explorer shows the folder). */
  async ready(timeoutMs = 120_000): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
    await this.page.locator('.part.statusbar').waitFor({ timeout: timeoutMs });
    await this.page.locator('.part.activitybar li.action-item').first().waitFor({ timeout: timeoutMs });
  }

  /** The tab of an open editor, by its title. */
  editorTab(title: string): Locator {
    return this.page.locator('.part.editor .tabs-container .tab', { hasText: title });
  }

  webview(extensionId: string, title: string): Promise<Webview> {
    return Webview.find(this.page, { extensionId, title });
  }
}
