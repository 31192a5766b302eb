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
import type { Browser } from 'playwright-core';
import { chromiumSkip, launchChromium, watchedPage, type WatchedPage } from '../browser.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';
import { assertOneLineError, runMain } from '../report/fixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/dbo.mjs', import.meta.url));
const root = tempDir('dbo-live-test-');
after(() => rmSync(root, { recursive: true, force: true }));
/** One chromium for the page tests, started on first use. */
let chromium: Promise<Browser> | undefined;
const browserOnce = () => (chromium ??= launchChromium());
after(async () => (await chromium)?.close());

/** A 12-agent ring run of SPARKLE on a heterogeneous noisy quadratic, `iterations` long, a row every `evalEvery` iterations. */
function writeConfig(name: string, iterations: number, evalEvery = 100): string {
  const instance = writeQuadratic(root, { agents: 12, dx: 6, dy: 6, problemClass: 'global', heterogeneity: 1, noise: 0.02 }, 7);
  const file = join(root, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ name, seed: 1, iterations, evalEvery, problem: { type: 'quadratic', file: instance }, topology: { type: 'ring', agents: 12 }, algorithm: { name: 'sparkle', alpha: 0.0005 } }),
  );
  return file;
}

interface Started {
  child: ChildProcess;
  url: Promise<string>;
  exit: Promise<number | null>;
  output: () => string;
  /** Stops (SIGSTOP) and continues (SIGCONT) the command and the processes it started. */
  pause: () => void;
  resume: () => void;
}

