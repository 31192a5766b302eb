/**
 * The HTML report in a real headless browser: Debian's `chromium` driven by
 * playwright-core (no browser download). The page loads from the file
 * system with no console errors and no request outside the file itself, and
 * its charts, table and topology are there. Skips when chromium is absent
 * (install: apt-get install -y chromium; see README).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { writeReport } from '../../src/report/report.ts';
import { tempDir } from '../helpers.ts';
import { tinyConfig, tinyInstance, tinyRun } from './fixtures.ts';

const CHROMIUM = process.env.DBO_CHROMIUM ?? '/usr/bin/chromium';
const root = tempDir('dbo-browser-test-');
after(() => rmSync(root, { recursive: true, force: true }));

test('report.html in headless chromium: no console errors, no outside requests, charts present', { skip: existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}` }, async () => {
  const instance = tinyInstance(root);
  await tinyRun(root, 'ring', tinyConfig(instance));
  await tinyRun(root, 'complete', tinyConfig(instance, { topology: { type: 'complete', agents: 5 } }));
  const file = await writeReport(root);
  const url = pathToFileURL(file).href;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(url, { waitUntil: 'load' });
    assert.deepEqual(errors, []);
    assert.deepEqual(
      requests.filter((r) => r !== url),
      [],
      'no request but the file itself',
    );
    assert.ok((await page.locator('figure.chart svg.marks').count()) >= 3, 'charts');
    assert.equal(await page.locator('figure.chart svg.marks .mark-line path').count() >= 2, true, 'curves drawn');
    assert.equal(await page.locator('figure.topology circle.agent').count(), 10, 'two topologies of 5 agents');
    // The table sorts when a header is clicked (the page's script runs).
    const firstRun = () => page.locator('table.sortable').last().locator('tbody tr td').first().textContent();
    const before = await firstRun();
    await page.locator('table.sortable').last().locator('th').first().click();
    await page.locator('table.sortable').last().locator('th').first().click();
    assert.notEqual(await firstRun(), before);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
