/** Curve helpers of the verdicts: interpolation, comparison on a common grid, levels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunResult } from '../../../src/experiments/reproduce/preset.ts';
import { compareCurves, divergedAt, firstReach, mdTable, tailGeoMean, valueAt, type Curve } from '../../../src/experiments/reproduce/series.ts';

const curve = (x: number[], y: number[]): Curve => ({ x, y, min: y, max: y, seeds: 1 });

test('valueAt interpolates linearly inside the range and is null outside', () => {
  const c = curve([0, 10, 20], [1, 3, 2]);
  assert.equal(valueAt(c, 5), 2);
  assert.equal(valueAt(c, 20), 2);
  assert.equal(valueAt(c, 21), null);
  assert.equal(valueAt(c, -1), null);
});

test('compareCurves uses the union of both grids inside the common range', () => {
  const a = curve([0, 2, 4], [1, 0.5, 0.25]);
  const b = curve([0, 1, 3, 8], [1, 0.9, 0.2, 0.1]);
  // Common range [0, 4]: grid 0, 1, 2, 3, 4 (b at 4 interpolated: 0.2 − 0.1/5 = 0.18).
  assert.deepEqual(compareCurves(a, b, { lowerIsBetter: true }), { points: 5, wins: 3, fraction: 0.6 });
  assert.deepEqual(compareCurves(a, b, { lowerIsBetter: true, from: 0.5 }), { points: 4, wins: 2, fraction: 0.5 });
  assert.ok(Number.isNaN(compareCurves(a, curve([5, 6], [0, 0]), { lowerIsBetter: true }).fraction));
});

test('firstReach, tailGeoMean and mdTable', () => {
  const c = curve([0, 1, 2, 3], [1, 0.1, 0.01, 0.001]);
  assert.equal(firstReach(c, 0.05, true), 2);
  assert.equal(firstReach(c, 1e-6, true), null);
  assert.ok(Math.abs(tailGeoMean(c, 0.5) - Math.sqrt(0.01 * 0.001)) < 1e-15);
  assert.equal(mdTable(['a', 'b'], [['1|2', 'x']]), '| a | b |\n|---|---|\n| 1\\|2 | x |');
});

test('divergedAt names the iteration (and the seeds) of diverged runs, null when none diverged', () => {
  const run = (seed: number, message?: string): RunResult => ({ id: 'r', seed, dir: '', status: message ? 'diverged' : 'completed', ...(message ? { message } : {}), rows: [] });
  const msg = (t: number) => `diverged at iteration ${t}: agent 0's x has non-finite entries (try smaller step sizes)`;
  assert.equal(divergedAt([run(1)]), null);
  assert.equal(divergedAt([run(1, msg(9))]), 'diverged at iteration 9');
  assert.equal(divergedAt([run(1), run(2, msg(5)), run(3, msg(12))]), 'diverged at iterations 5, 12 (seeds 2, 3 of 3)');
});
