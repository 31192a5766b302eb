/**
 * Every oracle of every problem against central finite differences in
 * float64. Stochastic oracles (non-full batches) must be the exact derivatives
 * of the stochastic value functions f(·; ξ), g(·; ξ) for that fixed batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeDataset, type Dataset } from '../../src/data/dataset.ts';
import { LogregHpoOracle } from '../../src/problems/logreg-hpo.ts';
import { BinaryLogregHpoOracle } from '../../src/problems/binary-logreg-hpo.ts';
import { quadraticProblem } from '../../src/problems/quadratic.ts';
import { parseQuadraticInstance } from '../../src/problems/quadratic-file.ts';
import { randomQuadraticInstance } from '../../src/problems/quadratic-generator.ts';
import { fullBatch, type AgentOracle, type Batch } from '../../src/problems/types.ts';
import { Rng } from '../../src/random/rng.ts';
import type { Vec } from '../../src/linalg/vector.ts';
import { fdGradient } from './oracle-check.ts';

const H = 1e-5;
const TOL = 1e-6;

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/** ‖a − b‖ / max(‖a‖, ‖b‖, 1e-12). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i]! - b[i]!;
  return norm(d) / Math.max(norm(a), norm(b), 1e-12);
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): void {
  const e = relErr(got, want);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(3)} > ${tol} (got [${Array.from(got).map((v) => v.toFixed(8))}], want [${Array.from(want).map((v) => v.toFixed(8))}])`);
}


/** Central difference of a vector function along direction v at `at` (mutated and restored). */
function fdDirectional(fn: (out: Vec) => void, at: Vec, v: Vec, outLen: number): Float64Array {
  const base = Float64Array.from(at);
  const plus = new Float64Array(outLen);
  const minus = new Float64Array(outLen);
  for (let i = 0; i < at.length; i++) at[i] = base[i]! + H * v[i]!;
  fn(plus);
  for (let i = 0; i < at.length; i++) at[i] = base[i]! - H * v[i]!;
  fn(minus);
  at.set(base);
  const out = new Float64Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = (plus[i]! - minus[i]!) / (2 * H);
  return out;
}

function randomVec(rng: Rng, n: number, scale = 1): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = scale * rng.normal();
  return v;
}

/** Checks all oracles of `o` at (x, y) on `batch` against finite differences of its own value functions. */
function checkOracle(label: string, o: AgentOracle, x: Vec, y: Vec, batch: Batch, rng: Rng): void {
  const { dx, dy } = o;
  const x0 = Float64Array.from(x);
  const y0 = Float64Array.from(y);

  // ∇_x f, ∇_y f against f.
  const gfx = new Float64Array(dx);
  const gfy = new Float64Array(dy);
  o.gradF(x, y, batch, gfx, gfy);
  assertClose(gfx, fdGradient(() => o.f(x, y, batch), x), `${label}: grad_x f`);
  assertClose(gfy, fdGradient(() => o.f(x, y, batch), y), `${label}: grad_y f`);

  // ∇_y g and ∇_x g against g.
  const ggx = new Float64Array(dx);
  const ggy = new Float64Array(dy);
  o.gradG(x, y, batch, ggx, ggy);
  assertClose(ggx, fdGradient(() => o.g(x, y, batch), x), `${label}: grad_x g`);
  assertClose(ggy, fdGradient(() => o.g(x, y, batch), y), `${label}: grad_y g`);
  // outX = null gives the same ∇_y g.
  const ggyOnly = new Float64Array(dy).fill(NaN);
  o.gradG(x, y, batch, null, ggyOnly);
  assert.deepEqual(Array.from(ggyOnly), Array.from(ggy), `${label}: gradG with outX null`);

  const gradGy = (out: Vec): void => o.gradG(x, y, batch, null, out);

  // HVP against differences of ∇_y g in y along v (several directions, incl. basis vectors).
  const dirsY = [randomVec(rng, dy), randomVec(rng, dy, 3), ...Array.from({ length: dy }, (_, k) => Float64Array.from({ length: dy }, (_, i) => (i === k ? 1 : 0)))];
  for (const v of dirsY) {
    const hv = new Float64Array(dy);
    o.hvp(x, y, v, batch, hv);
    assertClose(hv, fdDirectional(gradGy, y, v, dy), `${label}: hvp`);
  }

  // JVP(v)_q = d/dx_q ⟨∇_y g(x, y), v⟩.
  for (const v of dirsY.slice(0, 3)) {
    const jv = new Float64Array(dx);
    o.jvp(x, y, v, batch, jv);
    const tmp = new Float64Array(dy);
    const fd = fdGradient(() => {
      gradGy(tmp);
      let s = 0;
      for (let i = 0; i < dy; i++) s += tmp[i]! * v[i]!;
      return s;
    }, x);
    assertClose(jv, fd, `${label}: jvp`);
    // Equivalently, the x-derivative of ∇_y g along u, dotted with v, is uᵀ JVP(v).
    const u = randomVec(rng, dx);
    const dgy = fdDirectional(gradGy, x, u, dy);
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < dy; i++) lhs += dgy[i]! * v[i]!;
    for (let q = 0; q < dx; q++) rhs += u[q]! * jv[q]!;
    assert.ok(Math.abs(lhs - rhs) <= TOL * Math.max(Math.abs(lhs), Math.abs(rhs), 1e-12) + 1e-9, `${label}: jvp adjoint ${lhs} vs ${rhs}`);
  }

  // Oracles must not modify their inputs.
  assert.deepEqual(Array.from(x), Array.from(x0), `${label}: x modified`);
  assert.deepEqual(Array.from(y), Array.from(y0), `${label}: y modified`);
}

