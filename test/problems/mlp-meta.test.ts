import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeDataset, type Dataset } from '../../src/data/dataset.ts';
import { choleskySolve } from '../../src/linalg/matrix.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import { MlpMetaOracle, mlpMetaProblem } from '../../src/problems/mlp-meta.ts';
import { fullBatch, type Batch } from '../../src/problems/types.ts';
import { Rng } from '../../src/random/rng.ts';
import { assertClose, checkOracles, fdGradient, randomVec } from './oracle-check.ts';

function data(rng: Rng, n: number, d: number, c: number): Dataset {
  return makeDataset(n, d, c, Float64Array.from({ length: n * d }, () => rng.normal()), Int32Array.from({ length: n }, () => rng.int(c)));
}

function batchOf(indices: number[]): Batch {
  return { full: false, size: indices.length, indices: Int32Array.from(indices), seed: 0 };
}

test('mlp-meta: every oracle (∇F, ∇G in x and y, HVP, JVP) matches finite differences on small networks', () => {
  const rng = new Rng(3, 'mlp-meta-fd');
  for (const hidden of [[4], [4, 3]]) {
    const o = new MlpMetaOracle(data(rng, 9, 6, 3), data(rng, 7, 6, 3), { hidden, mu: 0.1 });
    assert.equal(o.dy, hidden.at(-1)! * 3 + 3);
    const x = new Float64Array(o.dx);
    o.xLayers.initialise(x, rng);
    const y = randomVec(rng, o.dy, 0.5);
    let worst = 0;
    worst = Math.max(worst, checkOracles(`[${hidden}] full`, o, x, y, fullBatch(), rng));
    worst = Math.max(worst, checkOracles(`[${hidden}] minibatch`, o, x, y, batchOf([4, 0, 2, 6]), rng));
    assert.ok(worst <= 1e-6, `worst relative error ${worst}`);
  }
});

test('mlp-meta: y-oracles at a fixed x reuse the cached features; a new x or batch recomputes them', () => {
  const rng = new Rng(4);
  const o = new MlpMetaOracle(data(rng, 20, 8, 3), data(rng, 20, 8, 3), { hidden: [5, 5], mu: 0.01 });
  const x = new Float64Array(o.dx);
  o.xLayers.initialise(x, rng);
  const y = randomVec(rng, o.dy);
  const v = randomVec(rng, o.dy);
  const out = new Float64Array(o.dy);
  const b = batchOf([1, 5, 9]);
  o.gradG(x, y, b, null, out);
  const passes = o.featurePasses;
  for (let k = 0; k < 5; k++) {
    y[0]! += 0.1;
    o.hvp(x, y, v, b, out);
    o.gradG(x, y, b, null, out);
    o.g(x, y, b);
  }
  assert.equal(o.featurePasses, passes, 'no forward pass through the hidden layers at a fixed (x, batch)');
  x[0]! += 1e-3;
  o.gradG(x, y, b, null, out);
  assert.equal(o.featurePasses, passes + 1);
  o.gradG(x, y, batchOf([1, 5, 8]), null, out);
  assert.equal(o.featurePasses, passes + 2);
});

/** y*(x) of one agent by Newton's method with the explicit Hessian (dense, Cholesky), to machine precision. */
function solveLower(o: MlpMetaOracle, x: Float64Array): Float64Array {
  const y = new Float64Array(o.dy);
  const g = new Float64Array(o.dy);
  const h = new Float64Array(o.dy * o.dy);
  const full = fullBatch();
  for (let it = 0; it < 50; it++) {
    o.gradG(x, y, full, null, g);
    o.hessian(x, y, full, h);
    const step = choleskySolve({ rows: o.dy, cols: o.dy, data: h }, g);
    for (let i = 0; i < o.dy; i++) y[i]! -= step[i]!;
    if (Math.sqrt(g.reduce((s, v) => s + v * v, 0)) < 1e-14) break;
  }
  return y;
}

test('mlp-meta: the hypergradient on a tiny instance matches finite differences of f(x, y*(x)) with the exactly solved lower level', () => {
  const rng = new Rng(5);
  const problem = mlpMetaProblem([data(rng, 12, 5, 3), data(rng, 12, 5, 3)], [data(rng, 10, 5, 3), data(rng, 10, 5, 3)], null, { hidden: [3, 3], mu: 0.5 });
  const x = problem.initialPoint!(7).x!;
  const evaluator = new Evaluator(problem);
  const grad = new Float64Array(problem.dx);
  evaluator.hypergradient(x, grad);
  const full = fullBatch();
  const phi = () => problem.agents.reduce((s, a) => s + a.f(x, solveLower(a as MlpMetaOracle, x), full), 0) / problem.m;
  assertClose(grad, fdGradient(phi, x), 'hypergradient vs finite differences of Φ');
});

test('mlp-meta: PyTorch-default initialisation U(±1/√fan_in), seeded, y⁰ = 0', () => {
  const rng = new Rng(6);
  const problem = mlpMetaProblem([data(rng, 5, 16, 3)], [data(rng, 5, 16, 3)], null, { hidden: [4], mu: 0.1 });
  const a = problem.initialPoint!(1);
  const b = problem.initialPoint!(1);
  assert.deepEqual(Array.from(a.x!), Array.from(b.x!));
  assert.notDeepEqual(Array.from(a.x!), Array.from(problem.initialPoint!(2).x!));
  assert.ok(a.x!.every((v) => Math.abs(v) <= 1 / Math.sqrt(16)));
  assert.ok(Math.max(...a.x!.map(Math.abs)) > 0.2);
  assert.ok(a.y!.every((v) => v === 0));
});
