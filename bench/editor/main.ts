// Editor benchmark: what a person feels in a real VS Code (code-server + Chromium, the extension installed as a user has
// it, a fresh database on the test PostgreSQL). It prints a markdown table of:
//   - Run click → first output line shown in the lane, with the editor's own worker and with an `ocr worker` process
//     beside it (the editor's worker paused), each over BENCH_EDITOR_RUNS runs (200);
//   - Cancel click → the lane showing `canceled`, over BENCH_EDITOR_CANCELS runs (50);
//   - a run's last line (its own clock, printed by the run) → the notification that it finished, with the Runboard out
//     of sight, over BENCH_EDITOR_NOTIFICATIONS runs (20).
// Both ends of the first two are taken inside the Runboard's page (a capture-phase click listener and a
// MutationObserver on the same clock), so Playwright's own round trips are not counted. Run with `npm run bench:editor`.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { shortId } from '../../domain';
import { openStore } from '../../worker/store/open';
import type { Store } from '../../worker/store/store';
import { createTestDatabase } from '../../worker/store/testing';
import { launchChromium } from '../../test/e2e/harness/browser';
import { type CodeServer, startCodeServer } from '../../test/e2e/harness/code-server';
import { codeServerVersion, extensionId, outputDir, repoRoot, requireBuilt, requireCodeServer } from '../../test/e2e/harness/paths';
import { type Sandbox, createSandbox, createSampleWorkspace, installExtension, killProcessGroup } from '../../test/e2e/harness/sandbox';
import { Runboard, type RunboardLane } from '../../test/e2e/ui/pages/runboard';
import { Workbench } from '../../test/e2e/ui/pages/workbench';
import { until } from '../../test/e2e/until';
import { percentile } from '../peers/stats';

const RUNS = Number(process.env.BENCH_EDITOR_RUNS ?? 200);
const CANCELS = Number(process.env.BENCH_EDITOR_CANCELS ?? 50);
const NOTIFICATIONS = Number(process.env.BENCH_EDITOR_NOTIFICATIONS ?? 20);

interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function stats(samples: number[]): Stats {
  const at = (p: number) => percentile(samples, p) ?? NaN;
  return { n: samples.length, p50: at(50), p95: at(95), p99: at(99), max: samples.length ? Math.max(...samples) : NaN };
}

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : '—');

/**
 * Installs the probes in the Runboard's page: the time of the last click on a lane's Run or Cancel button, when each
 * `bench-<n>` line first showed, and when a lane's card first said `canceled` after a Cancel click.
 */
async function installProbes(runboard: Runboard): Promise<void> {
  await runboard.body.evaluate(() => {
    interface Probe {
      click: number;
      lines: Record<string, number>;
      canceledAt: number;
      canceledBefore: number;
      cards: Record<string, number>;
      /** when the host's message with the `bench-<n>` line reached the page, before it is rendered */
      arrived: Record<string, number>;
    }
    const probe: Probe = { click: 0, lines: {}, canceledAt: 0, canceledBefore: 0, cards: {}, arrived: {} };
    window.addEventListener(
      'message',
      (e) => {
        const data = e.data as { method?: unknown; params?: { text?: unknown } } | null;
        if (data?.method !== 'log' || !Array.isArray(data.params?.text)) return;
        for (const text of data.params.text) {
          const mark = typeof text === 'string' && !text.includes('echo') ? /bench-(\d+)/.exec(text)?.[1] : undefined;
          if (mark && !(mark in probe.arrived)) probe.arrived[mark] = performance.now();
        }
      },
      true,
    );
    (window as unknown as { ocrBench: Probe }).ocrBench = probe;
    document.addEventListener(
      'click',
      (e) => {
        const target = e.target as Element | null;
        if (target?.closest('vscode-button')) probe.click = performance.now();
      },
      true,
    );
    const seen = (node: Node) => {
      const element = node.nodeType === Node.ELEMENT_NODE ? (node as Element) : node.parentElement;
      if (!element) return;
      const lines = element.matches('.log-line') ? [element] : Array.from(element.querySelectorAll('.log-line'));
      for (const line of lines) {
        const mark = /bench-(\d+)/.exec(line.textContent ?? '')?.[1];
        if (mark && !(mark in probe.lines) && !(line.textContent ?? '').includes('echo')) probe.lines[mark] = performance.now();
      }
    };
    new MutationObserver((records) => {
      const now = performance.now();
      for (const r of records) {
        Array.from(r.addedNodes).forEach(seen);
        if (r.type === 'characterData') seen(r.target);
      }
      // the new run's card, before any line of its log
      for (const card of Array.from(document.querySelectorAll('.run-card'))) {
        const mark = /echo bench-(\d+)/.exec(card.querySelector('.run-intent, header')?.textContent ?? card.textContent ?? '')?.[1];
        if (mark && !(mark in probe.cards)) probe.cards[mark] = now;
      }
      // a card that says canceled, one more than when the probe was reset: the lane shows the cancel
      if (probe.click && !probe.canceledAt && document.querySelectorAll('.run-card[data-status="canceled"]').length > probe.canceledBefore) probe.canceledAt = now;
    }).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['data-status'] });
  });
}

