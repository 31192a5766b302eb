/**
 * The fused SOBA path (AgentOracle.sobaPoints): the logistic-HPO oracle's
 * one-pass evaluation at one or two points equals the separate calls bit for
 * bit (dense and sparse rows, minibatches and full batches), leaves the
 * probability cache valid, and the counting wrapper counts one gradF, gradG,
 * JVP and HVP per point, with or without an inner fused path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeDataset } from '../../src/data/dataset.ts';
import { CountingOracle } from '../../src/problems/counting.ts';
import { LogregHpoOracle } from '../../src/problems/logreg-hpo.ts';
import { fullBatch, sobaPointsSeparately, type AgentOracle, type Batch, type SobaPoint } from '../../src/problems/types.ts';
import { Rng } from '../../src/random/rng.ts';
import { randomQuadratic } from '../helpers.ts';

function setup(seed: number, n: number, d: number, c: number, density = 1) {
  const rng = new Rng(seed, 'soba-points');
  const ds = (rows: number) =>
    makeDataset(rows, d, c, Float64Array.from({ length: rows * d }, () => (rng.uniform() < density ? rng.normal() : 0)), Int32Array.from({ length: rows }, () => rng.int(c)));
  return { train: ds(n), val: ds(n + 3), rng };
}

function point(rng: Rng, dx: number, dy: number): SobaPoint {
  const v = (n: number, s: number) => Float64Array.from({ length: n }, () => s * rng.normal());
  const out = (n: number) => new Float64Array(n).fill(NaN);
  return { x: v(dx, 0.3), y: v(dy, 0.5), z: v(dy, 1), fx: out(dx), fy: out(dy), gy: out(dy), hz: out(dy), jz: out(dx) };
}

function copyOutputs(p: SobaPoint): SobaPoint {
  return { x: p.x, y: p.y, z: p.z, fx: new Float64Array(p.fx.length), fy: new Float64Array(p.fy.length), gy: new Float64Array(p.gy.length), hz: new Float64Array(p.hz.length), jz: new Float64Array(p.jz.length) };
}

function sameBits(got: Float64Array, want: Float64Array, what: string): void {
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.fail(`${what}: entry ${i} is ${got[i]}, the separate calls give ${want[i]}`);
}

const batchOf = (indices: number[]): Batch => ({ full: false, size: indices.length, indices: Int32Array.from(indices), seed: 0 });

for (const [label, n, d, c, density] of [
  ['dense, d=7, c=3', 20, 7, 3, 1],
  ['dense, d=200, c=2', 12, 200, 2, 1],
  ['sparse, d=40, c=2', 30, 40, 2, 0.1],
] as const)
  test(`logreg HPO sobaPoints equals the separate calls bit for bit (${label})`, () => {
    const s = setup(n * d + c, n, d, c, density);
    const fusedOracle = new LogregHpoOracle(s.train, s.val);
    const separateOracle = new LogregHpoOracle(s.train, s.val);
    assert.equal(fusedOracle.sparseRows.train, density < 1);
    const { dx, dy } = fusedOracle;
    for (const [upper, lower] of [
      [batchOf([3, 0, 7, 7, 11]), batchOf([1, 4, 9, 2])],
      [batchOf([5]), batchOf([0, 2, 6])],
      [fullBatch(), fullBatch()],
    ] as const)
      for (const k of [1, 2]) {
        const points = Array.from({ length: k }, () => point(s.rng, dx, dy));
        const expected = points.map(copyOutputs);
        fusedOracle.sobaPoints(points, upper, lower);
        sobaPointsSeparately(separateOracle, expected, upper, lower);
        for (const [j, p] of points.entries())
          for (const key of ['fx', 'fy', 'gy', 'hz', 'jz'] as const) sameBits(p[key], expected[j]![key], `${k} point(s), point ${j}, ${key}, ${upper.full ? 'full' : 'minibatch'}`);
        // The cache now holds the last point's probabilities: an HVP there equals a fresh oracle's.
        const last = points[k - 1]!;
        const h = new Float64Array(dy);
        const fresh = new Float64Array(dy);
        fusedOracle.hvp(last.x, last.y, points[0]!.z, lower, h);
        new LogregHpoOracle(s.train, s.val).hvp(last.x, last.y, points[0]!.z, lower, fresh);
        sameBits(h, fresh, `HVP after the fused pass (${k} point(s))`);
      }
  });

test('counting: sobaPoints counts one gradF, gradG, JVP and HVP per point, with or without an inner fused path', () => {
  const s = setup(5, 10, 4, 2);
  const inners: AgentOracle[] = [
    new LogregHpoOracle(s.train, s.val),
    randomQuadratic({ agents: 2, dx: 2, dy: 3, problemClass: 'global', heterogeneity: 0.5, noise: 0.1 }, 7).agents[0]!,
  ];
  for (const inner of inners) {
    const o = new CountingOracle(inner);
    const points = [point(s.rng, inner.dx, inner.dy), point(s.rng, inner.dx, inner.dy)];
    o.sobaPoints(points, batchOf([0, 1, 2]), batchOf([3, 4]));
    o.sobaPoints(points.slice(0, 1), batchOf([5]), fullBatch());
    const pick = (r: Record<string, number>) => ({ gradF: r.gradF, gradG: r.gradG, hvp: r.hvp, jvp: r.jvp });
    assert.deepEqual(pick(o.counts.calls), { gradF: 3, gradG: 3, hvp: 3, jvp: 3 });
    const full = Number.isFinite(inner.lowerSamples) ? inner.lowerSamples : 1;
    assert.deepEqual(pick(o.counts.samples), { gradF: 2 * 3 + 1, gradG: 2 * 2 + full, hvp: 2 * 2 + full, jvp: 2 * 2 + full });
  }
});
