import type { FrameLocator, Locator, Page } from 'playwright-core';

/**
 * A webview is two nested iframes: VS Code's host frame (its src names the extension) and, inside it, the frame with
 * the extension's HTML, titled with the panel title.
 */
export class Webview {
  private constructor(readonly content: FrameLocator) {}

  static async find(page: Page, { extensionId, title, timeoutMs = 60_000 }: { extensionId: string; title: string; timeoutMs?: number }): Promise<Webview> {
    const hosts = page.locator(`iframe.webview[src*="extensionId=${extensionId}"]`);
    const inner = `iframe#active-frame[title="${title}"]`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < (await hosts.count()); i++) {
        const host = hosts.nth(i).contentFrame();
        if ((await host.locator(inner).count()) > 0) return new Webview(host.frameLocator(inner));
      }
      if (Date.now() > deadline) throw new Error(`no webview titled "${title}" of ${extensionId} appeared within ${timeoutMs} ms`);
      await page.waitForTimeout(250);
    }
  }

  locator(selector: string): Locator {
    return this.content.locator(selector);
  }
}