function readProbe(runboard: Runboard) {
  return runboard.body.evaluate(() => (window as unknown as { ocrBench: { click: number; lines: Record<string, number>; cards: Record<string, number>; arrived: Record<string, number>; canceledAt: number } }).ocrBench);
}

async function resetProbe(runboard: Runboard): Promise<void> {
  await runboard.body.evaluate(() => {
    const probe = (window as unknown as { ocrBench: { click: number; canceledAt: number; canceledBefore: number } }).ocrBench;
    probe.click = 0;
    probe.canceledAt = 0;
    probe.canceledBefore = document.querySelectorAll('.run-card[data-status="canceled"]').length;
  });
}

/** Click → the run's card shown, and click → its first line's message in the page, per run (filled in by clickToFirstLine). */
const cardTimes: Record<string, number[]> = {};
const arrivalTimes: Record<string, number[]> = {};

/** Fills the lane's input and clicks Run; resolves with the click → first line time once `bench-<mark>` shows. */
async function clickToFirstLine(runboard: Runboard, lane: RunboardLane, mark: number, phase = 'warm-up'): Promise<number> {
  await lane.root.locator('vscode-textfield.lane-intent input').fill(`echo bench-${mark}`);
  await resetProbe(runboard);
  await lane.root.locator('vscode-button.lane-run').click();
  const shown = await until(`bench-${mark} in the lane`, async () => {
    const probe = await readProbe(runboard);
    if (probe.lines[mark] === undefined || !probe.click) return undefined;
    (cardTimes[phase] ??= []).push((probe.cards[mark] ?? NaN) - probe.click);
    (arrivalTimes[phase] ??= []).push((probe.arrived[mark] ?? NaN) - probe.click);
    return probe.lines[mark]! - probe.click;
  }, 30_000);
  await until('the run to finish', async () => (await lane.status()) === 'succeeded', 30_000);
  return shown;
}

async function cancelToCanceled(runboard: Runboard, lane: RunboardLane, mark: number): Promise<number> {
  await lane.root.locator('vscode-textfield.lane-intent input').fill(`echo bench-${mark}; sleep 60`);
  await lane.root.locator('vscode-button.lane-run').click();
  await until(`bench-${mark} in the lane`, async () => (await readProbe(runboard)).lines[mark] !== undefined, 30_000);
  await until('the run to be running', async () => (await lane.status()) === 'running', 30_000);
  await resetProbe(runboard);
  await lane.cancelButton().click();
  return until('the lane to show canceled', async () => {
    const probe = await readProbe(runboard);
    return probe.canceledAt && probe.click ? probe.canceledAt - probe.click : undefined;
  }, 30_000);
}

