/**
 * VRDBO and MDBO (reconstructions, docs/decisions.md §9).
 *
 * Theory: both track their local hypergradient estimates, so consensus is
 * exact; but each agent inverts only its own Hessian, so on heterogeneous
 * agents the fixed point solves (1/m) Σ_i [∇_x f_i − ∇²_xy g_i (∇²_yy g_i)⁻¹ ∇_y f_i] = 0
 * at (x̄, y*(x̄)), not ∇Φ(x̄) = 0: a bias that does not shrink with the step
 * size. On identical agents the local and global Hessians coincide and both
 * converge (with the fixed-depth recursive Neumann estimator, whose bias
 * (1 − μ/L)^K is negligible at K = 200).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import type { AnyAlgorithm } from '../helpers.ts';
import { mdbo, vrdbo } from '../../src/algorithms/vrdbo.ts';
import { choleskySolve, gemv, symmetricEigen, zeros } from '../../src/linalg/matrix.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import { fullBatch, type BilevelProblem } from '../../src/problems/types.ts';
import { harness, randomQuadratic, topology } from '../helpers.ts';

const EXACT = { estimator: 'neumann-recursive', depth: 'fixed', K: 200 };
const PARAMS: Record<string, Record<string, unknown>> = {
  vrdbo: { eta: 0.5, alpha1: 3.6, alpha2: 3.6, beta1: 0.1, beta2: 0.2, ...EXACT },
  mdbo: { eta: 0.5, alpha1: 1.8, alpha2: 1.8, beta1: 0.1, beta2: 0.2, ...EXACT },
};

async function run(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, iterations: number) {
  const h = harness(algorithm, params, problem, topology({ type: 'ring', agents: problem.m }));
  for (let t = 0; t < iterations; t++) await h.step();
  return { h, metrics: new Evaluator(problem).evaluate(h.views()) };
}

/** (1/m) Σ_i local hypergradient at (x, y), with explicit local Hessians. */
function localSurrogate(problem: BilevelProblem, x: Float64Array, y: Float64Array): Float64Array {
  const { dx, dy } = problem;
  const out = new Float64Array(dx);
  const full = fullBatch();
  for (const o of problem.agents) {
    const H = zeros(dy, dy);
    const J = zeros(dx, dy);
    o.hessian(x, y, full, H.data);
    o.jacobian(x, y, full, J.data);
    const fx = new Float64Array(dx);
    const fy = new Float64Array(dy);
    o.gradF(x, y, full, fx, fy);
    const v = choleskySolve(H, fy);
    const jv = new Float64Array(dx);
    gemv(jv, J, v);
    for (let k = 0; k < dx; k++) out[k]! += (fx[k]! - jv[k]!) / problem.m;
  }
  return out;
}

for (const algorithm of [vrdbo, mdbo]) {
  const params = PARAMS[algorithm.name]!;

  test(`${algorithm.name} converges on identical agents (deterministic, ring)`, async () => {
    const problem = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 0 }, 3);
    const { metrics } = await run(algorithm, params, problem, 1500);
    assert.ok(metrics.hypergradNormSq < 1e-8 && metrics.consensusX < 1e-8 && metrics.lowerError < 1e-8, JSON.stringify(metrics));
  });

  test(`${algorithm.name} on heterogeneous agents: exact consensus, a fixed bias from local Hessians that halving the steps does not change`, async () => {
    const problem = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1 }, 3);
    const a = await run(algorithm, params, problem, 3000);
    const b = await run(algorithm, { ...params, beta1: 0.05, beta2: 0.1 }, problem, 6000);
    assert.ok(a.metrics.consensusX < 1e-12 && a.metrics.lowerError < 1e-12, JSON.stringify(a.metrics));
    assert.ok(a.metrics.hypergradNormSq > 1e-3, `a bias, not convergence: ${a.metrics.hypergradNormSq}`);
    assert.ok(Math.abs(a.metrics.hypergradNormSq - b.metrics.hypergradNormSq) < 1e-6 * a.metrics.hypergradNormSq, `${a.metrics.hypergradNormSq} vs ${b.metrics.hypergradNormSq}`);
    // The fixed point is where the average of the local surrogates vanishes.
    const xBar = new Float64Array(problem.dx);
    for (const s of a.h.states) for (let k = 0; k < xBar.length; k++) xBar[k]! += (s.x as Float64Array)[k]! / problem.m;
    const yStar = new Float64Array(problem.dy);
    problem.exact!.lowerSolution(xBar, 0, yStar);
    const g = localSurrogate(problem, xBar, yStar);
    assert.ok(Math.sqrt(g.reduce((s, v) => s + v * v, 0)) < 1e-6, `local surrogate at the fixed point: ${Array.from(g)}`);
  });
}

