import { type Browser, chromium } from 'playwright-core';
import { chromiumPath } from './paths';
import type { Sandbox } from './sandbox';

// Offline, quiet and headless: no sandbox (tests may run as root), no GPU, no background fetches.
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];

export function launchChromium(sandbox: Sandbox): Promise<Browser> {
  // HOME too: Chromium creates ~/.pki for its certificate store.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: chromiumArgs, env: { ...sandbox.env, HOME: sandbox.root } });
}
