/**
 * The WebAssembly SIMD kernels against the plain TypeScript reference kernels
 * (equal to 1e-12 relative), their handling of tables resident in WebAssembly
 * memory, and the committed build against its AssemblyScript source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fusedScratchLength } from '../../src/linalg/fused.ts';
import { kernels, pinTable, tsKernels } from '../../src/linalg/kernels.ts';
import { gemv, type Matrix } from '../../src/linalg/matrix.ts';
import { wasmKernels } from '../../src/linalg/wasm/index.ts';
import { Rng } from '../../src/random/rng.ts';
import { maxRelErr } from '../helpers.ts';

const wasm = wasmKernels();

const TOL = 1e-12;

test('the WebAssembly kernels compile here and are the default kernel set', () => {
  assert.ok(wasm, 'WebAssembly SIMD kernels failed to compile on this runtime');
  if (process.env.DBO_KERNELS !== 'ts') assert.equal(kernels().name, 'wasm');
});

for (const [n, d, c] of [
  [60, 200, 2],
  [31, 7, 3],
  [17, 33, 10],
  [9, 1, 1],
  [12, 123, 1],
  [5, 6, 5],
] as const) {
  for (const pin of [false, true])
  test(`WebAssembly kernels equal the TypeScript kernels to 1e-12 (n=${n}, d=${d}, c=${c}, ${pin ? 'pinned' : 'unpinned'} tables)`, () => {
    const w = wasm!;
    const rng = new Rng(n * 7919 + d * 31 + c, 'wasm-kernels');
    const a = Float64Array.from({ length: n * d }, () => rng.normal());
    const labels = Int32Array.from({ length: n }, () => rng.int(c));
    if (pin) {
      pinTable(a);
      pinTable(labels);
    }
    const y = Float64Array.from({ length: d * c }, () => 0.4 * rng.normal());
    const v = Float64Array.from({ length: d * c }, () => rng.normal());
    const scratch = new Float64Array(fusedScratchLength(d, c));
    for (const rows of [null, Int32Array.from({ length: Math.max(1, n >> 1) }, () => rng.int(n))]) {
      const count = rows === null ? n : rows.length;
      const scale = 1 / count;
      const what = rows === null ? 'all rows' : 'gathered rows';
      const pT = new Float64Array(count * c);
      const pW = new Float64Array(count * c);
      const oT = new Float64Array(d * c);
      const oW = new Float64Array(d * c);

      const lT = tsKernels.softmaxForwardRows(pT, a, d, rows, count, labels, y, c, scratch);
      const lW = w.softmaxForwardRows(pW, a, d, rows, count, labels, y, c, scratch);
      assert.ok(Math.abs(lT - lW) <= TOL * Math.abs(lT), `forward loss (${what}): ${lW} vs ${lT}`);
      assert.ok(maxRelErr(pW, pT) <= TOL, `forward probabilities (${what})`);

      const gT = tsKernels.softmaxGradientRows(oT, pT, a, d, rows, count, labels, y, c, scale, scratch);
      const gW = w.softmaxGradientRows(oW, pW, a, d, rows, count, labels, y, c, scale, scratch);
      assert.ok(Math.abs(gT - gW) <= TOL * Math.abs(gT), `gradient loss (${what})`);
      assert.ok(maxRelErr(pW, pT) <= TOL, `gradient probabilities (${what})`);
      assert.ok(maxRelErr(oW, oT) <= TOL, `gradient (${what}): ${maxRelErr(oW, oT)}`);

      tsKernels.softmaxHvpRows(oT, pT, a, d, rows, count, v, c, scale, scratch);
      w.softmaxHvpRows(oW, pT, a, d, rows, count, v, c, scale, scratch);
      if (c === 1) assert.ok(oW.every((e) => Math.abs(e) <= 1e-15), 'one class: zero Hessian');
      else assert.ok(maxRelErr(oW, oT) <= TOL, `hvp (${what}): ${maxRelErr(oW, oT)}`);

      const gT2 = new Float64Array(count * c);
      const gW2 = new Float64Array(count * c);
      tsKernels.gatherGemm(gT2, a, d, rows, count, y, c, scratch);
      w.gatherGemm(gW2, a, d, rows, count, y, c, scratch);
      assert.ok(maxRelErr(gW2, gT2) <= TOL, `gatherGemm (${what})`);

      // gatherGemmTAcc accumulates into what out holds.
      const base = Float64Array.from({ length: d * c }, () => rng.normal());
      oT.set(base);
      oW.set(base);
      tsKernels.gatherGemmTAcc(oT, a, d, rows, count, gT2, c, -0.3, scratch);
      w.gatherGemmTAcc(oW, a, d, rows, count, gT2, c, -0.3, scratch);
      assert.ok(maxRelErr(oW, oT) <= TOL, `gatherGemmTAcc (${what})`);
    }
    const m: Matrix = { rows: n, cols: d, data: a };
    const x = Float64Array.from({ length: d }, () => rng.normal());
    const gT = new Float64Array(n);
    const gW = new Float64Array(n);
    gemv(gT, m, x);
    w.gemv(gW, a, n, d, x);
    assert.ok(maxRelErr(gW, gT) <= TOL, 'gemv');
  });
}

test('WebAssembly kernels: many resident tables (memory growth) stay correct, and a table is found again by identity', () => {
  const w = wasm!;
  const rng = new Rng(5, 'wasm-growth');
  const [n, d, c] = [400, 200, 2]; // 640 kB per table: 40 tables grow memory well past its first pages
  const labels = Int32Array.from({ length: n }, () => rng.int(c));
  const y = Float64Array.from({ length: d * c }, () => rng.normal());
  const scratch = new Float64Array(fusedScratchLength(d, c));
  const tables = Array.from({ length: 40 }, () => Float64Array.from({ length: n * d }, () => rng.normal()));
  tables.forEach(pinTable);
  const rows = Int32Array.from([0, n - 1, 17, 200]);
  const want = tables.map((t) => {
    const out = new Float64Array(rows.length * c);
    tsKernels.gatherGemm(out, t, d, rows, rows.length, y, c, scratch);
    return out;
  });
  for (let pass = 0; pass < 2; pass++)
    tables.forEach((t, i) => {
      const out = new Float64Array(rows.length * c);
      w.gatherGemm(out, t, d, rows, rows.length, y, c, scratch);
      assert.ok(maxRelErr(out, want[i]!) <= TOL, `table ${i}, pass ${pass}`);
    });
  // Outputs and probabilities are copied out: caller arrays never alias WebAssembly memory.
  const probs = new Float64Array(rows.length * c);
  w.softmaxForwardRows(probs, tables[0]!, d, rows, rows.length, labels, y, c, scratch);
  const copy = Float64Array.from(probs);
  w.softmaxForwardRows(new Float64Array(rows.length * c), tables[1]!, d, rows, rows.length, labels, y, c, scratch);
  assert.deepEqual(probs, copy);
});

test('WebAssembly kernels: an unpinned table written between calls is read afresh on every call', () => {
  const w = wasm!;
  const rng = new Rng(6, 'wasm-unpinned');
  const [n, d, c] = [10, 9, 3];
  const a = Float64Array.from({ length: n * d }, () => rng.normal());
  const y = Float64Array.from({ length: d * c }, () => rng.normal());
  const scratch = new Float64Array(fusedScratchLength(d, c));
  const got = new Float64Array(n * c);
  const want = new Float64Array(n * c);
  for (let k = 0; k < 3; k++) {
    a[k * 7]! += 1; // as activations change between calls
    w.gatherGemm(got, a, d, null, n, y, c, scratch);
    tsKernels.gatherGemm(want, a, d, null, n, y, c, scratch);
    assert.ok(maxRelErr(got, want) <= TOL, `call ${k}`);
  }
});

test('the committed WebAssembly build matches its AssemblyScript source', () => {
  const script = fileURLToPath(new URL('../../scripts/build-wasm.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
