/**
 * Prometheus, Prometheus-SG, Prometheus-dir and Prox-DSGD (SEED-003,
 * docs/algorithms.md) on random personalized-class quadratics.
 *
 * Theory used here:
 * - With deterministic oracles (noise 0) every estimator is exact up to the
 *   Neumann truncation: the recursive estimator at fixed depth K has bias
 *   O((1 − μ/L_g)^K), and for these instances (μ = 0.5, L_g ≈ 5–7.6) K = 200
 *   leaves ‖∇Φ(x̄)‖² ≈ 2.5e-14 at the fixed point (K = 100 leaves ≈ 1e-7), so
 *   the fixed point of the tracked methods is the stationary point of
 *   Φ + h + ι_X up to that bias; SPIDER differences are then exact and
 *   Prometheus and Prometheus-SG take the same path.
 * - Φ is a convex quadratic here (the generator shifts Pxx so ∇²Φ ⪰ 0.5 I),
 *   so the constrained problem min Φ + λ₁‖x‖₁ over a box has a unique x*,
 *   computed below by a long centralized proximal-gradient run on the exact
 *   hypergradient.
 * - With h = 0, Prometheus's x̃ = Π_X(x − u/τ) is Prometheus-dir's
 *   Π_X(x − τ′u) for τ′ = 1/τ (docs/algorithms.md); both use the same sampling stream, so
 *   the runs coincide exactly, noise included.
 * - Prox-DSGD has no tracking: exact on identical agents, a floor on
 *   heterogeneous ones that shrinks with the step α (consensus error O(α²)).
 * - Under oracle noise SPIDER's differences use the same samples at both
 *   points and the checkpoints are exact (population oracle, full batch), so
 *   Prometheus reaches the noise-free fixed point; Prometheus-SG stalls at a
 *   noise floor (Proposition 3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prometheus, prometheusDir, prometheusSg, proxDsgd } from '../../src/algorithms/prometheus.ts';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import type { AnyAlgorithm } from '../helpers.ts';
import { parseWith } from '../../src/experiments/zod-errors.ts';
import { distSq, meanInto } from '../../src/linalg/vector.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import type { BilevelProblem } from '../../src/problems/types.ts';
import { prox, type ProxSpec } from '../../src/prox/prox.ts';
import { harness, randomQuadratic, topology } from '../helpers.ts';

const BASE = { alpha: 0.2, beta: 0.2, tau: 1, K: 200 };
const withQ = (a: AnyAlgorithm, p: Record<string, unknown>, q = 5) => (a === prometheus || a === prometheusDir ? { ...p, q } : p);

const heterogeneous = () => randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'personalized', heterogeneity: 1 }, 3);

async function run(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, iterations: number, batch: number | 'full' = 4) {
  const h = harness(algorithm, params, problem, topology({ type: 'ring', agents: problem.m }), { batch });
  for (let t = 0; t < iterations; t++) await h.step();
  const views = h.views();
  const xBar = new Float64Array(problem.dx);
  meanInto(xBar, views.map((v) => v.x));
  return { h, xBar, metrics: new Evaluator(problem).evaluate(views) };
}

/** argmin Φ(x) + h(x) over X by proximal gradient on the exact hypergradient (Φ is a strongly convex quadratic). */
function centralSolution(problem: BilevelProblem, spec: ProxSpec): Float64Array {
  const { dx } = problem;
  const grad = (x: Float64Array) => {
    const g = new Float64Array(dx);
    problem.exact!.hypergradient(x, g);
    return g;
  };
  // L ≤ ‖∇²Φ‖_F, the Hessian's columns being differences of the (affine) hypergradient.
  const g0 = grad(new Float64Array(dx));
  let frob = 0;
  for (let j = 0; j < dx; j++) {
    const e = new Float64Array(dx);
    e[j] = 1;
    frob += distSq(grad(e), g0);
  }
  const L = Math.sqrt(frob);
  const x = new Float64Array(dx);
  const v = new Float64Array(dx);
  for (let it = 0; it < 3000; it++) {
    const g = grad(x);
    for (let i = 0; i < dx; i++) v[i] = x[i]! - g[i]! / L;
    prox(spec, L, v, x);
  }
  return x;
}

