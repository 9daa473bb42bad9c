import { type Browser, chromium } from 'playwright-core';
import { requireBinary } from './binaries.js';
import { registerCleanup } from './cleanup.js';

/**
 * Debian's Chromium, headless, driven by playwright-core (which never downloads a browser). The flags
 * keep it off the network this machine does not have.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = requireBinary('chromium', 'chromium');
  const browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  registerCleanup(() => browser.close());
  return browser;
}
