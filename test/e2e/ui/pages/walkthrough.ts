import type { FrameLocator, Locator, Page } from 'playwright-core';

/**
 * A walkthrough of VS Code's Welcome page, as a person sees it: its title and its steps, each with a checkbox that
 * VS Code ticks when the step's completion event happens, and the buttons of its description.
 */
export class Walkthrough {
  readonly root: Locator;

  /** `id` is the walkthrough's full id, `<publisher>.<name>#<walkthrough id>`. */
  constructor(
    private readonly page: Page,
    private readonly id: string,
  ) {
    this.root = page.locator('.part.editor .gettingStartedContainer');
  }

  /** The walkthrough's title, shown above its steps. */
  title(): Locator {
    return this.root.locator(`[x-category-title-for="${this.id}"]`).filter({ visible: true });
  }

  /** The editor tab that shows the Welcome page. */
  tab(): Locator {
    return this.page.locator('.part.editor .tabs-container .tab').filter({ has: this.page.locator('.label-name', { hasText: /Welcome|Walkthrough/ }) });
  }

  step(stepId: string): WalkthroughStep {
    return new WalkthroughStep(this.page, this.root.locator(`button.getting-started-step[data-step-id="${this.id}#${stepId}"]`), `${this.id}#${stepId}`);
  }
}

export class WalkthroughStep {
  constructor(
    private readonly page: Page,
    readonly root: Locator,
    private readonly fullId: string,
  ) {}

  /**
   * Expands the step, which shows its description and buttons, and waits for its media (a webview beside the steps)
   * to show `mediaHeading`: while it loads, it takes the focus, and a quick input opened meanwhile would close.
   */
  async open(mediaHeading: string, timeoutMs = 30_000): Promise<void> {
    if ((await this.root.getAttribute('aria-expanded', { timeout: timeoutMs })) !== 'true') await this.root.click({ timeout: timeoutMs });
    await this.page.locator(`button.getting-started-step[data-step-id="${this.fullId}"][aria-expanded="true"]`).waitFor({ timeout: timeoutMs });
    await this.media().getByRole('heading', { name: mediaHeading }).waitFor({ timeout: timeoutMs });
  }

  /** The inside of the webview that shows the step's media. */
  media(): FrameLocator {
    const extensionId = this.fullId.split('#')[0];
    return this.page.locator(`iframe.webview:not([src*="extensionId=${extensionId}"])`).filter({ visible: true }).first().contentFrame().locator('iframe#active-frame').contentFrame();
  }

  /** A button of the step's description (a command link on a line of its own). */
  button(label: string): Locator {
    return this.root.locator('.step-description-container .monaco-button', { hasText: label });
  }

  /**
   * Presses a button of the step until `shown` says its command showed what it shows. A quick input the command opens
   * closes when the Welcome page takes the focus back while it is still laying out the step just opened: then the
   * button is pressed again, as a person would.
   */
  async press(label: string, shown: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.button(label).click({ timeout: 15_000 });
      if (await shown()) return;
      if (Date.now() > deadline) throw new Error(`pressing "${label}" in the walkthrough showed nothing within ${timeoutMs / 1000} s`);
    }
  }

  /** The step's checkbox: aria-checked and `.complete` (drawn as the pass-filled codicon) once done. */
  checkbox(): Locator {
    return this.page.locator(`.part.editor [data-done-step-id="${this.fullId}"]`);
  }

  async isDone(): Promise<boolean> {
    return (await this.checkbox().getAttribute('aria-checked', { timeout: 5_000 })) === 'true';
  }

  async waitUntilDone(timeoutMs = 30_000): Promise<void> {
    await this.page.locator(`.part.editor .codicon.complete[data-done-step-id="${this.fullId}"][aria-checked="true"]`).waitFor({ timeout: timeoutMs });
  }
}
