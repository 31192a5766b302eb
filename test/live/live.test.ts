/**
 * The live view end to end: a real `dbo run CONFIG --serve 0` process, its
 * page in headless chromium while the run goes on. The page loads with no
 * console errors and requests nothing but 127.0.0.1; the charts and the
 * topology are there; the curve gains points while the run proceeds and ends
 * with one point per row of metrics.jsonl; the agents are coloured by their
 * distance to consensus; the server stops when the run ends. Bad --serve
 * values and a port in use give one line and exit 2, leaving nothing behind.
 *
 * DBO_LIVE_SCREENSHOT=docs/live.png also saves a screenshot of the page
 * while the run is going (that is how docs/live.png is made).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumSkip, launchChromium, watchedPage } from '../browser.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';
import { assertOneLineError, runMain } from '../report/fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/dbo.mjs', import.meta.url));
const root = tempDir('dbo-live-test-');
after(() => rmSync(root, { recursive: true, force: true }));

/** A 12-agent ring run of SPARKLE on a heterogeneous noisy quadratic, `iterations` long, a row every 100 iterations. */
function writeConfig(name: string, iterations: number): string {
  const instance = writeQuadratic(root, { agents: 12, dx: 6, dy: 6, problemClass: 'global', heterogeneity: 1, noise: 0.02 }, 7);
  const file = join(root, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ name, seed: 1, iterations, evalEvery: 100, problem: { type: 'quadratic', file: instance }, topology: { type: 'ring', agents: 12 }, algorithm: { name: 'sparkle', alpha: 0.0005 } }),
  );
  return file;
}

/** Starts `dbo run` and resolves with the live view's address once printed. */
function startRun(config: string, out: string): { child: ChildProcess; url: Promise<string>; exit: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [BIN, 'run', config, '--out', out, '--quiet', '--threads', '1', '--serve', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /live view at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    child.on('exit', () => reject(new Error(`dbo run ended before serving:\n${text}`)));
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url, exit, output: () => text };
}

test('live page in headless chromium: curves grow while the run goes, agents coloured, server stops at the end', { skip: chromiumSkip, timeout: 120_000 }, async () => {
  const config = writeConfig('sparkle-ring-12', 20_000);
  const out = join(root, 'live-run');
  const browserStarting = launchChromium();
  const run = startRun(config, out);
  // The machine may be busy: the run is paused (SIGSTOP) whenever the test
  // looks, so that it cannot end before the page has been seen to grow.
  const pause = () => run.child.kill('SIGSTOP');
  const resume = () => run.child.kill('SIGCONT');
  const url = await run.url;
  pause();
  const browser = await browserStarting;
  try {
    const { page, errors, requests } = await watchedPage(browser);
    // Points plotted on the first panel's curve (‖∇Φ(x̄)‖²): the vertices of its SVG path.
    const plotted = () => ((document.querySelector('#charts svg .mark-line path')?.getAttribute('d') ?? '').match(/[ML]/g) ?? []).length;
    const sample = () => page.evaluate(`({ points: (${plotted.toString()})(), state: document.getElementById('state').textContent })`) as Promise<{ points: number; state: string }>;
    const goto = page.goto(url, { waitUntil: 'load' });
    resume();
    await goto;
    await page.waitForFunction(`(${plotted.toString()})() >= 2`);
    pause();
    const first = await sample();
    assert.equal(first.state, 'running', `the run was over before the page saw it grow (${run.output()})`);
    resume();
    await page.waitForFunction(`(${plotted.toString()})() > ${first.points}`);
    pause();
    await page.waitForTimeout(300);
    const second = await sample();
    assert.equal(second.state, 'running', 'the curve grew while the run was going');
    assert.ok(second.points > first.points, `points ${first.points} → ${second.points}`);
    resume();
    if (process.env.DBO_LIVE_SCREENSHOT) {
      // Two thirds of the way through, for the README.
      await page.waitForFunction(`(${plotted.toString()})() >= 134`);
      pause();
      await page.waitForTimeout(500);
      await page.screenshot({ path: process.env.DBO_LIVE_SCREENSHOT });
      resume();
    }

    // The charts: a Vega SVG per metric, each with its curve; the topology with the 12 agents coloured by distance.
    assert.deepEqual(await page.locator('#charts .panel').evaluateAll((ps) => ps.map((p) => (p as HTMLElement).dataset.column)), ['hypergradNormSq', 'consensusX', 'upperLoss']);
    assert.equal(await page.locator('#charts .panel svg .mark-line path').count(), 3, 'a curve per panel');
    assert.equal(await page.locator('#topology circle.agent').count(), 12, 'twelve agents drawn');
    const fills = await page.locator('#topology circle.agent').evaluateAll((cs) => cs.map((c) => c.getAttribute('fill')));
    assert.ok(fills.every((f) => /^rgb\(/.test(f ?? '')), `agents coloured by distance to consensus: ${fills.join(' ')}`);
    assert.ok(new Set(fills).size > 1, 'agents at different distances get different colours');

    assert.equal(await run.exit, 0, run.output());
    await page.waitForFunction(`document.getElementById('state').textContent === 'finished'`);
    await page.waitForTimeout(500);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
    assert.equal(rows, 201);
    assert.equal((await sample()).points, rows, 'at the end, one point per row of metrics.jsonl');
    assert.deepEqual(errors, []);
    const origin = new URL(url).origin;
    assert.deepEqual(
      requests.filter((r) => !r.startsWith(`${origin}/`)),
      [],
      'every request goes to the live server on 127.0.0.1',
    );
    // The run is over: nothing listens any more.
    await assert.rejects(fetch(url), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED');
  } finally {
    if (run.child.exitCode === null) {
      run.child.kill('SIGKILL');
      resume();
    }
    await browser.close();
  }
});

test('--serve: a port in use and bad port values give one line, exit 2, and write nothing', async () => {
  const config = writeConfig('bad-port', 200);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const out = join(root, 'not-written');
    assertOneLineError(await runMain('run', config, '--out', out, '--quiet', '--serve', String(port)), new RegExp(`--serve: port ${port} on 127\\.0\\.0\\.1 is in use`), 'port in use');
    assert.equal(existsSync(out), false, 'no run directory');
    assert.equal(existsSync(`${out}.partial`), false, 'no partial directory');
    for (const bad of ['abc', '65536', '80.5'])
      assertOneLineError(await runMain('run', config, '--out', out, '--quiet', '--serve', bad), /--serve: expected a port number 0–65535/, `--serve ${bad}`);
    assertOneLineError(await runMain('run', config, '--out', out, '--quiet', '--stay'), /--stay: applies with --serve only/, '--stay alone');
    assert.equal(existsSync(out), false);
  } finally {
    busy.close();
  }
});
