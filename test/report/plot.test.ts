/**
 * `dbo plot` from real run directories: axis titles carry the columns, one
 * line path per curve (seeds of a setting merged into a mean with a band),
 * log ticks when asked, PNG of the requested width that decodes, and bad
 * input as one line with exit status 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { collectRuns, readRun } from '../../src/report/run-data.ts';
import { plotSpec } from '../../src/report/plot.ts';
import { tempDir } from '../helpers.ts';
import { assertOneLineError, runMain, tinyConfig, tinyInstance, tinyRun } from './fixtures.ts';

const root = tempDir('dbo-plot-test-');
after(() => rmSync(root, { recursive: true, force: true }));
const runs: string[] = [];

before(async () => {
  const instance = tinyInstance(root);
  for (const seed of [1, 2, 3]) runs.push(await tinyRun(root, `ring-${seed}`, tinyConfig(instance, { seed })));
  runs.push(await tinyRun(root, 'complete', tinyConfig(instance, { topology: { type: 'complete', agents: 5 } })));
  runs.push(await tinyRun(root, 'gossip', tinyConfig(instance, { algorithm: { name: 'gossip-dsbo' } })));
});

/** The `<g>` groups of a given class in vega's SVG, with their content up to the matching close. */
function linePaths(svg: string): number {
  const groups = svg.split('<g class="mark-line role-mark').slice(1);
  return groups.reduce((n, g) => n + (g.slice(0, g.indexOf('</g>')).match(/<path /g)?.length ?? 0), 0);
}

function axisTitles(svg: string): string[] {
  return [...svg.matchAll(/role-axis-title[\s\S]*?<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

function axisLabels(svg: string): string[] {
  return [...svg.matchAll(/role-axis-label[^>]*>([\s\S]*?)<\/g>/g)].flatMap((m) => [...m[1]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => t[1]!));
}

test('SVG: axes carry the columns, one path per curve, seeds merged, bytes in MB', async () => {
  const out = join(root, 'cmp.svg');
  const r = await runMain('plot', ...runs, '--x', 'bytes', '--y', 'hypergradNormSq', '--out', out);
  assert.equal(r.code, 0, r.stderr);
  const svg = readFileSync(out, 'utf8');
  const titles = axisTitles(svg);
  assert.ok(titles.some((t) => t.startsWith('bytes') && t.includes('MB')), titles.join(' | '));
  assert.ok(titles.some((t) => t.startsWith('hypergradNormSq')), titles.join(' | '));
  // 5 runs: ring × 3 seeds (one mean curve), complete, gossip-dsbo → 3 curves.
  assert.equal(linePaths(svg), 3);
  assert.match(r.stdout, /3 curve\(s\)/);
  assert.match(r.stdout, /mean of 3/);
  const legend = [...svg.matchAll(/role-legend-label[\s\S]*?<\/g>/g)].map((m) => m[0]).join('');
  for (const label of ['d-soba, topology=ring', 'd-soba, topology=complete', 'gossip-dsbo']) assert.ok(legend.includes(label), `legend has ${label}`);
  // The band is drawn only for the seed group.
  assert.equal(svg.split('<g class="mark-area role-mark').length - 1, 1);
  // The spec is next to the image, with the data inline and bytes converted to MB.
  const spec = JSON.parse(readFileSync(join(root, 'cmp.vl.json'), 'utf8'));
  const rows = spec.data.values as { run: string; x: number; seeds: number }[];
  const ring = readRun(runs[0]!);
  const lastBytes = ring.rows.at(-1)!.bytes as number;
  assert.ok(rows.some((d) => d.run === 'd-soba, topology=ring' && d.seeds === 3 && Math.abs(d.x - lastBytes / 1e6) < 1e-12));
});

test('mean and min–max band of the seeds on the common grid', () => {
  const data = [runs[0]!, runs[1]!, runs[2]!].map((d) => readRun(d));
  const { panels } = plotSpec(data, { x: 'iteration', y: ['upperLoss'] });
  const s = panels[0]!.series[0]!;
  assert.equal(s.n, 3);
  for (const [i, p] of s.points.entries()) {
    const ys = data.map((r) => r.rows[i]!.upperLoss as number);
    assert.equal(p.x, data[0]!.rows[i]!.iteration);
    assert.ok(Math.abs(p.y - (ys[0]! + ys[1]! + ys[2]!) / 3) < 1e-12);
    assert.equal(p.lo, Math.min(...ys));
    assert.equal(p.hi, Math.max(...ys));
  }
  // Different seeds really differ (noise 0.2), so the band has width.
  assert.ok(s.points.some((p) => p.hi > p.lo));
});

test('log ticks when asked, linear when not', async () => {
  const logOut = join(root, 'log.svg');
  assert.equal((await runMain('plot', runs[3]!, '--y', 'upperLoss', '--log-y', '--out', logOut)).code, 0);
  const logLabels = axisLabels(readFileSync(logOut, 'utf8'));
  assert.ok(logLabels.some((l) => /^\d(\.\d+)?e[-+]?\d+$/.test(l)), `log axis labels in powers of ten: ${logLabels.join(' ')}`);
  const spec = JSON.parse(readFileSync(join(root, 'log.vl.json'), 'utf8'));
  assert.equal(spec.layer[1].encoding.y.scale.type, 'log');

  const linOut = join(root, 'lin.svg');
  assert.equal((await runMain('plot', runs[3]!, '--y', 'upperLoss', '--no-log-y', '--out', linOut)).code, 0);
  assert.ok(!axisLabels(readFileSync(linOut, 'utf8')).some((l) => /e[-+]?\d+$/.test(l)));
  assert.notEqual(JSON.parse(readFileSync(join(root, 'lin.vl.json'), 'utf8')).layer[1].encoding.y.scale.type, 'log');

  // Automatic: ‖∇Φ‖² falls by decades on the complete graph → log.
  assert.equal(plotSpec([readRun(runs[3]!)], { y: ['hypergradNormSq'] }).panels[0]!.log, true);
});

test('several y columns: one panel each', async () => {
  const out = join(root, 'two.svg');
  assert.equal((await runMain('plot', runs[3]!, runs[4]!, '--y', 'hypergradNormSq,consensusX', '--out', out)).code, 0);
  const svg = readFileSync(out, 'utf8');
  assert.equal(linePaths(svg), 4);
  const titles = axisTitles(svg);
  assert.ok(titles.some((t) => t.startsWith('consensusX')));
});

/** Decodes a PNG's chunks and inflates its pixels: returns width, height and the raw scanline length check. */
function decodePng(buf: Buffer): { width: number; height: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'PNG signature');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      channels = ({ 2: 3, 6: 4, 0: 1, 4: 2 } as Record<number, number>)[data[9]!]!;
    }
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const pixels = inflateSync(Buffer.concat(idat));
  assert.equal(pixels.length, height * (1 + width * channels), 'pixel data of the declared size');
  return { width, height };
}

test('PNG: decodes to the requested width, with the SVG aspect ratio', async () => {
  const out = join(root, 'fig.png');
  const r = await runMain('plot', ...runs, '--out', out, '--width', '900');
  assert.equal(r.code, 0, r.stderr);
  const { width, height } = decodePng(readFileSync(out));
  assert.equal(width, 900);
  await runMain('plot', ...runs, '--out', join(root, 'fig.svg'));
  const svg = readFileSync(join(root, 'fig.svg'), 'utf8');
  const [, w, h] = /<svg[^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg)!;
  assert.ok(Math.abs(height - (900 * Number(h)) / Number(w)) <= 1, `height ${height}`);
  assert.match(r.stdout, /900×\d+ px/);
  assert.ok(existsSync(join(root, 'fig.vl.json')));
});

test('a directory of runs and a single run directory (default output inside it)', async () => {
  const r = await runMain('plot', runs[3]!);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(runs[3]!, 'plot.svg')) && existsSync(join(runs[3]!, 'plot.vl.json')));
  assert.equal(collectRuns(root).runs.length, 5);
});