for (const algorithm of [prometheus, prometheusDir, prometheusSg]) {
  test(`${algorithm.name} converges on heterogeneous agents (unconstrained, deterministic, ring, 300 iterations)`, async () => {
    const { metrics } = await run(algorithm, withQ(algorithm, BASE), heterogeneous(), 300);
    const worstLower = Math.max(...metrics.lowerErrors!);
    assert.ok(metrics.hypergradNormSq < 1e-8 && metrics.consensusX < 1e-8 && worstLower < 1e-8, JSON.stringify(metrics));
    // The Prometheus metric (2): Σ‖x̃_i − x̄‖² + Σ‖x_i − x̄‖² + Σ‖y_i − y_i*(x_i)‖².
    assert.ok(metrics.prometheusMetric! < 1e-8, `${metrics.prometheusMetric}`);
  });
}

test('box + ℓ₁: prometheus and prometheus-sg reach the constrained solution x* (one coordinate at its bound); prometheus-dir drops h', async () => {
  const problem = heterogeneous();
  const spec: ProxSpec = { l1: 0.15, box: [-0.2, 0.6] };
  const xStar = centralSolution(problem, spec);
  const atBound = Array.from(xStar).filter((v) => Math.abs(v - 0.6) < 1e-12 || Math.abs(v + 0.2) < 1e-12).length;
  assert.ok(atBound >= 1 && atBound < problem.dx, `x* = ${Array.from(xStar)}`);
  // Unconstrained, x* would leave the box: the constraint is active.
  const free = centralSolution(problem, {});
  assert.ok(Math.max(...free) > 0.6 + 0.1, `${Array.from(free)}`);
  for (const algorithm of [prometheus, prometheusSg]) {
    const { h, xBar, metrics } = await run(algorithm, withQ(algorithm, { ...BASE, prox: spec }), problem, 300);
    assert.ok(Math.sqrt(distSq(xBar, xStar)) < 1e-6, `${algorithm.name}: x̄ = ${Array.from(xBar)}, x* = ${Array.from(xStar)}`);
    assert.ok(metrics.consensusX < 1e-12 && metrics.prometheusMetric! < 1e-8, JSON.stringify(metrics));
    // The prox points are feasible, and x̄ sits on the bound where x* does.
    for (const st of h.views()) assert.ok(Array.from(st.xTilde!).every((v) => v >= -0.2 && v <= 0.6));
    for (let i = 0; i < problem.dx; i++) if (Math.abs(xStar[i]! - 0.6) < 1e-12) assert.ok(Math.abs(xBar[i]! - 0.6) < 1e-12, `coordinate ${i}: ${xBar[i]}`);
  }
  // Prometheus-dir ignores h: it converges to the minimizer of Φ over the box alone.
  const boxOnly = centralSolution(problem, { box: spec.box! });
  const dir = await run(prometheusDir, { ...BASE, q: 5, prox: spec }, problem, 300);
  assert.ok(Math.sqrt(distSq(dir.xBar, boxOnly)) < 1e-6 && Math.sqrt(distSq(dir.xBar, xStar)) > 1e-2, `${Array.from(dir.xBar)} vs ${Array.from(boxOnly)}`);
});

test('with h = 0, prometheus (τ) and prometheus-dir (1/τ) coincide exactly, under noise and a box constraint', async () => {
  const problem = randomQuadratic({ agents: 5, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 1, noise: 0.1 }, 4);
  const topo = topology({ type: 'ring', agents: 5 });
  const common = { alpha: 0.5, beta: 0.2, K: 10, q: 4, prox: { box: [-0.3, 0.3] } };
  const a = harness(prometheus, { ...common, tau: 4 }, problem, topo, { batch: 3 });
  const b = harness(prometheusDir, { ...common, tau: 0.25 }, problem, topo, { batch: 3 });
  for (let t = 0; t < 60; t++) {
    await a.step();
    await b.step();
  }
  assert.deepEqual(serializeState(b.states), serializeState(a.states));
  assert.ok(a.states.some((s) => Array.from(s.xTilde as Float64Array).some((v) => Math.abs(Math.abs(v) - 0.3) < 1e-15)), 'the box is active');
});

