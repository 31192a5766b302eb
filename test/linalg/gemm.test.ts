/**
 * The GEMM kernels of the MLP layers: the TypeScript reference
 * (src/linalg/gemm.ts) against the products' definitions, and the
 * WebAssembly SIMD kernels (assembly/kernels.ts) against the reference to
 * 1e-12 relative, on shapes with remainders in every blocked dimension
 * (rows and columns not multiples of the 4 × 4 tile, k beyond one 256-wide
 * block), gathered rows (repeated, out of order), pinned and unpinned tables,
 * and the fused epilogues (bias, ReLU, ReLU-derivative mask).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gemm, gemmNT, gemmTNAcc } from '../../src/linalg/gemm.ts';
import { pinTable, tsKernels } from '../../src/linalg/kernels.ts';
import { wasmKernels } from '../../src/linalg/wasm/index.ts';
import { Rng } from '../../src/random/rng.ts';
import { maxRelErr } from '../helpers.ts';

const TOL = 1e-12;
const wasm = wasmKernels();

const normals = (rng: Rng, n: number): Float64Array => Float64Array.from({ length: n }, () => rng.normal());

/** [count, k, n] */
const SHAPES = [
  [1, 1, 1],
  [5, 3, 7],
  [4, 4, 4],
  [13, 257, 9],
  [31, 600, 22],
  [100, 784, 20],
  [100, 300, 10],
  [7, 0, 5],
  [0, 6, 3],
] as const;

test('the TypeScript GEMM reference computes A[rows]·W, D·Wᵀ and G + A[rows]ᵀ·D by their definitions', () => {
  const rng = new Rng(1, 'gemm-reference');
  const [count, k, n, tableRows] = [6, 11, 5, 9];
  const a = normals(rng, tableRows * k);
  const rows = Int32Array.from([8, 0, 3, 3, 7, 1]);
  const w = normals(rng, k * n);
  const out = new Float64Array(count * n).fill(NaN);
  gemm(out, a, k, rows, count, w, n);
  for (let b = 0; b < count; b++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[rows[b]! * k + p]! * w[p * n + j]!;
      assert.ok(Math.abs(out[b * n + j]! - s) <= 1e-14 * (1 + Math.abs(s)), `gemm (${b}, ${j})`);
    }
  const d = normals(rng, count * n);
  const nt = new Float64Array(count * k).fill(NaN);
  gemmNT(nt, d, count, n, w, k);
  for (let b = 0; b < count; b++)
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += d[b * n + j]! * w[i * n + j]!;
      assert.ok(Math.abs(nt[b * k + i]! - s) <= 1e-14 * (1 + Math.abs(s)), `gemmNT (${b}, ${i})`);
    }
  // Epilogues: + bias, then ReLU (v > 0 ? v : 0), then ⊙ 1[mask > 0].
  const bias = normals(rng, n);
  const mask = normals(rng, count * n);
  const fused = new Float64Array(count * n);
  gemm(fused, a, k, rows, count, w, n, bias, true, mask);
  for (let e = 0; e < count * n; e++) {
    const v = out[e]! + bias[e % n]!;
    assert.equal(fused[e], mask[e]! > 0 && v > 0 ? v : 0, `gemm + bias, ReLU, mask (${e})`);
  }
  const ntMask = normals(rng, count * k);
  const ntFused = new Float64Array(count * k);
  gemmNT(ntFused, d, count, n, w, k, ntMask);
  for (let e = 0; e < count * k; e++) assert.equal(ntFused[e], ntMask[e]! > 0 ? nt[e] : 0, `gemmNT ⊙ mask (${e})`);
  const base = normals(rng, k * n);
  const g = Float64Array.from(base);
  gemmTNAcc(g, a, k, rows, count, d, n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < n; j++) {
      let s = base[i * n + j]!;
      for (let b = 0; b < count; b++) s += a[rows[b]! * k + i]! * d[b * n + j]!;
      assert.ok(Math.abs(g[i * n + j]! - s) <= 1e-14 * (1 + Math.abs(s)), `gemmTNAcc (${i}, ${j})`);
    }
});

test('the TypeScript kernel set (DBO_KERNELS=ts) uses the reference GEMM', () => {
  assert.equal(tsKernels.gemm, gemm);
  assert.equal(tsKernels.gemmNT, gemmNT);
  assert.equal(tsKernels.gemmTNAcc, gemmTNAcc);
});