/** The notifications' first appearance in the workbench, by the short id they name (Date.now(), the machine's clock). */
async function installToastProbe(page: Page): Promise<void> {
  await page.evaluate(() => {
    const toasts: Record<string, number> = {};
    (window as unknown as { ocrToasts: Record<string, number> }).ocrToasts = toasts;
    new MutationObserver(() => {
      const now = Date.now();
      for (const m of Array.from(document.querySelectorAll('.notifications-toasts .notification-list-item-message'))) {
        const id = /\(([0-9a-f]{8})\)/.exec(m.textContent ?? '')?.[1];
        if (id && !(id in toasts)) toasts[id] = now;
      }
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

async function main(): Promise<void> {
  requireBuilt();
  requireCodeServer();
  const db = await createTestDatabase('ocr_bench_editor');
  process.env.OCR_DATABASE_URL = db.url;
  const store: Store = await openStore(db.url);
  const sandbox: Sandbox = createSandbox('bench-editor');
  let browser: Browser | undefined;
  let server: CodeServer | undefined;
  let outside: ChildProcess | undefined;
  const log = path.join(outputDir, 'bench-editor');
  mkdirSync(log, { recursive: true });
  try {
    const workspace = createSampleWorkspace(sandbox.workspaceDir, sandbox.env);
    installExtension(sandbox.extensionsDir);
    server = await startCodeServer(sandbox, { logFile: path.join(log, 'code-server.log') });
    browser = await launchChromium(sandbox);
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const workbench = new Workbench(page);
    await page.goto(server.url({ folder: workspace }));
    await workbench.ready();
    await workbench.activityBar.item('Ops Control Room').waitFor({ timeout: 120_000 });
    await workbench.commandPalette.run('View: Close Primary Side Bar');
    await workbench.commandPalette.run('OCR: Open Runboard');
    const runboard = new Runboard(await workbench.webview(extensionId, 'Runboard'));
    await runboard.message().waitFor({ timeout: 60_000 });
    await runboard.newSession('Bench', 'Click to output');
    const session = await until('the session', async () => (await store.listSessions()).find((s) => s.title === 'Bench'), 60_000);
    await installProbes(runboard);
    const lane = runboard.lane('A');
    let mark = 0;

    // warm-up: the lane's worktree is made by the first run
    for (let i = 0; i < 3; i++) await clickToFirstLine(runboard, lane, ++mark);
    const inEditor: number[] = [];
    for (let i = 0; i < RUNS; i++) inEditor.push(await clickToFirstLine(runboard, lane, ++mark, 'editor'));
    console.error(`in-editor worker: ${RUNS} runs`);

    const cancels: number[] = [];
    for (let i = 0; i < CANCELS; i++) cancels.push(await cancelToCanceled(runboard, lane, ++mark));
    console.error(`cancel: ${CANCELS} runs`);

    // the editor's worker paused, an `ocr worker` process beside the editor serves the lane
    await workbench.commandPalette.run('OCR: Toggle Worker');
    const worktrees = path.join(sandbox.root, 'outside-worktrees');
    outside = spawn(process.execPath, [path.join(repoRoot, 'dist', 'ocr.js'), 'worker', '--db', db.url, '--id', 'bench-outside', '--concurrency', '4', '--worktrees', worktrees], {
      cwd: workspace,
      env: { ...sandbox.env, OCR_DATABASE_URL: db.url },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    if (outside.pid) sandbox.adoptProcessGroup(outside.pid);
    let outsideErr = '';
    outside.stderr?.on('data', (b: Buffer) => (outsideErr += b.toString()));
    await until('the outside worker to register', async () => (await store.listWorkers()).some((w) => w.id === 'bench-outside'), 30_000).catch(() => {
      throw new Error(`ocr worker did not start: ${outsideErr}`);
    });
    for (let i = 0; i < 3; i++) await clickToFirstLine(runboard, lane, ++mark);
    const outsideRuns: number[] = [];
    for (let i = 0; i < RUNS; i++) outsideRuns.push(await clickToFirstLine(runboard, lane, ++mark, 'outside'));
    console.error(`outside worker: ${RUNS} runs`);
    if (outside.pid) await killProcessGroup(outside.pid);
    outside = undefined;
    await workbench.commandPalette.run('OCR: Toggle Worker');

    // with the Runboard out of sight (an editor in front of it), a finished run is announced by a notification
    await installToastProbe(page);
    await workbench.commandPalette.run('File: New Untitled Text File');
    await page.locator('.tab.active', { hasText: 'Untitled' }).waitFor({ timeout: 30_000 });
    const notices: number[] = [];
    for (let i = 0; i < NOTIFICATIONS; i++) {
      const run = await store.createRun({ session_id: session.id, lane: 'B', intent: 'sleep 0.2; echo "last $(date +%s%3N)"' });
      const shownAt = await until('the notification', async () => (await page.evaluate(() => (window as unknown as { ocrToasts: Record<string, number> }).ocrToasts))[shortId(run.id)], 30_000);
      const events = await store.listEvents(run.id, 0, 1000);
      const last = events.map((e) => /^last (\d+)$/.exec(e.text)?.[1]).find(Boolean);
      if (!last) throw new Error(`run ${run.id} printed no "last" line`);
      notices.push(shownAt - Number(last));
      await workbench.notifications.dismissAll();
    }

    const table = [
      ['Run click → its card shown (queued), editor worker', stats(cardTimes.editor ?? []), ''],
      ['Run click → first line reaches the page (not yet shown), editor worker', stats(arrivalTimes.editor ?? []), ''],
      ['Run click → first line shown, editor worker', stats(inEditor), 'p50 ≤ 100, p99 ≤ 300'],
      ['Run click → first line shown, `ocr worker` process', stats(outsideRuns), ''],
      ['Cancel click → lane shows canceled', stats(cancels), 'p99 ≤ 300'],
      ['last line printed → notification shown', stats(notices), ''],
    ] as const;
    const cpu = os.cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
    console.log(`\nEditor benchmark: code-server ${codeServerVersion} + Chromium (headless), ${os.cpus().length} cores (${cpu}), Node ${process.version}, PostgreSQL at ${new URL(db.url).host}\n`);
    console.log('| measure | runs | p50 ms | p95 ms | p99 ms | max ms | target |');
    console.log('|---|--:|--:|--:|--:|--:|---|');
    for (const [what, s, target] of table) {
      const met = target === '' ? '' : what.startsWith('Run') ? (s.p50 <= 100 && s.p99 <= 300 ? ' ✓' : ' ✗') : s.p99 <= 300 ? ' ✓' : ' ✗';
      console.log(`| ${what} | ${s.n} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} | ${ms(s.max)} | ${target}${met} |`);
    }
  } catch (e) {
    const page = browser?.contexts()[0]?.pages()[0];
    await page?.screenshot({ path: path.join(log, 'failed.png') }).catch(() => undefined);
    throw e;
  } finally {
    if (outside?.pid) await killProcessGroup(outside.pid).catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await sandbox.dispose();
    await store.close();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
