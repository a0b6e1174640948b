/// <reference types="mocha" />
// The Runboard as a person uses it in a real VS Code: opened from the palette, a session created on the board, four
// lanes streaming their logs at once, a run canceled, a run's diff summary opened in VS Code's diff editor, the
// Runboard in the three kinds of theme (the screenshots in docs/), and the panel restored on its session after a window
// reload. The extension's own worker runs the lanes against a fresh database on the test PostgreSQL.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { repoRoot } from '../harness/paths';
import { until } from '../until';
import { expectText } from './expect';
import { Runboard, type RunboardLane } from './pages/runboard';
import type { Workbench } from './pages/workbench';
import { useTestDatabase } from './test-database';
import { extensionId, useVsCode } from './vscode-session';

const docsDir = path.join(repoRoot, 'docs');

/** A shell loop that prints `count` numbered lines, one every `every` seconds: a log that visibly streams. */
const stream = (name: string, count: number, every: number) => `for i in $(seq 1 ${count}); do echo "${name} line $i"; sleep ${every}; done`;


// `name` is the theme's id in workbench.colorTheme; the picker shows it beside the theme's label ("Light Modern").
const themes = [
  { name: 'Default Light Modern', file: 'runboard-light.png', workbench: 'vs', webview: 'vscode-light' },
  { name: 'Default Dark Modern', file: 'runboard-dark.png', workbench: 'vs-dark', webview: 'vscode-dark' },
  { name: 'Default High Contrast', file: 'runboard-high-contrast.png', workbench: 'hc-black', webview: 'vscode-high-contrast' },
] as const;

