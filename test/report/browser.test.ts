/**
 * The HTML report in a real headless browser: Debian's `chromium` driven by
 * playwright-core (no browser download). The page loads from the file
 * system with no console errors and no request outside the file itself, and
 * its charts, table and topology are there. Skips when chromium is absent
 * (install: apt-get install -y chromium; see README).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { writeReport } from '../../src/report/report.ts';
import { chromiumSkip, launchChromium, watchedPage } from '../browser.ts';
import { tempDir } from '../helpers.ts';
import { tinyConfig, tinyInstance, tinyRun } from './fixtures.ts';

const root = tempDir('dbo-browser-test-');
after(() => rmSync(root, { recursive: true, force: true }));

test('report.html in headless chromium: no console errors, no outside requests, charts present', { skip: chromiumSkip }, async () => {
  const instance = tinyInstance(root);
  await tinyRun(root, 'ring', tinyConfig(instance));
  await tinyRun(root, 'complete', tinyConfig(instance, { topology: { type: 'complete', agents: 5 } }));
  const file = await writeReport(root);
  const url = pathToFileURL(file).href;
  const browser = await launchChromium();
  try {
    const { page, errors, requests } = await watchedPage(browser);
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