// ------------------------------------------------------------------ quadratic

function quadraticAgents(noise: number): ReadonlyArray<AgentOracle> {
  const json = randomQuadraticInstance({ agents: 3, dx: 4, dy: 3, problemClass: 'global', heterogeneity: 0.5, noise }, 11);
  const parsed = parseQuadraticInstance(json, 'random.json');
  assert.equal(parsed.noise, noise);
  return quadraticProblem(parsed.problemClass, parsed.agents, parsed.noise).agents;
}

const stochasticBatch = (): Batch => ({ full: false, size: 5, indices: new Int32Array(0), seed: 123 });

test('quadratic, noise 0: all oracles match finite differences', () => {
  const rng = new Rng(1, 'fd-quad');
  const agents = quadraticAgents(0);
  for (const [i, o] of agents.entries()) {
    const x = randomVec(rng, 4);
    const y = randomVec(rng, 3);
    checkOracle(`quadratic agent ${i} full`, o, x, y, fullBatch(), rng);
    // Without noise a non-full batch is the exact oracle as well.
    checkOracle(`quadratic agent ${i} batch`, o, x, y, stochasticBatch(), rng);
  }
});

test('quadratic, noise 0.3: stochastic oracles are exact derivatives of f(·;ξ), g(·;ξ)', () => {
  const rng = new Rng(2, 'fd-quad-noise');
  const agents = quadraticAgents(0.3);
  for (const [i, o] of agents.entries()) {
    const x = randomVec(rng, 4);
    const y = randomVec(rng, 3);
    checkOracle(`noisy quadratic agent ${i} batch`, o, x, y, stochasticBatch(), rng);
    checkOracle(`noisy quadratic agent ${i} other seed`, o, x, y, { full: false, size: 2, indices: new Int32Array(0), seed: 98765 }, rng);
    checkOracle(`noisy quadratic agent ${i} full`, o, x, y, fullBatch(), rng);
  }
});

test('quadratic, noise 0.3: the stochastic oracles really are noisy (the check above is not vacuous)', () => {
  const rng = new Rng(3);
  const o = quadraticAgents(0.3)[0]!;
  const x = randomVec(rng, 4);
  const y = randomVec(rng, 3);
  const v = randomVec(rng, 3);
  const full = fullBatch();
  const b = stochasticBatch();
  assert.ok(Math.abs(o.f(x, y, full) - o.f(x, y, b)) > 1e-6);
  assert.ok(Math.abs(o.g(x, y, full) - o.g(x, y, b)) > 1e-6);
  const a1 = new Float64Array(4);
  const a2 = new Float64Array(3);
  const b1 = new Float64Array(4);
  const b2 = new Float64Array(3);
  o.gradF(x, y, full, a1, a2);
  o.gradF(x, y, b, b1, b2);
  assert.ok(relErr(a1, b1) > 1e-3 && relErr(a2, b2) > 1e-3);
  o.gradG(x, y, full, a1, a2);
  o.gradG(x, y, b, b1, b2);
  assert.ok(relErr(a1, b1) > 1e-3 && relErr(a2, b2) > 1e-3);
  o.hvp(x, y, v, full, a2);
  o.hvp(x, y, v, b, b2);
  assert.ok(relErr(a2, b2) > 1e-3, 'hvp carries Hessian noise');
});

