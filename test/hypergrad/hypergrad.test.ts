import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactHypergradient, exactScratch } from '../../src/hypergrad/exact.ts';
import { NeumannSample, estimateLg, neumannHypergradient, neumannScratch, type NeumannOptions } from '../../src/hypergrad/neumann.ts';
import { fullBatch } from '../../src/problems/types.ts';
import { Rng } from '../../src/random/rng.ts';
import { denseOracle, denseQuadratic, denseSolve, matVec, type DenseQuadratic } from './dense-quadratic.ts';

const DX = 3;
const DY = 5;

function point(d: DenseQuadratic, seed: number): { x: Float64Array; y: Float64Array } {
  const rng = new Rng(seed, 'point');
  return { x: Float64Array.from({ length: d.dx }, () => rng.normal()), y: Float64Array.from({ length: d.dy }, () => rng.normal()) };
}

/** ∇_x f − J · s, where s is d_y-dimensional. */
function minusJ(d: DenseQuadratic, x: Float64Array, s: number[]): number[] {
  const js = matVec(d.J, s);
  return js.map((v, i) => d.p[i]! + x[i]! - v);
}

/** Σ_{k<K} (I − H/L)^k b / L, by dense products. */
function truncatedSeries(d: DenseQuadratic, b: number[], K: number, L: number): number[] {
  const sum = new Array<number>(d.dy).fill(0);
  let t = b.slice();
  for (let k = 0; k < K; k++) {
    for (let i = 0; i < d.dy; i++) sum[i]! += t[i]! / L;
    const ht = matVec(d.H, t);
    t = t.map((ti, i) => ti - ht[i]! / L);
  }
  return sum;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('exact (CG) hypergradient equals ∇_x f − J H⁻¹ ∇_y f on an SPD quadratic, and warm start from the solution costs no CG iteration', () => {
  for (const seed of [1, 2, 3]) {
    const d = denseQuadratic(DX, DY, seed, 0.3, 5);
    const o = denseOracle(d);
    const { x, y } = point(d, seed);
    const b = Array.from({ length: DY }, (_, i) => d.q[i]! + y[i]!);
    const v = new Float64Array(DY);
    const out = new Float64Array(DX);
    const iterations = exactHypergradient(o, x, y, fullBatch(), fullBatch(), v, exactScratch(DX, DY), out, 1e-14);
    const vStar = denseSolve(d.H, b);
    const expected = minusJ(d, x, vStar);
    assert.ok(maxAbsDiff(out, expected) < 1e-10, `seed ${seed}: error ${maxAbsDiff(out, expected)}`);
    assert.ok(maxAbsDiff(v, vStar) < 1e-10, 'v receives H⁻¹∇_y f');
    // CG on a d_y-dimensional SPD system: at most d_y iterations (a few more for round-off).
    assert.ok(iterations >= 1 && iterations <= DY + 2, `iterations ${iterations}`);
    // One HVP for the initial residual plus one per iteration; one JVP.
    assert.equal(o.hvps, iterations + 1);
    assert.equal(o.jvps, 1);
    // Warm start at the solution: the residual already meets a loose tolerance.
    const again = exactHypergradient(o, x, y, fullBatch(), fullBatch(), v, exactScratch(DX, DY), out, 1e-6);
    assert.equal(again, 0);
    assert.ok(maxAbsDiff(out, expected) < 1e-10);
  }
});

function sampleFor(d: DenseQuadratic, options: NeumannOptions): NeumannSample {
  return new NeumannSample(denseOracle(d), { upper: 'full', lower: 'full' }, options);
}

test('fixed-depth recursive Neumann equals ∇_x f − J Σ_{k<K}(I − H/L)^k ∇_y f / L exactly, with K−1 HVPs', () => {
  const d = denseQuadratic(DX, DY, 11, 0.5, 4);
  const { x, y } = point(d, 11);
  const b = Array.from({ length: DY }, (_, i) => d.q[i]! + y[i]!);
  const L = 4.4;
  for (const K of [1, 2, 7, 25]) {
    const o = denseOracle(d);
    const sample = sampleFor(d, { estimator: 'neumann-recursive', depth: 'fixed', K });
    sample.draw(new Rng(5));
    assert.equal(sample.depth, K - 1);
    const out = new Float64Array(DX);
    neumannHypergradient(o, x, y, sample, L, neumannScratch(DX, DY), out);
    const expected = minusJ(d, x, truncatedSeries(d, b, K, L));
    assert.ok(maxAbsDiff(out, expected) < 1e-12, `K=${K}: error ${maxAbsDiff(out, expected)}`);
    assert.equal(o.hvps, K - 1);
    assert.equal(o.jvps, 1);
  }
});

test('recursive Neumann bias decays as (1 − μ/L)^K: ‖series − H⁻¹b‖ ≤ (1 − μ/L)^K ‖H⁻¹b‖', () => {
  const mu = 0.5;
  const Lmax = 4;
  const d = denseQuadratic(DX, DY, 12, mu, Lmax);
  const { x, y } = point(d, 12);
  const b = Array.from({ length: DY }, (_, i) => d.q[i]! + y[i]!);
  const L = 1.1 * Lmax;
  const vStar = denseSolve(d.H, b);
  const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, vi) => s + vi * vi, 0));
  let previous = Infinity;
  for (const K of [5, 20, 80, 240]) {
    const sample = sampleFor(d, { estimator: 'neumann-recursive', depth: 'fixed', K });
    sample.draw(new Rng(1));
    const out = new Float64Array(DX);
    neumannHypergradient(denseOracle(d), x, y, sample, L, neumannScratch(DX, DY), out);
    const err = maxAbsDiff(out, minusJ(d, x, vStar));
    // ∇Φ error = J (H⁻¹ − S_K) b, and ‖H⁻¹ − S_K‖ b = (I − H/L)^K H⁻¹ b.
    const residual = truncatedSeries(d, b, K, L).map((s, i) => vStar[i]! - s);
    assert.ok(norm(residual) <= (1 - mu / L) ** K * norm(vStar) * (1 + 1e-9), `K=${K}`);
    assert.ok(err < previous || err < 1e-12, `K=${K}: bias ${err} did not decrease`);
    previous = err;
  }
  assert.ok(previous < 1e-10, `K=240: bias ${previous}`);
});

