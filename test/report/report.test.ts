/**
 * `dbo report`: a self-contained HTML file for a run, a sweep and a
 * directory of runs with a verdict: inline charts, final metrics with
 * communication and oracle totals, the topology with λ and ρ, the resolved
 * configs, and nothing fetched from elsewhere. (Loading it in a real browser
 * is tested in test/report/browser.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSweep } from '../../src/experiments/sweep.ts';
import { markdownToHtml } from '../../src/report/html.ts';
import { readRun } from '../../src/report/run-data.ts';
import { tempDir } from '../helpers.ts';
import { assertOneLineError, runMain, tinyConfig, tinyInstance, tinyRun } from './fixtures.ts';

const root = tempDir('dbo-report-test-');
after(() => rmSync(root, { recursive: true, force: true }));
let instance = '';
let single = '';

before(async () => {
  instance = tinyInstance(root);
  single = await tinyRun(root, 'single', tinyConfig(instance));
});

/** Every URL the page could fetch: src/href attributes and CSS url(...) other than in-page fragments. */
function externalReferences(html: string): string[] {
  const refs = [...html.matchAll(/\s(?:src|href|action)="([^"#][^"]*)"/g)].map((m) => m[1]!);
  const css = [...html.matchAll(/url\((?!#)([^)]*)\)/g)].map((m) => m[1]!);
  const imports = [...html.matchAll(/@import|<link\b|<iframe\b|<img\b[^>]*src="http/g)].map((m) => m[0]);
  return [...refs, ...css, ...imports];
}

test('a run: charts inline, final metrics and totals, topology with λ and ρ, config', async () => {
  const r = await runMain('report', single);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `report: ${join(single, 'report.html')}`);
  const html = readFileSync(join(single, 'report.html'), 'utf8');
  assert.deepEqual(externalReferences(html), []);
  assert.ok((html.match(/<svg[^>]*class="marks"/g) ?? []).length >= 3, 'vega charts inline');
  assert.match(html, /hypergradNormSq \(‖∇Φ\(x̄\)‖²\)/);
  const run = readRun(single);
  const last = run.rows.at(-1)!;
  assert.ok(html.includes(`<td class="num">${(last.hypergradNormSq as number).toPrecision(4)}</td>`) || html.includes((last.hypergradNormSq as number).toExponential(3)));
  assert.ok(html.includes(`<td class="num">${last.rounds}</td>`), 'rounds total');
  assert.ok(html.includes(`<td class="num">${last.gradF}</td>`), 'gradF total');
  assert.ok(html.includes(((last.bytes as number) / 1e6).toFixed(3)), 'MB sent');
  const t = run.topology!;
  assert.match(html, new RegExp(`ring: 5 agents, 5 edges, λ = ${t.lambda.toPrecision(4)}, ρ = ${t.rho.toPrecision(4)}`));
  assert.equal((html.match(/<circle class="agent"/g) ?? []).length, 5);
  assert.equal((html.match(/<line x1=/g) ?? []).length, 5);
  assert.ok(html.includes('&quot;name&quot;: &quot;d-soba&quot;'), 'resolved config shown');
  // Clip-path ids are unique across the charts of one page.
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(new Set(ids).size, ids.length);
  // Rewriting it is fine; replacing someone else's file is not.
  assert.equal((await runMain('report', single)).code, 0);
  const foreign = join(root, 'foreign.html');
  writeFileSync(foreign, '<p>mine</p>');
  assertOneLineError(await runMain('report', single, '--out', foreign), /not written by dbo report/, 'foreign file');
  assert.equal(readFileSync(foreign, 'utf8'), '<p>mine</p>');
});

test('a sweep: its cases and values, seeds merged in the charts', async () => {
  const dir = join(root, 'sweep');
  const base = JSON.parse(JSON.stringify(tinyConfig(instance))) as Record<string, unknown>;
  await runSweep({ base, vary: { 'topology.type': ['ring', 'complete'], seed: [1, 2] } }, dir, { inProcess: true });
  const r = await runMain('report', dir);
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /sweep of 4 cases/);
  assert.match(html, /<th>topology\.type<\/th>/);
  assert.match(html, /<td>topology-complete_seed-2<\/td><td>&quot;complete&quot;<\/td><td>2<\/td><td>completed<\/td>/);
  assert.match(html, /d-soba, topology=complete/);
  assert.match(html, /complete: 5 agents, 10 edges/);
  assert.deepEqual(externalReferences(html), []);
});

test('a reproduction-like directory: verdict.md shown first', async () => {
  const dir = join(root, 'repro');
  mkdirSync(dir);
  await tinyRun(dir, 'a', tinyConfig(instance));
  await tinyRun(dir, 'b', tinyConfig(instance, { algorithm: { name: 'gossip-dsbo' } }));
  writeFileSync(join(dir, 'verdict.md'), '# Verdict\n\n**reproduced**: D-SOBA beats `gossip-dsbo` <script>alert(1)</script>\n\n| algorithm | ok |\n|---|---|\n| d-soba | yes |\n');
  assert.equal((await runMain('report', dir)).code, 0);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  const verdict = html.indexOf('class="verdict"');
  assert.ok(verdict > 0 && verdict < html.indexOf('<h2>Figures</h2>'));
  assert.match(html, /<strong>reproduced<\/strong>: D-SOBA beats <code>gossip-dsbo<\/code> &lt;script&gt;/);
  assert.match(html, /<td>d-soba<\/td><td>yes<\/td>/);
  assert.match(html, /<td>a<\/td><td>d-soba<\/td>/);
  assert.match(html, /<td>b<\/td><td>gossip-dsbo<\/td>/);
});

test('markdown subset', () => {
  assert.equal(markdownToHtml('## Title\n\n- one\n- *two*\n\n```\na < b\n```'), '<h4>Title</h4>\n<ul><li>one</li><li><em>two</em></li></ul>\n<pre><code>a &lt; b</code></pre>');
});

test('bad input: not a run, one line, exit 2', async () => {
  const empty = join(root, 'empty');
  mkdirSync(empty);
  assertOneLineError(await runMain('report', empty), /empty: not a run directory/, 'empty directory');
  assertOneLineError(await runMain('report', single, '--out', join(root, 'r.txt')), /expected a file name ending in \.html/, 'bad --out');
});