for (const [count, k, n] of SHAPES)
  for (const pin of [false, true])
    test(`WebAssembly GEMM kernels equal the TypeScript reference to 1e-12 (count=${count}, k=${k}, n=${n}, ${pin ? 'pinned' : 'unpinned'} table)`, () => {
      const w = wasm;
      assert.ok(w, 'WebAssembly SIMD kernels failed to compile on this runtime');
      const rng = new Rng(count * 7919 + k * 31 + n, 'gemm-kernels', pin ? 'pinned' : 'unpinned');
      const tableRows = count + 3;
      const a = normals(rng, tableRows * k);
      if (pin) pinTable(a);
      const wk = normals(rng, k * n);
      const d = normals(rng, count * n);
      const gathered = Int32Array.from({ length: count }, () => rng.int(tableRows));
      for (const rows of [null, gathered]) {
        const what = rows === null ? 'first rows' : 'gathered rows';
        const oT = new Float64Array(count * n).fill(NaN);
        const oW = new Float64Array(count * n).fill(NaN);
        tsKernels.gemm(oT, a, k, rows, count, wk, n);
        w.gemm(oW, a, k, rows, count, wk, n);
        assert.ok(maxRelErr(oW, oT) <= TOL, `gemm (${what}): ${maxRelErr(oW, oT)}`);
        if (k === 0) assert.ok(oW.every((e) => e === 0), 'empty inner dimension: zero product');
        // Fused epilogue: + bias, ReLU, mask (a ReLU layer's derivative).
        const bias = normals(rng, n);
        const mask = normals(rng, count * n);
        for (const [b, relu, m] of [[bias, false, null], [bias, true, null], [null, true, null], [bias, false, mask], [null, false, mask]] as const) {
          tsKernels.gemm(oT, a, k, rows, count, wk, n, b, relu, m);
          w.gemm(oW, a, k, rows, count, wk, n, b, relu, m);
          const how = `${b ? '+ bias ' : ''}${relu ? 'ReLU ' : ''}${m ? 'mask' : ''}`;
          assert.ok(maxRelErr(oW, oT) <= TOL, `gemm ${how} (${what}): ${maxRelErr(oW, oT)}`);
          for (let e = 0; e < count * n; e++) if ((m && !(m[e]! > 0)) || (relu && !(oT[e]! > 0))) assert.ok(Object.is(oW[e], 0), `gemm ${how}: +0 at ${e}`);
        }

        const base = normals(rng, k * n);
        const gT = Float64Array.from(base);
        const gW = Float64Array.from(base);
        tsKernels.gemmTNAcc(gT, a, k, rows, count, d, n);
        w.gemmTNAcc(gW, a, k, rows, count, d, n);
        assert.ok(maxRelErr(gW, gT) <= TOL, `gemmTNAcc (${what}): ${maxRelErr(gW, gT)}`);
        if (count === 0) assert.deepEqual(gW, base, 'empty batch: G unchanged');
      }
      const ntT = new Float64Array(count * k).fill(NaN);
      const ntW = new Float64Array(count * k).fill(NaN);
      tsKernels.gemmNT(ntT, d, count, n, wk, k);
      w.gemmNT(ntW, d, count, n, wk, k);
      assert.ok(maxRelErr(ntW, ntT) <= TOL, `gemmNT: ${maxRelErr(ntW, ntT)}`);
      const ntMask = normals(rng, count * k);
      tsKernels.gemmNT(ntT, d, count, n, wk, k, ntMask);
      w.gemmNT(ntW, d, count, n, wk, k, ntMask);
      assert.ok(maxRelErr(ntW, ntT) <= TOL, `gemmNT ⊙ mask: ${maxRelErr(ntW, ntT)}`);
      for (let e = 0; e < count * k; e++) if (!(ntMask[e]! > 0)) assert.ok(Object.is(ntW[e], 0), `gemmNT ⊙ mask: +0 at ${e}`);
    });

test('WebAssembly GEMM: an unpinned activation table is read afresh on every call, only its first rows when none are selected', () => {
  const w = wasm!;
  const rng = new Rng(7, 'gemm-unpinned');
  const [count, k, n] = [9, 14, 6];
  const acts = normals(rng, 40 * k); // larger than the batch, as the problems' activation buffers are
  const wk = normals(rng, k * n);
  const d = normals(rng, count * n);
  for (let call = 0; call < 3; call++) {
    acts[call * 5]! += 1;
    const got = new Float64Array(count * n);
    const want = new Float64Array(count * n);
    w.gemm(got, acts, k, null, count, wk, n);
    gemm(want, acts, k, null, count, wk, n);
    assert.ok(maxRelErr(got, want) <= TOL, `gemm, call ${call}`);
    const gGot = new Float64Array(k * n);
    const gWant = new Float64Array(k * n);
    w.gemmTNAcc(gGot, acts, k, null, count, d, n);
    gemmTNAcc(gWant, acts, k, null, count, d, n);
    assert.ok(maxRelErr(gGot, gWant) <= TOL, `gemmTNAcc, call ${call}`);
  }
});