test('quadratic: lowerDataLoss equals g (no regularizer), full and stochastic', () => {
  const rng = new Rng(4);
  for (const noise of [0, 0.3]) {
    for (const o of quadraticAgents(noise)) {
      const x = randomVec(rng, 4);
      const y = randomVec(rng, 3);
      for (const b of [fullBatch(), stochasticBatch()]) assert.equal(o.lowerDataLoss(x, y, b), o.g(x, y, b));
    }
  }
});

// ------------------------------------------------------------------ logistic HPO

function randomDataset(rng: Rng, n: number, d: number, classes: number): Dataset {
  const features = new Float64Array(n * d);
  for (let i = 0; i < features.length; i++) features[i] = rng.normal();
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = rng.int(classes);
  return makeDataset(n, d, classes, features, labels);
}

function logregSetup(seed: number): { o: LogregHpoOracle; train: Dataset; val: Dataset; x: Float64Array; y: Float64Array; rng: Rng } {
  const rng = new Rng(seed, 'fd-logreg');
  const train = randomDataset(rng, 30, 5, 3);
  const val = randomDataset(rng, 30, 5, 3);
  const o = new LogregHpoOracle(train, val);
  const x = Float64Array.from({ length: 5 }, () => 2 * rng.uniform() - 1);
  const y = randomVec(rng, 15);
  return { o, train, val, x, y, rng };
}

const minibatch = (): Batch => ({ full: false, size: 7, indices: Int32Array.from([3, 17, 0, 29, 11, 8, 22]), seed: 5 });

/** Naive (1/B) Σ CE over rows of ds, with Y row-major d × c. */
function naiveCE(ds: Dataset, y: Vec, rows: ReadonlyArray<number>): number {
  const { d, classes: c } = ds;
  let loss = 0;
  for (const r of rows) {
    const z = new Array<number>(c).fill(0);
    for (let p = 0; p < c; p++) for (let q = 0; q < d; q++) z[p]! += ds.features[r * d + q]! * y[q * c + p]!;
    const max = Math.max(...z);
    const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
    loss += lse - z[ds.labels[r]!]!;
  }
  return loss / rows.length;
}

function naiveReg(x: Vec, y: Vec, d: number, c: number): number {
  let r = 0;
  for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) r += Math.exp(x[q]!) * y[q * c + p]! ** 2;
  return r / (c * d);
}

test('logreg HPO: shapes and sample counts', () => {
  const { o } = logregSetup(1);
  assert.equal(o.dx, 5);
  assert.equal(o.dy, 15);
  assert.equal(o.upperSamples, 30);
  assert.equal(o.lowerSamples, 30);
});

test('logreg HPO, full batch: all oracles match finite differences', () => {
  const { o, x, y, rng } = logregSetup(2);
  checkOracle('logreg full', o, x, y, fullBatch(), rng);
  // A second point with larger weights (sharper softmax).
  const y2 = Float64Array.from(y, (v) => 3 * v);
  checkOracle('logreg full, large Y', o, x, y2, fullBatch(), rng);
});

test('logreg HPO, minibatch of 7: all oracles match finite differences', () => {
  const { o, x, y, rng } = logregSetup(3);
  checkOracle('logreg minibatch', o, x, y, minibatch(), rng);
  // Only the first `size` indices count, even if the array is longer.
  const long: Batch = { full: false, size: 4, indices: Int32Array.from([1, 2, 3, 4, 5, 6, 7]), seed: 0 };
  checkOracle('logreg minibatch (size < indices.length)', o, x, y, long, rng);
});

