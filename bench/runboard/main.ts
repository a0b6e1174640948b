// Runboard benchmark: feeds lanes 200,000 log lines at full speed through the real protocol (window messages, checked by
// the page's zod schemas, followRun-sized batches of 5,000) in Chromium, and prints a markdown table: time from the
// first line posted to the frame that shows the last one, frames dropped on the way, lines per second.
// Run with `npm run bench:runboard`; `--serve` keeps the dev harness up instead, `--screenshots DIR` saves the demo
// in the light, dark and high-contrast themes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { projectRequire, startHarness } from './harness';

const LINES = Number(process.env.BENCH_RUNBOARD_LINES ?? 200_000);
const chromiumPath = process.env.OCR_CHROMIUM ?? '/usr/bin/chromium';
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const frameMs = 1000 / 60;

interface PageResult {
  firstLog: number;
  lastShown: number;
  intervals: number[];
  violations: string[];
}

function ensureChromium(): void {
  if (existsSync(chromiumPath)) return;
  if (process.getuid?.() !== 0) throw new Error(`no Chromium at ${chromiumPath}: install it with \`apt-get install -y chromium\``);
  console.error(`no Chromium at ${chromiumPath}; installing Debian's chromium`);
  execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit' });
}

/** A page whose errors and warnings (the Runboard's dropped messages among them) reach the terminal. */
async function openPage(context: BrowserContext) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.error(`page ${m.type()}: ${m.text()}`);
  });
  return page;
}

async function feed(context: BrowserContext, hostUrl: string, lines: number, lanes: number) {
  const page = await openPage(context);
  await page.setViewportSize({ width: lanes > 2 ? 1600 : 1200, height: 900 });
  await page.goto(`${hostUrl}&probe=${lines}&lanes=${lanes}`);
  const handle = await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, undefined, { timeout: 300_000, polling: 100 });
  const result = (await handle.jsonValue()) as PageResult;
  const start = (await page.evaluate(() => (window as unknown as { benchStart: number }).benchStart)) as number;
  await page.close();
  const elapsed = result.lastShown - start;
  // A frame that took k frame times stands for k-1 frames not drawn.
  const dropped = result.intervals.reduce((sum, d) => sum + Math.max(0, Math.round(d / frameMs) - 1), 0);
  const longest = Math.max(0, ...result.intervals);
  return { lanes, lines, elapsed, frames: result.intervals.length + 1, dropped, longest, violations: result.violations };
}

async function main(): Promise<void> {
  const serve = process.argv.includes('--serve');
  const shotsAt = process.argv.indexOf('--screenshots');
  const harness = await startHarness();
  if (serve) {
    console.log(`Runboard dev harness: ${harness.hostUrl}&theme=dark (Ctrl+C stops it)`);
    return;
  }
  ensureChromium();
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'ocr-runboard-bench-'));
  let context: BrowserContext | undefined;
  try {
    // HOME too: Chromium creates ~/.pki for its certificate store.
    const { chromium } = projectRequire('playwright-core') as typeof import('playwright-core');
    context = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
      executablePath: chromiumPath,
      headless: true,
      args: chromiumArgs,
      env: { ...process.env, HOME: scratch },
    });
    if (shotsAt > 0) {
      const dir = path.resolve(process.argv[shotsAt + 1] ?? 'bench/out');
      mkdirSync(dir, { recursive: true });
      for (const theme of ['light', 'dark', 'high-contrast']) {
        const page = await openPage(context);
        await page.setViewportSize({ width: 1600, height: 900 });
        await page.goto(`${harness.hostUrl}&theme=${theme}`);
        await page.waitForTimeout(3500);
        await page.screenshot({ path: path.join(dir, `runboard-${theme}.png`) });
        await page.close();
        console.log(`saved ${path.join(dir, `runboard-${theme}.png`)}`);
      }
      return;
    }
    await feed(context, harness.hostUrl, 5000, 1); // warm-up: code caches and fonts
    const rows = [await feed(context, harness.hostUrl, LINES, 1), await feed(context, harness.hostUrl, LINES / 4, 4)];
    console.log(`Runboard log benchmark: Chromium ${context.browser()?.version() ?? ''} headless, ${os.cpus().length} cores, batches of 5,000 lines\n`);
    console.log('| scenario | lines | time to render the last line | frames | frames dropped | longest frame | lines/s |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const scenario = r.lanes === 1 ? 'one lane' : `${r.lanes} lanes at once`;
      const total = r.lines * r.lanes;
      console.log(
        `| ${scenario} | ${total.toLocaleString('en-US')} | ${Math.round(r.elapsed)} ms | ${r.frames} | ${r.dropped} | ${Math.round(r.longest)} ms | ${Math.round((total / r.elapsed) * 1000).toLocaleString('en-US')} |`,
      );
    }
    const violations = rows.flatMap((r) => r.violations);
    if (violations.length > 0) console.log(`\nContent-Security-Policy violations: ${[...new Set(violations)].join('; ')}`);
  } finally {
    await context?.close();
    if (!serve) await harness.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