/** Starts `dbo ARGS... --serve 0` in its own process group and resolves with the live view's address once printed. */
function startDbo(...args: string[]): Started {
  const child = spawn(process.execPath, [BIN, ...args, '--quiet', '--serve', '0'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
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
  const signal = (s: NodeJS.Signals) => () => {
    if (child.exitCode === null) process.kill(-child.pid!, s);
  };
  return { child, url, exit, output: () => text, pause: signal('SIGSTOP'), resume: signal('SIGCONT') };
}

/** Points plotted on the first panel's curves (‖∇Φ(x̄)‖²): the vertices of their SVG paths. */
const plotted = () => [...document.querySelectorAll('#charts .panel:first-child svg .mark-line path')].map((p) => (p.getAttribute('d')?.match(/[ML]/g) ?? []).length).reduce((a, b) => a + b, 0);
const PLOTTED = `(${plotted.toString()})()`;

/**
 * Opens the live page and checks that its curves gain points while the
 * command runs: the command is paused (SIGSTOP) whenever the test looks, so
 * that on a busy machine it cannot end before the page has been seen to grow.
 */
async function watchGrowth(browser: Browser, run: Started, screenshot?: { atPoints: number; path: string }): Promise<WatchedPage & { url: string }> {
  const url = await run.url;
  const watched = await watchedPage(browser);
  const { page } = watched;
  const sample = () => page.evaluate(`({ points: ${PLOTTED}, state: document.getElementById('state').textContent })`) as Promise<{ points: number; state: string }>;
  const loaded = page.goto(url, { waitUntil: 'load' });
  run.resume();
  try {
    await loaded;
  } catch (e) {
    // Say what the command printed and whether it had ended, so that a failure here can be told apart from a server that never answered.
    throw new Error(`${(e as Error).message}\ndbo exit code: ${run.child.exitCode} (null: still running); its output:\n${run.output()}`);
  }
  await page.waitForFunction(`${PLOTTED} >= 2`);
  run.pause();
  const first = await sample();
  assert.equal(first.state, 'running', `the run was over before the page saw it grow (${run.output()})`);
  run.resume();
  await page.waitForFunction(`${PLOTTED} > ${first.points}`);
  run.pause();
  await page.waitForTimeout(300);
  const second = await sample();
  assert.equal(second.state, 'running', 'the curves grew while the run was going');
  assert.ok(second.points > first.points, `points ${first.points} → ${second.points}`);
  run.resume();
  if (screenshot) {
    await page.waitForFunction(`${PLOTTED} >= ${screenshot.atPoints}`);
    run.pause();
    await page.waitForTimeout(500);
    await page.screenshot({ path: screenshot.path });
    run.resume();
  }
  return { ...watched, url };
}

/** After the command ended: the page says so, made no error and no request off 127.0.0.1, and nothing listens any more. */
async function checkEnded(w: WatchedPage & { url: string }): Promise<void> {
  await w.page.waitForFunction(`document.getElementById('state').textContent === 'finished'`);
  await w.page.waitForTimeout(500);
  assert.deepEqual(w.errors, []);
  const origin = new URL(w.url).origin;
  assert.deepEqual(
    w.requests.filter((r) => !r.startsWith(`${origin}/`)),
    [],
    'every request goes to the live server on 127.0.0.1',
  );
  await assert.rejects(fetch(w.url), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED');
}

function stopAll(run: Started): void {
  if (run.child.exitCode === null) {
    process.kill(-run.child.pid!, 'SIGKILL');
    run.resume();
  }
}

function rowsOf(file: string): number {
  return readFileSync(file, 'utf8').trim().split('\n').length;
}

test('live page in headless chromium: curves grow while the run goes, agents coloured, server stops at the end', { skip: chromiumSkip, timeout: 120_000 }, async () => {
  // Long enough (201 rows, a few seconds of CPU) that the page loads before the run ends on a busy machine:
  // the command has to run while the page loads, since its own process serves the page.
  const config = writeConfig('sparkle-ring-12', 80_000, 400);
  const out = join(root, 'live-run');
  const browserStarting = browserOnce();
  const run = startDbo('run', config, '--out', out, '--threads', '1');
  await run.url;
  run.pause();
  const browser = await browserStarting;
  try {
    const shot = process.env.DBO_LIVE_SCREENSHOT;
    const w = await watchGrowth(browser, run, shot ? { atPoints: 134, path: shot } : undefined);
    const { page } = w;
    // The charts: a Vega SVG per metric, each with its curve; the topology with the 12 agents coloured by distance.
    assert.deepEqual(await page.locator('#charts .panel').evaluateAll((ps) => ps.map((p) => (p as HTMLElement).dataset.column)), ['hypergradNormSq', 'consensusX', 'upperLoss']);
    assert.equal(await page.locator('#charts .panel svg .mark-line path').count(), 3, 'a curve per panel');
    assert.equal(await page.locator('#topology circle.agent').count(), 12, 'twelve agents drawn');
    const fills = await page.locator('#topology circle.agent').evaluateAll((cs) => cs.map((c) => c.getAttribute('fill')));
    assert.ok(fills.every((f) => /^rgb\(/.test(f ?? '')), `agents coloured by distance to consensus: ${fills.join(' ')}`);
    assert.ok(new Set(fills).size > 1, 'agents at different distances get different colours');

    assert.equal(await run.exit, 0, run.output());
    await checkEnded(w);
    const rows = rowsOf(join(out, 'metrics.jsonl'));
    assert.equal(rows, 201);
    assert.equal(await page.evaluate(PLOTTED), rows, 'at the end, one point per row of metrics.jsonl');
  } finally {
    stopAll(run);
    await Promise.all(browser.contexts().map((c) => c.close()));
  }
});

test('live sweep page: one curve per case growing while the cases run, the cases listed with their status', { skip: chromiumSkip, timeout: 120_000 }, async () => {
  const base = JSON.parse(readFileSync(writeConfig('sweep-base', 8_000), 'utf8')) as Record<string, unknown>;
  const sweep = join(root, 'sweep.json');
  writeFileSync(sweep, JSON.stringify({ name: 'live-sweep', base, vary: { 'algorithm.alpha': [0.0005, 0.001] } }));
  const out = join(root, 'live-sweep');
  const browserStarting = browserOnce();
  const run = startDbo('sweep', sweep, '--out', out, '--jobs', '2');
  await run.url;
  run.pause();
  const browser = await browserStarting;
  try {
    const w = await watchGrowth(browser, run);
    assert.equal(await run.exit, 0, run.output());
    await checkEnded(w);
    const { page } = w;
    const ids = ['alpha-0.0005', 'alpha-0.001'];
    assert.deepEqual(await page.locator('#cases tbody tr td:first-child').allTextContents(), ids);
    assert.deepEqual(await page.locator('#cases tbody tr td:nth-child(2)').allTextContents(), ['completed', 'completed']);
    assert.equal(await page.locator('#charts .panel:first-child svg .mark-line path').count(), 2, 'a curve per case');
    const rows = ids.map((id) => rowsOf(join(out, id, 'metrics.jsonl')));
    assert.deepEqual(rows, [81, 81]);
    assert.equal(await page.evaluate(PLOTTED), 162, 'every row of both cases plotted');
  } finally {
    stopAll(run);
    await Promise.all(browser.contexts().map((c) => c.close()));
  }
});

test('--stay: the page is served after the run ends, until Ctrl-C', { timeout: 120_000 }, async () => {
  const out = join(root, 'stay-run');
  const run = startDbo('run', writeConfig('stay', 500), '--out', out, '--threads', '1', '--stay');
  try {
    const url = await run.url;
    while (!/still serving/.test(run.output())) await new Promise((r) => setTimeout(r, 100));
    assert.equal(run.child.exitCode, null, 'still running after the run ended');
    const page = await fetch(url);
    assert.equal(page.status, 200);
    const stream = await (await fetch(`${url}events`)).text();
    assert.equal(stream.match(/^event: row$/gm)?.length, rowsOf(join(out, 'metrics.jsonl')), 'the whole run replayed');
    assert.match(stream, /event: end\n/, 'then the end');
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0, run.output());
    await assert.rejects(fetch(url), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'ECONNREFUSED');
  } finally {
    stopAll(run);
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
