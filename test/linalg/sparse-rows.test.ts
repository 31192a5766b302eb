/**
 * The CSR row kernels against the dense TypeScript reference kernels
 * (src/linalg/fused.ts): equal to 1e-12 relative, for several shapes,
 * densities, class counts (the c = 2 fast path included) and row selections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusedScratchLength, softmaxForwardRows, softmaxGradientRows, softmaxHvpRows } from '../../src/linalg/fused.ts';
import { SparseRows } from '../../src/linalg/sparse-rows.ts';
import { Rng } from '../../src/random/rng.ts';
import { maxRelErr } from '../helpers.ts';

test('SparseRows.fromDense keeps exactly the nonzeros, row by row, and density counts them', () => {
  const a = Float64Array.from([0, 1.5, 0, 0, 0, 0, -2, 0, 3]);
  const s = SparseRows.fromDense(a, 3, 3);
  assert.deepEqual(Array.from(s.rowPtr), [0, 1, 1, 3]);
  assert.deepEqual(Array.from(s.cols), [1, 0, 2]);
  assert.deepEqual(Array.from(s.vals), [1.5, -2, 3]);
  assert.equal(SparseRows.density(a, 3, 3), 3 / 9);
  assert.equal(SparseRows.density(new Float64Array(0), 0, 3), 0);
});

for (const [n, d, c, density] of [
  [40, 123, 2, 0.11],
  [25, 17, 3, 0.3],
  [12, 9, 1, 0.5],
  [30, 50, 10, 0.05],
  [8, 6, 2, 1],
] as const) {
  test(`sparse row kernels equal the dense reference to 1e-12 (n=${n}, d=${d}, c=${c}, density ${density})`, () => {
    const rng = new Rng(n * 31 + d * 7 + c, 'sparse-rows');
    const a = Float64Array.from({ length: n * d }, () => (rng.uniform() < density ? rng.normal() : 0));
    const labels = Int32Array.from({ length: n }, () => rng.int(c));
    const y = Float64Array.from({ length: d * c }, () => 0.5 * rng.normal());
    const v = Float64Array.from({ length: d * c }, () => rng.normal());
    const sp = SparseRows.fromDense(a, n, d);
    const scratch = new Float64Array(fusedScratchLength(d, c));
    for (const rows of [null, Int32Array.from({ length: Math.max(1, n >> 1) }, () => rng.int(n))]) {
      const count = rows === null ? n : rows.length;
      const [p1, p2] = [new Float64Array(count * c), new Float64Array(count * c)];
      const l1 = softmaxForwardRows(p1, a, d, rows, count, labels, y, c, scratch);
      const l2 = sp.softmaxForwardRows(p2, rows, count, labels, y, c);
      assert.ok(Math.abs(l1 - l2) <= 1e-12 * Math.abs(l1), `forward loss ${l1} vs ${l2}`);
      assert.ok(maxRelErr(p2, p1) <= 1e-12, 'forward probabilities');
      const [g1, g2] = [new Float64Array(d * c), new Float64Array(d * c).fill(7)];
      const gl1 = softmaxGradientRows(g1, p1, a, d, rows, count, labels, y, c, 1 / count, scratch);
      const gl2 = sp.softmaxGradientRows(g2, p2, rows, count, labels, y, c, 1 / count, new Float64Array(2 * c));
      assert.ok(Math.abs(gl1 - gl2) <= 1e-12 * Math.abs(gl1), 'gradient pass loss');
      assert.ok(maxRelErr(g2, g1) <= 1e-12, `gradient: ${maxRelErr(g2, g1)}`);
      assert.ok(maxRelErr(p2, p1) <= 1e-12, 'gradient pass probabilities');
      const [h1, h2] = [new Float64Array(d * c), new Float64Array(d * c).fill(-3)];
      softmaxHvpRows(h1, p1, a, d, rows, count, v, c, 1 / count, scratch);
      sp.softmaxHvpRows(h2, p1, rows, count, v, c, 1 / count, new Float64Array(2 * c));
      assert.ok(maxRelErr(h2, h1) <= 1e-12, `HVP: ${maxRelErr(h2, h1)}`);
    }
  });
}