test('under oracle noise prometheus (SPIDER) reaches the noise-free fixed point; prometheus-sg stalls at a noise floor', async () => {
  const problem = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'personalized', heterogeneity: 1, noise: 0.1 }, 3);
  const clean = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'personalized', heterogeneity: 1 }, 3);
  const params = { ...BASE, K: 30 };
  const target = await run(prometheus, { ...params, q: 10 }, clean, 300);
  const vr = await run(prometheus, { ...params, q: 10 }, problem, 300);
  const sg = await run(prometheusSg, params, problem, 300);
  assert.ok(Math.sqrt(distSq(vr.xBar, target.xBar)) < 1e-8 && vr.metrics.prometheusMetric! < 1e-12, `${Array.from(vr.xBar)} vs ${Array.from(target.xBar)}; ${vr.metrics.prometheusMetric}`);
  // Measured: ‖x̄ − x̄_clean‖ ≈ 1e-11 for Prometheus; ≈ 6.4e-3 with metric ≈ 0.96 for Prometheus-SG.
  assert.ok(Math.sqrt(distSq(sg.xBar, target.xBar)) > 1e-3 && sg.metrics.prometheusMetric! > 1e-2, `${Array.from(sg.xBar)}; ${sg.metrics.prometheusMetric}`);
});

test('prox-dsgd: exact on identical agents; on heterogeneous agents a floor that shrinks with the step α', async () => {
  const identical = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'personalized', heterogeneity: 0 }, 3);
  const { metrics } = await run(proxDsgd, BASE, identical, 200);
  assert.ok(metrics.hypergradNormSq < 1e-8 && metrics.consensusX < 1e-8 && Math.max(...metrics.lowerErrors!) < 1e-8 && metrics.prometheusMetric! < 1e-8, JSON.stringify(metrics));

  const problem = heterogeneous();
  const floor = async (alpha: number, iterations: number) => {
    const a = await run(proxDsgd, { ...BASE, alpha }, problem, iterations);
    const b = await run(proxDsgd, { ...BASE, alpha }, problem, 2 * iterations);
    // Stalled: doubling the run changes nothing.
    assert.ok(Math.abs(a.metrics.hypergradNormSq - b.metrics.hypergradNormSq) < 1e-4 * b.metrics.hypergradNormSq, `${a.metrics.hypergradNormSq} vs ${b.metrics.hypergradNormSq}`);
    return b.metrics;
  };
  // Measured: ‖∇Φ(x̄)‖² 0.94 → 0.23, consensus error 1.48 → 0.20 for α 0.2 → 0.05.
  const big = await floor(0.2, 200);
  const small = await floor(0.05, 400);
  assert.ok(small.hypergradNormSq > 1e-2 && small.consensusX > 1e-2, JSON.stringify(small));
  assert.ok(small.hypergradNormSq < 0.5 * big.hypergradNormSq && small.consensusX < 0.25 * big.consensusX, `${JSON.stringify(big)} vs ${JSON.stringify(small)}`);
});