/** The palette's row whose label is exactly `label`. */
function paletteRow(workbench: Workbench, label: string): Locator {
  return workbench.commandPalette.rows().filter({ has: workbench.page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first();
}

/**
 * Runs an item of the open context menu. The menu takes keys: the mouse is less reliable, as the menu ignores a click
 * that comes too soon after it opened.
 */
async function contextMenuItem(page: Page, label: string): Promise<void> {
  const menu = page.locator('.monaco-menu');
  await menu.waitFor({ timeout: 15_000 });
  for (let i = 0; i < 10; i++) {
    const focused = await menu.locator('.action-item.focused').innerText({ timeout: 500 }).catch(() => '');
    if (focused.trim().startsWith(label)) {
      await page.keyboard.press('Enter');
      await menu.waitFor({ state: 'detached', timeout: 15_000 });
      return;
    }
    await page.keyboard.press('ArrowDown');
  }
  throw new Error(`the context menu offers no "${label}": ${(await menu.innerText()).replace(/\s+/g, ' ')}`);
}

/** Whether one of the log lines the lane shows is `text`. */
async function hasLine(lane: RunboardLane, text: string): Promise<boolean> {
  return (await lane.logLines().allInnerTexts()).some((line) => line.trim() === text);
}

/** Preferences: Color Theme, then the theme by its id. */
async function selectTheme(workbench: Workbench, name: string): Promise<void> {
  const palette = workbench.commandPalette;
  await palette.open();
  await palette.input.fill('>Preferences: Color Theme');
  await paletteRow(workbench, 'Preferences: Color Theme').click({ timeout: 15_000 });
  await workbench.page.locator('.quick-input-widget .quick-input-box input[placeholder^="Select Color Theme"]').waitFor({ timeout: 15_000 });
  await palette.input.fill(name);
  try {
    await palette.rows().and(workbench.page.locator(`[aria-label$=", ${name}"]`)).first().click({ timeout: 15_000 });
    await palette.widget.waitFor({ state: 'hidden', timeout: 15_000 });
  } catch (error) {
    const offered = await palette.rows().evaluateAll((rows) => rows.map((r) => r.outerHTML.slice(0, 600)));
    await palette.close().catch(() => undefined);
    throw new Error(`could not pick the theme "${name}" (${(error as Error).message.split('\n')[0]}); the picker offered:\n${offered.join('\n')}`);
  }
}

async function showRunboardTab(page: Page, workbench: Workbench): Promise<Runboard> {
  await workbench.editorTab('Runboard').click();
  await page.locator('.part.editor .tab.active', { hasText: 'Runboard' }).waitFor({ timeout: 15_000 });
  return new Runboard(await workbench.webview(extensionId, 'Runboard'));
}

describe('Runboard', function () {
  this.timeout(240_000);
  useTestDatabase('ocr_ui');
  const vscode = useVsCode('runboard');

  let runboard: Runboard;

  it('opens from the command palette, with no session yet', async () => {
    const { page, workbench } = vscode();
    // Room for four lanes side by side.
    await page.setViewportSize({ width: 1440, height: 900 });
    await workbench.commandPalette.run('View: Close Primary Side Bar');
    await workbench.commandPalette.run('OCR: Open Runboard');
    await workbench.editorTab('Runboard').waitFor({ timeout: 30_000 });
    runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    await expectText(runboard.message(), 'No session yet', 60_000);
  });

  it('creates a session from the board, with lanes A to D', async () => {
    // A clone, as most repositories are: the board names the repository by its remote.
    execFileSync('git', ['remote', 'add', 'origin', 'https://github.com/acme/shop.git'], { cwd: vscode().workspace });
    await runboard.newSession('Checkout revamp', 'Make checkout faster and fix the flaky cart tests');
    await expectText(runboard.sessionTitle(), 'Checkout revamp');
    await expectText(runboard.webview.locator('.session-repo'), 'https://github.com/acme/shop.git');
    await until('four lanes', async () => (await runboard.lanes().count()) === 4);
    assert.deepEqual(await runboard.lanes().evaluateAll((lanes) => lanes.map((l) => l.getAttribute('data-lane'))), ['A', 'B', 'C', 'D']);
  });

  it('runs a different shell intent in each lane and streams all four logs at once', async () => {
    const lanes = ['A', 'B', 'C', 'D'];
    for (const lane of lanes) await runboard.lane(lane).run(stream(`lane ${lane}`, lane === 'D' ? 600 : 60, lane === 'D' ? 0.5 : 0.25));
    // At one moment every lane's run is running and its log has lines of its own: the four stream side by side.
    await until('all four lanes running with their logs streaming', async () => {
      for (const lane of lanes) {
        const l = runboard.lane(lane);
        if ((await l.status()) !== 'running') return false;
        const lines = await l.logLines().allInnerTexts();
        if (!lines.some((t) => t.startsWith(`lane ${lane} line `))) return false;
      }
      return true;
    }, 120_000);
    // ... and they keep growing.
    const count = (lane: string) => runboard.lane(lane).logLines().allInnerTexts().then((lines) => Math.max(0, ...lines.map((t) => Number(/ line (\d+)$/.exec(t)?.[1] ?? 0))));
    const first = await Promise.all(lanes.map(count));
    await until('every log to grow', async () => (await Promise.all(lanes.map(count))).every((n, i) => n > first[i]!), 60_000);
    // Heartbeats reach the page: the worker holding the run shows as live.
    await runboard.lane('D').card().locator('.liveness.live').waitFor({ timeout: 30_000 });
    await vscode().screenshot('four-lanes-streaming');
  });

  it('cancels a lane\'s run and marks it canceled', async () => {
    const d = runboard.lane('D');
    await d.cancelButton().click();
    await until('lane D\'s run to be canceled', async () => (await d.status()) === 'canceled', 60_000);
    await expectText(d.card().locator('.run-status'), 'canceled');
    // The other lanes go on to the end.
    for (const lane of ['A', 'B', 'C']) await until(`lane ${lane}'s run to succeed`, async () => (await runboard.lane(lane).status()) === 'succeeded', 120_000);
    await until('lane A\'s last line', () => hasLine(runboard.lane('A'), 'lane A line 60'), 30_000);
    await expectText(runboard.sessionSummary(), /3 succeeded · 0 failed · 1 canceled/);
  });

  it('shows the diff summary of a run that edits files, and opens it in VS Code\'s diff editor', async () => {
    const { page, workbench } = vscode();
    const a = runboard.lane('A');
    await a.run('echo "Edited from lane A." >> README.md && printf "one\\ntwo\\n" > notes.txt && echo edited');
    await until('the edit to succeed', async () => (await a.card().locator('.run-intent').innerText()).includes('Edited from lane A') && (await a.status()) === 'succeeded', 120_000);
    await expectText(a.diffSummary().locator('.diff-totals'), /2 files\s*\+3\s*−0/, 30_000);
    const files = await a.diffSummary().locator('.diff-path').allInnerTexts();
    assert.deepEqual(files.sort(), ['README.md', 'notes.txt']);
    await a.openDiffButton().click();
    await page.locator('.part.editor .tab', { hasText: /^Lane A — run [0-9a-f]{8}/ }).waitFor({ timeout: 30_000 });
    runboard = await showRunboardTab(page, workbench);
    await expectText(runboard.lane('A').diffSummary().locator('.diff-totals'), '2 files');
  });

  it('looks native in light, dark and high-contrast themes (screenshots in docs/)', async () => {
    const { page, workbench } = vscode();
    mkdirSync(docsDir, { recursive: true });
    // A live run for the pictures: a streaming log and the worker's liveness.
    const c = runboard.lane('C');
    await c.run(stream('lane C', 400, 0.25));
    await until('lane C to stream', async () => (await c.status()) === 'running' && (await c.logLines().count()) > 5, 60_000);
    for (const theme of themes) {
      await selectTheme(workbench, theme.name);
      await page.locator(`.monaco-workbench.${theme.workbench}`).waitFor({ timeout: 30_000 });
      runboard = await showRunboardTab(page, workbench);
      await until(`the Runboard to take the ${theme.name} colors`, async () => ((await runboard.body.getAttribute('class')) ?? '').split(/\s+/).includes(theme.webview), 30_000);
      await expectText(runboard.lane('A').diffSummary().locator('.diff-totals'), '2 files');
      await until('lane C to show new lines', async () => (await c.logLines().count()) > 5);
      await page.waitForTimeout(500); // the theme's fonts and colors settle in the webview
      await page.locator('.part.editor').screenshot({ path: path.join(docsDir, theme.file) });
      console.log(`      screenshot: ${path.relative(process.cwd(), path.join(docsDir, theme.file))}`);
    }
    await runboard.lane('C').cancelButton().click();
    await until('lane C\'s run to be canceled', async () => (await runboard.lane('C').status()) === 'canceled', 60_000);
    await selectTheme(workbench, 'Default Dark Modern');
  });

  it('follows the session made active in the Sessions tree, and reopens on it after a window reload', async () => {
    const { page, workbench } = vscode();
    // A newer session, then back to the first: after the reload the newest active one would be the fallback.
    await runboard.newSession('Dependency upgrades', 'Bring every package to its latest minor');
    await expectText(runboard.sessionTitle(), 'Dependency upgrades');
    await workbench.activityBar.open('Ops Control Room');
    const sessions = workbench.sideBar.view('Sessions');
    // the tree has taken in the new session (a row it re-renders under the pointer loses its context menu's target)
    await expectText(sessions.rows().filter({ hasText: 'Dependency upgrades' }).first(), /Dependency upgrades\s*active/);
    await sessions.rows().filter({ hasText: 'Checkout revamp' }).first().click({ button: 'right' });
    await contextMenuItem(page, 'Make Session Active');
    // Had the tree re-rendered the row all the same, the command asks which session, as it does from the palette.
    const asked = page.locator('.quick-input-widget .quick-input-box input[placeholder="Make which session active?"]');
    const outcome = await until('the Runboard on Checkout revamp, or the command asking which session', async () => {
      if (await asked.isVisible()) return 'asked';
      return (await runboard.sessionTitle().innerText({ timeout: 500 })).includes('Checkout revamp') ? 'shown' : undefined;
    }, 30_000);
    if (outcome === 'asked') await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Checkout revamp' }).first().click({ timeout: 15_000 });
    await expectText(runboard.sessionTitle(), 'Checkout revamp');
    await workbench.commandPalette.run('View: Close Primary Side Bar');
    await expectText(runboard.lane('A').diffSummary().locator('.diff-totals'), '2 files');
    await page.waitForTimeout(1_000); // the page saves its state a moment after a change

    const loaded = page.waitForEvent('load', { timeout: 120_000 });
    await workbench.commandPalette.open();
    await workbench.commandPalette.input.fill('>Developer: Reload Window');
    await paletteRow(workbench, 'Developer: Reload Window').click({ timeout: 15_000 });
    await loaded;
    await workbench.ready();
    await workbench.editorTab('Runboard').waitFor({ timeout: 120_000 });
    runboard = await showRunboardTab(page, workbench);
    await expectText(runboard.sessionTitle(), 'Checkout revamp', 120_000);
    await expectText(runboard.lane('A').diffSummary().locator('.diff-totals'), '2 files', 60_000);
    await expectText(runboard.lane('D').card().locator('.run-status'), 'canceled');
    // The logs of finished runs are read again from the database.
    await until('lane B\'s log, read again', () => hasLine(runboard.lane('B'), 'lane B line 60'), 60_000);
  });
});
