import type { Locator } from 'playwright-core';
import type { Webview } from './webview';

/**
 * The Runboard webview: the session bar on top, one column per lane. Its controls are @vscode-elements components,
 * whose inner inputs Playwright reaches through their open shadow roots.
 */
export class Runboard {
  constructor(readonly webview: Webview) {}

  get body(): Locator {
    return this.webview.locator('body');
  }

  /** What the board says instead of lanes: connecting, or no session yet. */
  message(): Locator {
    return this.webview.locator('.board-message');
  }

  sessionTitle(): Locator {
    return this.webview.locator('.session-title');
  }

  sessionSummary(): Locator {
    return this.webview.locator('.session-summary');
  }

  lanes(): Locator {
    return this.webview.locator('section.lane');
  }

  lane(name: string): RunboardLane {
    return new RunboardLane(this.webview.locator(`section.lane[data-lane="${name}"]`));
  }

  async newSession(title: string, intent: string): Promise<void> {
    await this.webview.locator('.session-bar vscode-button').filter({ hasText: 'New Session' }).click();
    const form = this.webview.locator('form.new-session');
    await form.locator('vscode-textfield.new-session-title input').fill(title);
    await form.locator('vscode-textarea.new-session-intent textarea').fill(intent);
    await form.locator('vscode-button').filter({ hasText: 'Create' }).click();
    await form.waitFor({ state: 'detached', timeout: 30_000 });
  }
}

export class RunboardLane {
  constructor(readonly root: Locator) {}

  /** Types the intent into the lane's input and presses Enter, which runs it. */
  async run(intent: string): Promise<void> {
    const input = this.root.locator('vscode-textfield.lane-intent input');
    await input.fill(intent);
    await input.press('Enter');
    // The input empties once the editor accepted the run; an error stays beside it.
    const deadline = Date.now() + 30_000;
    while ((await input.inputValue()) !== '') {
      const error = await this.root.locator('.lane-input .error').innerText({ timeout: 500 }).catch(() => '');
      if (error || Date.now() > deadline) throw new Error(`lane did not accept "${intent}": ${error || 'no answer within 30 s'}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The run the lane shows. */
  card(): Locator {
    return this.root.locator('.run-card');
  }

  async status(): Promise<string | null> {
    return this.card().getAttribute('data-status', { timeout: 1_000 }).catch(() => null);
  }

  cancelButton(): Locator {
    return this.card().locator('vscode-button[aria-label^="Cancel run"]');
  }

  liveness(): Locator {
    return this.card().locator('.liveness');
  }

  logLines(): Locator {
    return this.root.locator('.log-line');
  }

  diffSummary(): Locator {
    return this.root.locator('.diff-summary');
  }

  openDiffButton(): Locator {
    return this.diffSummary().locator('vscode-button', { hasText: 'Open Diff' });
  }

  // ---- a runbook run ------------------------------------------------------------------------------------------

  /** The steps of the runbook run the lane shows. */
  steps(): Locator {
    return this.card().locator('.run-step');
  }

  step(id: string): Locator {
    return this.card().locator(`.run-step[data-step="${id}"]`);
  }

  /** Each step's id and status, in order: "build:succeeded". */
  async stepStatuses(): Promise<string[]> {
    return this.steps().evaluateAll((steps) => steps.map((s) => `${s.getAttribute('data-step')}:${s.getAttribute('data-status')}`));
  }

  /** Shows only the step's lines in the log (or every line again, when it is the one shown). */
  async pickStep(id: string): Promise<void> {
    await this.step(id).locator('button.run-step-pick').click();
  }

  /** The log's counts: "Total 12 Success 3 Warnings 1 Errors 0". */
  async logCounts(): Promise<string> {
    return (await this.root.locator('.log-counts').innerText()).replace(/\s+/g, ' ').trim();
  }

  gate(): Locator {
    return this.card().locator('.approval-gate');
  }

  approveButton(): Locator {
    return this.gate().locator('vscode-button[aria-label^="Approve run"]');
  }

  rejectButton(): Locator {
    return this.gate().locator('vscode-button[aria-label^="Reject run"]');
  }

  artifacts(): Locator {
    return this.card().locator('.run-artifacts .artifact');
  }

  artifact(name: string): Locator {
    return this.artifacts().filter({ hasText: name }).locator('button.artifact-open');
  }

  /** The log's Export, as text or JSON: the editor's save dialog follows. */
  async exportLog(format: 'text' | 'json'): Promise<void> {
    await this.root.locator('.log-export vscode-toolbar-button').click();
    await this.root.locator('.log-export [role="menuitem"]', { hasText: format === 'json' ? 'As JSON…' : 'As Text…' }).click();
  }

  /** The text of each line the log shows (a line's data toggle is no text of it). */
  async logTexts(): Promise<string[]> {
    return (await this.logLines().allInnerTexts()).map((t) => t.trim());
  }

  /** Runs an item of the lane's "…" menu. */
  async menu(item: string): Promise<void> {
    await this.root.locator('.lane-menu vscode-toolbar-button').click();
    await this.root.locator('.lane-menu [role="menuitem"]', { hasText: item }).click();
  }

  // ---- a coding agent's run ----------------------------------------------------------------------------------

  /** The conversation the lane shows for an agent run (while "Conversation" is picked). */
  conversation(): Locator {
    return this.root.locator('.agent-conversation');
  }

  /** Conversation or Raw: how the lane shows the agent run. */
  async showAs(mode: 'Conversation' | 'Raw'): Promise<void> {
    await this.root.locator('.agent-log-modes button', { hasText: mode }).click();
  }

  /** The run's tokens and cost on its card: "1,234 in · 56 out · 1,000 cached", "$0.01 reported". */
  agentFigures(): Locator {
    return this.card().locator('.agent-figures');
  }

  /** The sum of what the lane's agent runs cost, in its header. */
  laneCost(): Locator {
    return this.root.locator('.lane-cost');
  }

  /** What the lane says went wrong, if anything. */
  errors(): Locator {
    return this.root.locator('[role="alert"]');
  }
}
