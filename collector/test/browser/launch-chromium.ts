/**
 * Launches Debian's Chromium with playwright-core (`npx playwright install` cannot download here;
 * ../shared/TOOLCHAIN.md). Used by the collector's plain-page test and the plugin's browser host
 * test. Fails with a clear message when Chromium is missing instead of skipping: a browser test
 * that silently does not run proves nothing.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless CI box: no sandbox (root in a container), no GPU, no background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} not found: install it with apt-get install -y chromium (docs/testing-browser.md)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