test('bad input: one line, exit 2, nothing written', async () => {
  const notRun = join(root, 'not-a-run');
  mkdirSync(notRun, { recursive: true });
  writeFileSync(join(notRun, 'notes.txt'), 'hello');
  const out = join(root, 'bad.svg');
  assertOneLineError(await runMain('plot', notRun, '--out', out), /not-a-run: not a run directory/, 'not a run');
  assertOneLineError(await runMain('plot', join(root, 'missing'), '--out', out), /no such directory/, 'missing directory');
  assertOneLineError(await runMain('plot', runs[0]!, '--y', 'accuracyy', '--out', out), /--y accuracyy: no such column .*available: .*hypergradNormSq/, 'unknown y column');
  assertOneLineError(await runMain('plot', runs[0]!, '--x', 'nope', '--out', out), /--x nope: no such column/, 'unknown x column');
  assertOneLineError(await runMain('plot', runs[0]!, '--x', 'hypergradNormSq', '--out', out), /--x hypergradNormSq: not monotone/, 'non-monotone x');
  assertOneLineError(await runMain('plot', runs[0]!, '--out', join(root, 'bad.pdf')), /expected a file name ending in .svg or .png/, 'bad extension');
  assert.equal(existsSync(out), false);
  // Files the plot did not write are not replaced.
  const mine = join(root, 'mine.svg');
  writeFileSync(mine, 'precious');
  assertOneLineError(await runMain('plot', runs[0]!, '--out', mine), /already exists and was not written by dbo plot/, 'foreign file');
  assert.equal(readFileSync(mine, 'utf8'), 'precious');
});