test('exact counts: 1 round per iteration, 2d_x floats per message (d_x for prox-dsgd), oracle calls and samples by kind', async () => {
  const problem = randomQuadratic({ agents: 5, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 1 }, 2);
  const topo = topology({ type: 'ring', agents: 5 });
  const directed = 2 * topo.graph.edges.length;
  const K = 4;
  const k = K - 1;
  const B = 5;
  const calls = (evals: number) => ({ gradF: evals, gradG: evals, hvp: k * evals, jvp: evals, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
  // Evaluations after steps 1, 2, 3 with q = 3: prometheus/-dir init (full) + 2 (SPIDER), + 2 (SPIDER), + 1 (full at (t+1) mod 3 = 0).
  const expected: Array<[AnyAlgorithm, number, number[]]> = [
    [prometheus, 2, [3, 5, 6]],
    [prometheusDir, 2, [3, 5, 6]],
    [prometheusSg, 2, [2, 3, 4]],
    [proxDsgd, 1, [2, 3, 4]],
  ];
  for (const [algorithm, vectors, evals] of expected) {
    const h = harness(algorithm, withQ(algorithm, { K, Lg: 20 }, 3), problem, topo, { batch: B });
    for (let t = 0; t < 3; t++) {
      await h.step();
      assert.equal(h.sim.counters.rounds, t + 1);
      assert.equal(h.sim.counters.floats, (t + 1) * directed * vectors * problem.dx, algorithm.name);
      for (const o of h.oracles) assert.deepEqual(o.counts.calls, calls(evals[t]!), `${algorithm.name} after ${t + 1} steps`);
    }
    // Samples: a full batch of a population oracle counts 1 per call, a minibatch B.
    const full = algorithm === prometheus || algorithm === prometheusDir ? 2 : algorithm === prometheusSg ? 1 : 0;
    const mini = evals[2]! - full;
    for (const o of h.oracles) assert.deepEqual(o.counts.samples, { gradF: full + B * mini, gradG: full + B * mini, hvp: k * (full + B * mini), jvp: full + B * mini, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
  }
  // Without Lg: 30 counted full-batch HVPs of the power iteration in the first step.
  const h = harness(prometheus, { K, q: 3 }, problem, topo, { batch: B });
  await h.step();
  for (const o of h.oracles) assert.equal(o.counts.calls.hvp, 30 + 3 * k);
});

test('parameters: strict, described, defaults (recursive fixed-depth estimator, unconstrained); bad prox settings rejected naming the field', () => {
  for (const algorithm of [prometheus, prometheusDir, prometheusSg, proxDsgd]) {
    const shape = (algorithm.params as unknown as { shape: Record<string, { description?: string }> }).shape;
    for (const [key, field] of Object.entries(shape)) assert.ok(field.description, `${algorithm.name}.${key} has a description`);
    const p = algorithm.params.parse({}) as Record<string, unknown>;
    assert.equal(p.estimator, 'neumann-recursive');
    assert.equal(p.depth, 'fixed');
    assert.deepEqual(p.prox, {});
    assert.equal(algorithm.problemClass, 'personalized');
  }
  assert.equal((prometheus.params.parse({}) as { q: number }).q, 10);
  const cases: Array<[AnyAlgorithm, unknown, RegExp]> = [
    [prometheus, { prox: { box: [1, -1] } }, /^algorithm\.prox\.box: box must be \[lower, upper\] with lower ≤ upper/],
    [prometheus, { prox: { l1: 0.1, ball: 1 } }, /^algorithm\.prox\.ball: ℓ₁ with an ℓ₂ ball is not supported/],
    [prometheusDir, { prox: { box: [-1, 1], ball: 1 } }, /^algorithm\.prox\.ball: a box and a ball together/],
    [prometheusSg, { prox: { l1: -1 } }, /^algorithm\.prox\.l1: l1 must be ≥ 0/],
    [proxDsgd, { prox: { radius: 1 } }, /^algorithm\.prox: unknown key 'radius'/],
    [prometheus, { tau: 0 }, /^algorithm\.tau: tau must be > 0/],
    [prometheus, { q: 0 }, /^algorithm\.q: q must be ≥ 1/],
    [prometheus, { alpha: 1.5 }, /^algorithm\.alpha: alpha must be in \(0, 1\]/],
    [prometheusSg, { q: 5 }, /^algorithm: unknown key 'q'/],
    [proxDsgd, { K: 0 }, /^algorithm\.K: K must be ≥ 1/],
  ];
  for (const [algorithm, value, message] of cases) assert.throws(() => parseWith(algorithm.params, value, 'algorithm'), { name: 'ConfigError', message }, `${algorithm.name} ${JSON.stringify(value)}`);
});

test('same seed ⇒ identical states, another seed differs; state round trip resumes exactly; views carry x̃', async () => {
  const problem = randomQuadratic({ agents: 4, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 1, noise: 0.2 }, 8);
  const topo = topology({ type: 'ring', agents: 4 });
  for (const algorithm of [prometheus, prometheusSg, prometheusDir, proxDsgd]) {
    const params = withQ(algorithm, { K: 5, prox: { l1: 0.01, box: [-2, 2] } }, 3);
    const a = harness(algorithm, params, problem, topo, { batch: 2, seed: 5 });
    const b = harness(algorithm, params, problem, topo, { batch: 2, seed: 5 });
    const c = harness(algorithm, params, problem, topo, { batch: 2, seed: 6 });
    for (let t = 0; t < 9; t++) {
      await a.step();
      await c.step();
    }
    for (let t = 0; t < 4; t++) await b.step();
    b.states = b.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
    for (let t = 0; t < 5; t++) await b.step();
    assert.deepEqual(serializeState(b.states), serializeState(a.states), algorithm.name);
    assert.notDeepEqual(serializeState(c.states.map((s) => s.x)), serializeState(a.states.map((s) => s.x)), algorithm.name);
    const view = algorithm.view(a.states[0]);
    assert.ok(view.xTilde instanceof Float64Array && view.xTilde.length === problem.dx);
  }
});