test('logreg HPO: values match the naive formulas; lowerDataLoss = g − regularizer', () => {
  const { o, train, val, x, y } = logregSetup(4);
  const all = Array.from({ length: 30 }, (_, i) => i);
  const mb = minibatch();
  const mbRows = Array.from(mb.indices.subarray(0, mb.size));
  const reg = naiveReg(x, y, 5, 3);
  const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
  close(o.f(x, y, fullBatch()), naiveCE(val, y, all), 'f full');
  close(o.f(x, y, mb), naiveCE(val, y, mbRows), 'f minibatch');
  close(o.lowerDataLoss(x, y, fullBatch()), naiveCE(train, y, all), 'lowerDataLoss full');
  close(o.lowerDataLoss(x, y, mb), naiveCE(train, y, mbRows), 'lowerDataLoss minibatch');
  close(o.g(x, y, fullBatch()), naiveCE(train, y, all) + reg, 'g full');
  close(o.g(x, y, mb), naiveCE(train, y, mbRows) + reg, 'g minibatch');
  for (const b of [fullBatch(), mb]) close(o.g(x, y, b) - o.lowerDataLoss(x, y, b), reg, 'g − lowerDataLoss');
  // At Y = 0 the cross-entropy is log c for every sample.
  const zero = new Float64Array(15);
  close(o.f(x, zero, fullBatch()), Math.log(3), 'f at Y = 0');
  close(o.g(x, zero, mb), Math.log(3), 'g at Y = 0');
});

test('logreg HPO: ∇_x f = 0 and the upper level ignores x', () => {
  const { o, x, y } = logregSetup(5);
  const gx = new Float64Array(5).fill(NaN);
  const gy = new Float64Array(15);
  o.gradF(x, y, minibatch(), gx, gy);
  assert.deepEqual(Array.from(gx), [0, 0, 0, 0, 0]);
  const x2 = Float64Array.from(x, (v) => v + 1);
  assert.equal(o.f(x, y, fullBatch()), o.f(x2, y, fullBatch()));
});

test('logreg HPO: repeated calls give identical outputs (workspaces do not leak state)', () => {
  const { o, x, y, rng } = logregSetup(6);
  const v = randomVec(rng, 15);
  const run = (): number[] => {
    const a = new Float64Array(5);
    const b = new Float64Array(15);
    const c = new Float64Array(15);
    const out: number[] = [o.f(x, y, minibatch()), o.g(x, y, fullBatch())];
    o.gradG(x, y, minibatch(), a, b);
    out.push(...a, ...b);
    o.hvp(x, y, v, fullBatch(), c);
    out.push(...c);
    return out;
  };
  const first = run();
  // Interleave other calls on different batches.
  o.gradF(x, y, fullBatch(), new Float64Array(5), new Float64Array(15));
  o.hvp(x, y, v, minibatch(), new Float64Array(15));
  assert.deepEqual(run(), first);
});

// ------------------------------------------------------------------ binary logistic HPO (L-PDBO, class P)

function binarySetup(seed: number, reduction: 'sum' | 'mean') {
  const rng = new Rng(seed, 'binary-fd');
  const train = randomDataset(rng, 25, 6, 2);
  const val = randomDataset(rng, 18, 6, 2);
  const o = new BinaryLogregHpoOracle(train, val, reduction);
  return { o, x: randomVec(rng, 6, 0.5), y: randomVec(rng, 6), rng };
}

for (const reduction of ['sum', 'mean'] as const) {
  test(`binary logistic HPO (${reduction}), full batch and a minibatch: all oracles match finite differences`, () => {
    const { o, x, y, rng } = binarySetup(4, reduction);
    checkOracle(`binary ${reduction} full`, o, x, y, fullBatch(), rng);
    checkOracle(`binary ${reduction} minibatch`, o, x, y, { full: false, size: 5, indices: Int32Array.from([3, 0, 17, 11, 7]), seed: 1 }, rng);
  });
}

test('binary logistic HPO: the sum reduction scales a minibatch to estimate the full sum; g = data loss + θᵀdiag(e^λ)θ', () => {
  const { o, x, y } = binarySetup(5, 'sum');
  const fullLoss = o.lowerDataLoss(x, y, fullBatch());
  // Every row once, as a minibatch of all 25 rows, equals the full sum.
  const all: Batch = { full: false, size: 25, indices: Int32Array.from({ length: 25 }, (_, i) => i), seed: 0 };
  assert.ok(Math.abs(o.lowerDataLoss(x, y, all) - fullLoss) < 1e-10 * Math.abs(fullLoss));
  let reg = 0;
  for (let i = 0; i < 6; i++) reg += Math.exp(x[i]!) * y[i]! * y[i]!;
  assert.ok(Math.abs(o.g(x, y, fullBatch()) - fullLoss - reg) < 1e-10 * Math.abs(fullLoss + reg));
  const mean = new BinaryLogregHpoOracle(o.train, o.val, 'mean');
  assert.ok(Math.abs(mean.lowerDataLoss(x, y, fullBatch()) * 25 - fullLoss) < 1e-9 * fullLoss);
});
