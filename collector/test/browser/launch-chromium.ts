/**
 * Launches Debian's Chromium with playwright-core (`npx playwright install` cannot download here;
 * the project's toolchain notes). Used by the collector's plain-page test and the plugin's browser host
 * test. Fails with a clear message when Chromium is missing instead of skipping: a browser test
 * that silently does not run proves nothing.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { missingBinaryMessage } from '../helpers/system-binary';

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
    throw new Error(`Chromium is not at ${CHROMIUM_PATH}: ${missingBinaryMessage('chromium')}`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
