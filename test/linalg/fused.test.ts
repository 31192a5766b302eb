/**
 * The fused softmax kernels against the unfused reference path (gathered
 * product, softmax, Jacobian, transposed gathered product) they replace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusedScratchLength, softmaxForwardRows, softmaxGradientRows, softmaxHvpRows } from '../../src/linalg/fused.ts';
import { gatherGemm, gatherGemmTAcc } from '../../src/linalg/matrix.ts';
import { softmaxCrossEntropyInPlace, softmaxJacobianApply, subtractOneHot } from '../../src/linalg/softmax.ts';
import { Rng } from '../../src/random/rng.ts';

function relErr(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den = Math.max(den, a[i]! ** 2, b[i]! ** 2);
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den * a.length), 1e-300);
}

for (const [n, d, c] of [
  [40, 7, 3],
  [25, 200, 2],
  [12, 33, 10],
  [9, 1, 1],
] as const) {
  test(`fused softmax kernels equal the unfused path (n=${n}, d=${d}, c=${c}; all rows and a gathered subset)`, () => {
    const rng = new Rng(n * 1000 + d + c, 'fused');
    const a = Float64Array.from({ length: n * d }, () => rng.normal());
    const labels = Int32Array.from({ length: n }, () => rng.int(c));
    const y = Float64Array.from({ length: d * c }, () => 0.5 * rng.normal());
    const v = Float64Array.from({ length: d * c }, () => rng.normal());
    const scratch = new Float64Array(fusedScratchLength(d, c));
    const ref = new Float64Array(d * c);
    for (const rows of [null, Int32Array.from([3, 0, n - 1, 5, 3, 1].filter((r) => r < n))]) {
      const count = rows === null ? n : rows.length;
      const scale = 1 / count;
      // Reference: logits, softmax + CE, S − onehot, Aᵀ(·).
      const s = new Float64Array(count * c);
      gatherGemm(s, a, d, rows, count, y, c, new Float64Array(d * c));
      const lossRef = softmaxCrossEntropyInPlace(s, count, c, labels, rows);
      const sRef = Float64Array.from(s);
      subtractOneHot(s, count, c, labels, rows);
      ref.fill(0);
      gatherGemmTAcc(ref, a, d, rows, count, s, c, scale, new Float64Array(d * c));

      const probs = new Float64Array(count * c);
      const out = new Float64Array(d * c).fill(NaN);
      const loss = softmaxGradientRows(out, probs, a, d, rows, count, labels, y, c, scale, scratch);
      assert.ok(Math.abs(loss - lossRef) <= 1e-12 * Math.abs(lossRef), `loss ${loss} vs ${lossRef}`);
      assert.ok(relErr(probs, sRef) <= 1e-14, 'probabilities');
      assert.ok(relErr(out, ref) <= 1e-12, `gradient rel err ${relErr(out, ref)}`);

      const probs2 = new Float64Array(count * c);
      assert.ok(Math.abs(softmaxForwardRows(probs2, a, d, rows, count, labels, y, c, scratch) - lossRef) <= 1e-12 * Math.abs(lossRef));
      assert.ok(relErr(probs2, sRef) <= 1e-14, 'forward probabilities');

      // HVP reference: U = A_B V, R = S ⊙ U − S ⊙ rowsum(S ⊙ U), Aᵀ R.
      const u = new Float64Array(count * c);
      gatherGemm(u, a, d, rows, count, v, c, new Float64Array(d * c));
      softmaxJacobianApply(u, sRef, u, count, c);
      ref.fill(0);
      gatherGemmTAcc(ref, a, d, rows, count, u, c, scale, new Float64Array(d * c));
      out.fill(NaN);
      softmaxHvpRows(out, probs, a, d, rows, count, v, c, scale, scratch);
      assert.ok(relErr(out, ref) <= 1e-12 || c === 1, `hvp rel err ${relErr(out, ref)}`);
      if (c === 1) assert.ok(out.every((e) => Math.abs(e) <= 1e-15), 'one class: the Hessian of CE is zero');
    }
  });
}
