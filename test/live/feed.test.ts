/** What the live page is sent: panels, the compiled chart spec, distances to consensus and their colours. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COLOR_DECADES, consensusDistances, distanceColors, livePanels, specEvent } from '../../src/live/feed.ts';
import { ramp } from '../../src/report/topology-svg.ts';

test('livePanels: the preferred columns a row has, at most three, log axes for the non-negative ones', () => {
  assert.deepEqual(livePanels({ iteration: 0, hypergradNormSq: 1, consensusX: 0, upperLoss: -2, lowerError: 1 }), [
    { y: 'hypergradNormSq', log: true },
    { y: 'consensusX', log: true },
    { y: 'upperLoss', log: false },
  ]);
  assert.deepEqual(livePanels({ iteration: 0, upperLoss: 'NaN', testAccuracy: 0.5 }), [
    { y: 'testAccuracy', log: false },
    { y: 'upperLoss', log: false },
  ]);
});

test('specEvent: one Vega spec per panel reading the named data source rows, one legend', async () => {
  const vl = await import('vega-lite');
  const e = specEvent(vl, [
    { y: 'hypergradNormSq', log: true },
    { y: 'upperLoss', log: false },
  ]) as { x: string; panels: { y: string; vega: { data: { name: string }[]; scales: { name: string; type: string }[]; legends?: unknown[] } }[] };
  assert.equal(e.x, 'iteration');
  assert.deepEqual(
    e.panels.map((p) => p.y),
    ['hypergradNormSq', 'upperLoss'],
  );
  for (const p of e.panels) assert.equal(p.vega.data[0]!.name, 'rows');
  assert.equal(e.panels[0]!.vega.scales.find((s) => s.name === 'y')!.type, 'log');
  assert.equal(e.panels[1]!.vega.scales.find((s) => s.name === 'y')!.type, 'linear');
  assert.equal(e.panels[0]!.vega.legends?.length, 1);
  assert.equal(e.panels[1]!.vega.legends, undefined);
});

test('consensusDistances: ‖xᵢ − x̄‖ per agent', () => {
  const d = consensusDistances([{ x: Float64Array.from([0, 0]), y: new Float64Array(1) }, { x: Float64Array.from([2, 0]), y: new Float64Array(1) }, { x: Float64Array.from([1, 3]), y: new Float64Array(1) }]);
  // x̄ = (1, 1)
  assert.deepEqual(d, [Math.SQRT2, Math.SQRT2, 2]);
});

test('distanceColors: the farthest agent yellow, COLOR_DECADES below it (or at consensus) dark', () => {
  const max = 0.5;
  const c = distanceColors([0.5, 0.05, 0.5 * 10 ** -COLOR_DECADES, 1e-12, 0], max);
  assert.deepEqual(c, [ramp(1), ramp(1 - 1 / COLOR_DECADES), ramp(0), ramp(0), ramp(0)]);
  assert.deepEqual(distanceColors([0, 0], 0), [ramp(0), ramp(0)]);
});