test('conventional Neumann: the mean over k ∈ {0..K−1} is ∇_x f − J Σ_{k<K}(I − H/L)^k ∇_y f / L, and the Monte-Carlo mean of draw() approaches it', () => {
  const d = denseQuadratic(DX, DY, 13, 0.5, 4);
  const { x, y } = point(d, 13);
  const b = Array.from({ length: DY }, (_, i) => d.q[i]! + y[i]!);
  const L = 4.4;
  const K = 6;
  const expected = minusJ(d, x, truncatedSeries(d, b, K, L));
  const o = denseOracle(d);
  const sample = sampleFor(d, { estimator: 'neumann', depth: 'fixed', K });
  const ws = neumannScratch(DX, DY);
  const out = new Float64Array(DX);
  // Exact expectation: k is uniform on {0..K−1}, so the mean over each depth once.
  const mean = new Float64Array(DX);
  const rng = new Rng(3);
  for (let k = 0; k < K; k++) {
    sample.drawWithDepth(rng, k);
    neumannHypergradient(o, x, y, sample, L, ws, out);
    for (let i = 0; i < DX; i++) mean[i]! += out[i]! / K;
  }
  assert.ok(maxAbsDiff(mean, expected) < 1e-12, `exact mean error ${maxAbsDiff(mean, expected)}`);
  // Depth k uses k HVPs: 0 + 1 + … + (K−1).
  assert.equal(o.hvps, (K * (K - 1)) / 2);
  // A single draw is not the expectation (the random depth adds variance) ...
  sample.drawWithDepth(rng, 0);
  neumannHypergradient(o, x, y, sample, L, ws, out);
  const spread = maxAbsDiff(out, expected);
  assert.ok(spread > 1e-3, `depth-0 estimate is ${spread} from the mean`);
  // ... but the average of many draws (k ~ U{0..K−1}) is close to it.
  const n = 6000;
  const mc = new Float64Array(DX);
  const counts = new Array<number>(K).fill(0);
  for (let s = 0; s < n; s++) {
    sample.draw(rng);
    counts[sample.depth]!++;
    neumannHypergradient(o, x, y, sample, L, ws, out);
    for (let i = 0; i < DX; i++) mc[i]! += out[i]! / n;
  }
  for (const c of counts) assert.ok(c > n / K / 2, `depth counts ${counts.join(',')}`);
  // Standard error of the mean ≤ spread/√n·(few); allow 5 standard errors of the worst case.
  assert.ok(maxAbsDiff(mc, expected) < (5 * K * spread) / Math.sqrt(n), `Monte-Carlo error ${maxAbsDiff(mc, expected)}`);
  assert.ok(maxAbsDiff(mc, expected) < 0.1 * spread, `Monte-Carlo error ${maxAbsDiff(mc, expected)} vs single-draw spread ${spread}`);
});

test('estimateLg returns 1.1 × the largest eigenvalue of H', () => {
  const d = denseQuadratic(DX, DY, 14, 0.5, 4);
  const { x, y } = point(d, 14);
  const lg = estimateLg(denseOracle(d), x, y, 200);
  assert.ok(Math.abs(lg - 4.4) < 1e-6, `Lg ${lg}`);
});
