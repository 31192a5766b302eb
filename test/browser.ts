/**
 * Headless Chromium for the page tests: Debian's `chromium` driven by
 * playwright-core (no browser download). Tests skip with `chromiumSkip` when
 * the executable is absent (install: apt-get install -y chromium; see README;
 * DBO_CHROMIUM names another executable). `openPage` records the page's
 * console errors and warnings, uncaught errors and every request it makes.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

export const CHROMIUM = process.env.DBO_CHROMIUM ?? '/usr/bin/chromium';

/** `skip` option of a browser test: false when chromium is there, else the reason. */
export const chromiumSkip: string | false = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}`;

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface WatchedPage {
  readonly page: Page;
  /** Console errors and warnings, and uncaught page errors. */
  readonly errors: string[];
  /** Every URL the page requested. */
  readonly requests: string[];
}

export async function watchedPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  return { page, errors, requests };
}