test('vrdbo and mdbo counts: 1 round of 2d_x + 2d_y floats (d_x + d_y at t = 0); VRDBO evaluates two points, MDBO one', async () => {
  const problem = randomQuadratic({ agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1 }, 2);
  const topo = topology({ type: 'ring', agents: 5 });
  const directed = 2 * topo.graph.edges.length;
  for (const [algorithm, points] of [
    [vrdbo, 2],
    [mdbo, 1],
  ] as const) {
    const K = 4;
    const h = harness(algorithm, { ...PARAMS[algorithm.name], K, Lg: 20 }, problem, topo, { batch: 5 });
    await h.step();
    assert.equal(h.sim.counters.floats, directed * (3 + 4));
    // t = 0: one estimator (1 ∇F, 1 JVP, K−1 HVPs at fixed depth) and one ∇_y g.
    for (const o of h.oracles) assert.deepEqual(o.counts.calls, { gradF: 1, gradG: 1, hvp: K - 1, jvp: 1, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
    await h.step();
    await h.step();
    assert.equal(h.sim.counters.rounds, 3);
    assert.equal(h.sim.counters.floats, directed * (3 + 4) + 2 * directed * (2 * 3 + 2 * 4));
    const n = 1 + 2 * points;
    for (const o of h.oracles) assert.deepEqual(o.counts.calls, { gradF: n, gradG: n, hvp: n * (K - 1), jvp: n, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
  }
});

test('vrdbo estimates L_g by power iteration when not given (30 counted full-batch HVPs)', async () => {
  const problem = randomQuadratic({ agents: 3, dx: 2, dy: 3, problemClass: 'global', heterogeneity: 0.5 }, 2);
  const h = harness(vrdbo, { K: 3, estimator: 'neumann-recursive' }, problem, topology({ type: 'ring', agents: 3 }));
  await h.step();
  for (let i = 0; i < 3; i++) {
    assert.equal(h.oracles[i]!.counts.calls.hvp, 30 + 2);
    const H = zeros(3, 3);
    problem.agents[i]!.hessian(new Float64Array(2), new Float64Array(3), fullBatch(), H.data);
    const lg = h.states[i].lg as number;
    // Lg = 1.1 λmax(∇²_yy g_i), so the Neumann series converges (‖I − H/Lg‖ < 1).
    const lambdaMax = symmetricEigen(H).values[2]!;
    assert.ok(Math.abs(lg - 1.1 * lambdaMax) < 1e-6 * lg, `${lg} vs 1.1 × ${lambdaMax}`);
  }
});

test('vrdbo with noise: within the Neumann truncation bias (conventional K = 10) and close to x* with the recursive K = 20 estimator', async () => {
  const problem = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 0, noise: 0.1 }, 3);
  const final = async (params: Record<string, unknown>) => {
    const h = harness(vrdbo, { eta: 0.5, alpha1: 2, alpha2: 2, beta1: 0.05, beta2: 0.2, ...params }, problem, topology({ type: 'ring', agents: 6 }), { batch: 4 });
    for (let t = 0; t < 2000; t++) await h.step();
    return new Evaluator(problem).evaluate(h.states.map((s) => vrdbo.view(s))).hypergradNormSq;
  };
  // K = 10 terms leave a bias of order (1 − μ/L_g)^10 in the hypergradient (measured ≈ 0.026 here).
  assert.ok((await final({ estimator: 'neumann', K: 10 })) < 5e-2);
  // 20 fixed-depth recursive terms shrink the bias; what remains is minibatch noise (measured ≈ 7e-5).
  assert.ok((await final({ estimator: 'neumann-recursive', K: 20, alpha1: 0.4, alpha2: 0.4, beta1: 0.02 })) < 1e-3);
});

test('vrdbo and mdbo reject bad parameters and round-trip their state', async () => {
  assert.match(String(vrdbo.params.safeParse({ eta: 0.1, alpha1: 101 }).error?.issues[0]?.message), /alpha1·eta² must be ≤ 1/);
  assert.match(String(mdbo.params.safeParse({ eta: 0.5, alpha1: 1, alpha2: 3 }).error?.issues[0]?.message), /alpha2·eta must be ≤ 1/);
  assert.match(String(vrdbo.params.safeParse({ K: 0 }).error?.issues[0]?.message), /K must be ≥ 1/);
  const problem = randomQuadratic({ agents: 4, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1, noise: 0.2 }, 8);
  const topo = topology({ type: 'ring', agents: 4 });
  const a = harness(vrdbo, {}, problem, topo, { batch: 2 });
  const b = harness(vrdbo, {}, problem, topo, { batch: 2 });
  for (let t = 0; t < 9; t++) await a.step();
  for (let t = 0; t < 4; t++) await b.step();
  b.states = b.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
  for (let t = 0; t < 5; t++) await b.step();
  assert.deepEqual(serializeState(b.states), serializeState(a.states));
});

test('mdbo with noise (σ = 0.1, batch 4, recursive K = 20): ‖∇Φ(x̄)‖² below 1e-2 from ≈ 10 at the start', async () => {
  const problem = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 0, noise: 0.1 }, 3);
  const h = harness(mdbo, { eta: 0.5, alpha1: 0.4, alpha2: 0.4, beta1: 0.02, beta2: 0.2, estimator: 'neumann-recursive', K: 20 }, problem, topology({ type: 'ring', agents: 6 }), { batch: 4 });
  for (let t = 0; t < 2000; t++) await h.step();
  const m = new Evaluator(problem).evaluate(h.states.map((s) => mdbo.view(s)));
  // Momentum averages the noise; what remains is the O(α₁η) noise floor and the K = 20 truncation.
  assert.ok(m.hypergradNormSq < 1e-2, `‖∇Φ‖² = ${m.hypergradNormSq}`);
});
