import type { Locator, Page } from 'playwright-core';
import type { ViewPane } from './side-bar';
import type { Workbench } from './workbench';

/** The Workers view of the Ops Control Room container: one row per worker, its runs and repositories under it. */
export class WorkersView {
  readonly pane: ViewPane;
  private readonly page: Page;

  constructor(private readonly workbench: Workbench) {
    this.pane = workbench.sideBar.view('Workers');
    this.page = workbench.page;
  }

  /** Opens the container and gives the view the side bar's height: the other views are folded. */
  async show(): Promise<void> {
    await this.workbench.activityBar.open('Ops Control Room');
    await this.pane.root.waitFor({ timeout: 30_000 });
    const panes = this.workbench.sideBar.root.locator('.pane');
    for (let i = 0; i < (await panes.count()); i++) {
      const pane = panes.nth(i);
      if ((await pane.locator('.pane-header .title').innerText()).trim().toLowerCase() !== 'workers') await this.fold(pane, true);
    }
    await this.fold(this.pane.root, false);
  }

  /** Saves a picture of the side bar down to the view's last row. */
  async screenshot(file: string): Promise<void> {
    const bar = await this.workbench.sideBar.root.boundingBox();
    const last = await this.pane.rows().last().boundingBox();
    if (!bar || !last) throw new Error('the Workers view is not on screen');
    await this.page.screenshot({ path: file, clip: { x: bar.x, y: bar.y, width: bar.width, height: Math.min(bar.height, last.y + last.height + 16 - bar.y) } });
  }

  private async fold(pane: Locator, folded: boolean): Promise<void> {
    const header = pane.locator('.pane-header');
    await header.waitFor({ timeout: 30_000 });
    if ((await header.getAttribute('aria-expanded')) === String(!folded)) return;
    await header.click();
    await pane.locator(`.pane-header[aria-expanded="${String(!folded)}"]`).waitFor({ timeout: 15_000 });
  }

  /** Drags the side bar's edge to the right, so that rows are read whole. */
  async widen(toWidth: number): Promise<void> {
    const box = await this.workbench.sideBar.root.boundingBox();
    if (!box || box.width >= toWidth) return;
    const y = box.y + box.height / 2;
    await this.page.mouse.move(box.x + box.width + 1, y);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x + toWidth, y, { steps: 8 });
    await this.page.mouse.up();
  }

  /** The top-level row of a worker, by its id (a regular expression for ids only partly known). */
  worker(id: string | RegExp): WorkerRow {
    const label = this.page.locator('.label-name', { hasText: typeof id === 'string' ? new RegExp(`^${escapeRegExp(id)}$`) : id });
    return new WorkerRow(this.pane.rows().and(this.page.locator('[aria-level="1"]')).filter({ has: label }).first());
  }

  /** A row under a worker (a run it holds, its repositories), by its label. */
  child(label: string | RegExp): Locator {
    return this.pane.rows().and(this.page.locator('[aria-level="2"]')).filter({ has: this.page.locator('.label-name', { hasText: label }) }).first();
  }
}

export class WorkerRow {
  constructor(readonly root: Locator) {}

  description(): Locator {
    return this.root.locator('.label-description');
  }

  /** The row's icon: a codicon whose class names it (`codicon-warning` for a stale worker). */
  icon(): Locator {
    return this.root.locator('.custom-view-tree-node-item-icon');
  }

  /** The actions the row offers inline, by their titles; they show while the pointer is over it. */
  async inlineActions(): Promise<string[]> {
    await this.root.hover();
    const labels = await this.root.locator('.actions .action-label').evaluateAll((links) => links.map((l) => l.getAttribute('aria-label') ?? ''));
    return labels.filter(Boolean);
  }

  async runInlineAction(title: string): Promise<void> {
    await this.root.hover();
    await this.root.locator(`.actions .action-label[aria-label="${title}"]`).click({ timeout: 15_000 });
  }
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
