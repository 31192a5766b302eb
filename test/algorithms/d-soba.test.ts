/**
 * D-SOBA-SO / D-SOBA-FO (SEED-004 Algorithm 1; docs/algorithms.md, docs/decisions.md §2–§3).
 *
 * What the theory predicts and what is pinned here:
 * - deterministic oracles, identical agents: every agent runs centralized
 *   SOBA from the same point, so x̄ converges to x* and consensus is exact;
 * - complete graph with uniform weights: one gossip round averages exactly, so
 *   the network iterates equal centralized SOBA on the averaged problem;
 * - heterogeneous agents on a sparse graph: no gradient tracking, so D-SOBA
 *   stalls at a floor of order (step size)² in ‖∇Φ(x̄)‖²;
 * - m = 1, W = [1]: exactly centralized SOBA (benchopt's update with v = −z).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dSoba, dSobaFo } from '../../src/algorithms/d-soba.ts';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import { makeDataset } from '../../src/data/dataset.ts';
import { topologyFromMatrix } from '../../src/graph/index.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import { logregHpoProblem } from '../../src/problems/logreg-hpo.ts';
import { quadraticProblem } from '../../src/problems/quadratic.ts';
import { parseQuadraticInstance } from '../../src/problems/quadratic-file.ts';
import { randomQuadraticInstance } from '../../src/problems/quadratic-generator.ts';
import type { BilevelProblem } from '../../src/problems/types.ts';
import { BatchSampler } from '../../src/problems/batch.ts';
import { Rng } from '../../src/random/rng.ts';
import { harness, randomQuadratic, topology, runAndEvaluate } from '../helpers.ts';
import { denseSolve } from '../hypergrad/dense-quadratic.ts';

const STEPS = { alpha: 0.1, beta: 0.2, gamma: 0.2, theta: 0.5 };

for (const seed of [1, 2, 3]) {
  const agents = 5 + seed;
  test(`d-soba converges on identical agents over a ring (seed ${seed}, ${agents} agents)`, async () => {
    const problem = randomQuadratic({ agents, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 0 }, seed);
    const { metrics } = await runAndEvaluate(dSoba, STEPS, problem, topology({ type: 'ring', agents }), 3000);
    assert.ok(metrics.hypergradNormSq < 1e-10, `‖∇Φ‖² = ${metrics.hypergradNormSq}`);
    assert.ok(metrics.consensusX < 1e-10, `consensus = ${metrics.consensusX}`);
    assert.ok(metrics.lowerError < 1e-10, `lower error = ${metrics.lowerError}`);
  });

  test(`d-soba converges on heterogeneous agents over a complete graph with uniform weights (seed ${seed})`, async () => {
    const problem = randomQuadratic({ agents, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1 }, seed);
    const { metrics } = await runAndEvaluate(dSoba, STEPS, problem, topology({ type: 'complete', agents, mixing: 'uniform' }), 3000);
    assert.ok(metrics.hypergradNormSq < 1e-10, `‖∇Φ‖² = ${metrics.hypergradNormSq}`);
    assert.ok(metrics.consensusX < 1e-10, `consensus = ${metrics.consensusX}`);
  });
}

test('d-soba converges on identical agents over a 2-D torus', async () => {
  const problem = randomQuadratic({ agents: 9, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0 }, 11);
  const { metrics } = await runAndEvaluate(dSoba, STEPS, problem, topology({ type: 'torus', agents: 9 }), 3000);
  assert.ok(metrics.hypergradNormSq < 1e-10 && metrics.consensusX < 1e-10, JSON.stringify(metrics));
});

/** The floor: run to the stationary regime, check it has stopped moving, return ‖∇Φ(x̄)‖². */
async function floorOf(problem: BilevelProblem, topo: Parameters<typeof harness>[3], scale: number, iterations: number): Promise<number> {
  const params = { alpha: STEPS.alpha * scale, beta: STEPS.beta * scale, gamma: STEPS.gamma * scale, theta: STEPS.theta };
  const { h, metrics } = await runAndEvaluate(dSoba, params, problem, topo, iterations);
  for (let t = 0; t < iterations / 4; t++) await h.step();
  const later = new Evaluator(problem).evaluate(h.states.map((s) => dSoba.view(s)));
  assert.ok(Math.abs(later.hypergradNormSq - metrics.hypergradNormSq) < 1e-6 * metrics.hypergradNormSq, 'not yet at the floor');
  return metrics.hypergradNormSq;
}

test('d-soba on heterogeneous agents over a torus stalls at a floor that halving α, β, γ cuts by ≥ 2.5×', async () => {
  const problem = randomQuadratic({ agents: 8, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1 }, 3);
  const topo = topology({ type: 'torus', agents: 8 });
  const big = await floorOf(problem, topo, 1, 3000);
  const small = await floorOf(problem, topo, 0.5, 6000);
  assert.ok(big > 1e-4, `a real floor, not convergence: ${big}`);
  assert.ok(big / small >= 2.5, `floor ${big} → ${small} (ratio ${(big / small).toFixed(2)})`);
});

test('d-soba on heterogeneous agents over a ring stalls at a floor that shrinks with the step size', async () => {
  const problem = randomQuadratic({ agents: 8, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1 }, 3);
  const topo = topology({ type: 'ring', agents: 8 });
  const big = await floorOf(problem, topo, 0.25, 12000);
  const small = await floorOf(problem, topo, 0.125, 24000);
  assert.ok(small > 1e-4, `a real floor, not convergence: ${small}`);
  assert.ok(big / small >= 2.5, `floor ${big} → ${small} (ratio ${(big / small).toFixed(2)})`);
});

test('d-soba-fo matches d-soba on quadratics (finite differences are exact there) and converges', async () => {
  const problem = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 0 }, 5);
  const topo = topology({ type: 'ring', agents: 6 });
  for (const stencil of ['central', 'forward']) {
    const { metrics } = await runAndEvaluate(dSobaFo, { ...STEPS, stencil }, problem, topo, 3000);
    assert.ok(metrics.hypergradNormSq < 1e-10, `${stencil}: ‖∇Φ‖² = ${metrics.hypergradNormSq}`);
  }
});

/** A small deterministic logistic HPO problem (1 agent) where finite differences are not exact. */
function smallLogreg(): BilevelProblem {
  const rng = new Rng(3, 'small-logreg');
  const make = (n: number) => {
    const features = Float64Array.from({ length: n * 4 }, () => rng.normal());
    const labels = Int32Array.from({ length: n }, (_, i) => (features[i * 4]! + 0.5 * features[i * 4 + 1]! + 0.3 * rng.normal() > 0 ? 1 : 0));
    return makeDataset(n, 4, 2, features, labels);
  };
  return logregHpoProblem([make(40)], [make(40)], null);
}

test('d-soba-fo reaches the accuracy its δ allows: O(δ²) central, O(δ) forward', async () => {
  const problem = smallLogreg();
  const single = topologyFromMatrix([[1]], 1);
  const params = { alpha: 1, beta: 1, gamma: 1, theta: 1 };
  const reference = await runAndEvaluate(dSoba, params, problem, single, 400);
  const xRef = reference.h.states[0].x as Float64Array;
  const gap = async (stencil: string, delta: number): Promise<number> => {
    const run = await runAndEvaluate(dSobaFo, { ...params, stencil, delta }, problem, single, 400);
    const x = run.h.states[0].x as Float64Array;
    return Math.sqrt(x.reduce((s, v, i) => s + (v - xRef[i]!) ** 2, 0));
  };
  const c1 = await gap('central', 1e-1);
  const c2 = await gap('central', 1e-2);
  const f1 = await gap('forward', 1e-1);
  const f2 = await gap('forward', 1e-2);
  assert.ok(c1 > 0 && c1 / c2 > 50, `central: ${c1} → ${c2}`);
  assert.ok(f1 / f2 > 5 && f1 / f2 < 20, `forward: ${f1} → ${f2}`);
  assert.ok(c2 < f2, 'central is more accurate than forward at the same δ');
});

/**
 * Centralized SOBA as benchopt writes it (solvers/soba.py, algorithms.md
 * docs/algorithms.md), with v = −z: y −= ρ∇_y g; v −= ρ(Hv + ∇_y f); x −= γ(J v + ∇_x f),
 * all at the old iterate. `delay` applies the x-direction one iteration late,
 * as D-SOBA's Algorithm 1 does with θ = 1.
 */
function centralizedSoba(problem: BilevelProblem, seed: number, batch: number, rho: number, gammaX: number, iterations: number, delay: boolean) {
  const o = problem.agents[0]!;
  const rng = new Rng(seed, 'd-soba');
  const upperS = new BatchSampler(o.upperSamples, batch);
  const lowerS = new BatchSampler(o.lowerSamples, batch);
  const ub = upperS.create();
  const lb = lowerS.create();
  const x = new Float64Array(problem.dx);
  const y = new Float64Array(problem.dy);
  const v = new Float64Array(problem.dy);
  const gx = new Float64Array(problem.dx);
  const gy = new Float64Array(problem.dy);
  const gg = new Float64Array(problem.dy);
  const hv = new Float64Array(problem.dy);
  const jv = new Float64Array(problem.dx);
  let pending = new Float64Array(problem.dx);
  const xs: Float64Array[] = [];
  for (let t = 0; t < iterations; t++) {
    upperS.draw(ub, rng);
    lowerS.draw(lb, rng);
    o.gradF(x, y, ub, gx, gy);
    o.gradG(x, y, lb, null, gg);
    o.hvp(x, y, v, lb, hv);
    o.jvp(x, y, v, lb, jv);
    const direction = Float64Array.from(jv, (j, k) => j + gx[k]!);
    const step = delay ? pending : direction;
    for (let k = 0; k < x.length; k++) x[k]! -= gammaX * step[k]!;
    pending = direction;
    for (let k = 0; k < y.length; k++) {
      y[k]! -= rho * gg[k]!;
      v[k]! -= rho * (hv[k]! + gy[k]!);
    }
    xs.push(Float64Array.from(x));
  }
  return xs;
}

for (const timing of ['current', 'previous'] as const) {
  test(`d-soba with one agent and W = [1] reproduces centralized SOBA step for step (hTiming ${timing})`, async () => {
    const json = randomQuadraticInstance({ agents: 1, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0, noise: 0.5 }, 9);
    const parsed = parseQuadraticInstance(json, '(test)');
    const problem = quadraticProblem('global', parsed.agents, 0.5);
    const rho = 0.15;
    const gammaX = 0.07;
    const h = harness(dSoba, { alpha: gammaX, beta: rho, gamma: rho, theta: 1, hTiming: timing }, problem, topologyFromMatrix([[1]], 1), { batch: 4, seed: 21 });
    const reference = centralizedSoba(problem, h.contexts[0]!.seed, 4, rho, gammaX, 50, timing === 'previous');
    for (let t = 0; t < 50; t++) {
      await h.step();
      const x = h.states[0].x as Float64Array;
      for (let k = 0; k < x.length; k++) assert.ok(Math.abs(x[k]! - reference[t]![k]!) <= 1e-12 * (1 + Math.abs(x[k]!)), `iteration ${t + 1}, x[${k}]: ${x[k]} vs SOBA ${reference[t]![k]}`);
    }
  });
}

test('d-soba sends 2|E|·(d_x + 2d_y)·bytesPerFloat bytes and makes one F, G, HVP, JVP call per agent per iteration', async () => {
  const problem = randomQuadratic({ agents: 7, dx: 3, dy: 5, problemClass: 'global', heterogeneity: 0.5 }, 4);
  for (const [spec, bytesPerFloat] of [
    [{ type: 'ring', agents: 7 }, 4],
    [{ type: 'erdos-renyi', agents: 7, p: 0.5 }, 8],
    [{ type: 'star', agents: 7 }, 4],
  ] as const) {
    const topo = topology(spec);
    const h = harness(dSoba, STEPS, problem, topo, { bytesPerFloat, batch: 3 });
    const edges = topo.graph.edges.length;
    for (let t = 1; t <= 3; t++) {
      await h.step();
      assert.equal(h.sim.counters.rounds, t);
      assert.equal(h.sim.counters.messages, t * 2 * edges);
      assert.equal(h.sim.counters.bytes, t * 2 * edges * (3 + 2 * 5) * bytesPerFloat);
      for (const o of h.oracles) {
        assert.deepEqual(o.counts.calls, { gradF: t, gradG: t, hvp: t, jvp: t, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
        assert.equal(o.counts.samples.gradF, 3 * t);
      }
    }
  }
});

test('d-soba-fo uses gradients only: 3 (central) or 2 (forward) ∇G calls per iteration', async () => {
  const problem = randomQuadratic({ agents: 4, dx: 3, dy: 5, problemClass: 'global', heterogeneity: 0.5 }, 4);
  for (const [stencil, g] of [
    ['central', 3],
    ['forward', 2],
  ] as const) {
    const h = harness(dSobaFo, { ...STEPS, stencil }, problem, topology({ type: 'ring', agents: 4 }));
    h.states.forEach((s) => (s.z as Float64Array).fill(1)); // z ≠ 0, so the differences are taken
    await h.step();
    await h.step();
    for (const o of h.oracles) assert.deepEqual(o.counts.calls, { gradF: 2, gradG: 2 * g, hvp: 0, jvp: 0, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
  }
});

test('d-soba state round-trips through serialization: resuming gives the same iterates', async () => {
  const problem = randomQuadratic({ agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1, noise: 0.3 }, 8);
  const topo = topology({ type: 'ring', agents: 5 });
  const straight = harness(dSoba, STEPS, problem, topo, { batch: 2 });
  for (let t = 0; t < 20; t++) await straight.step();
  const resumed = harness(dSoba, STEPS, problem, topo, { batch: 2 });
  for (let t = 0; t < 10; t++) await resumed.step();
  resumed.states = resumed.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
  for (let t = 0; t < 10; t++) await resumed.step();
  assert.deepEqual(serializeState(resumed.states), serializeState(straight.states));
});

test('d-soba metrics: the evaluator\'s hypergradient norm equals an independent closed form of ∇Φ for the averaged quadratic', () => {
  const o = { agents: 3, dx: 2, dy: 3, problemClass: 'global' as const, heterogeneity: 1 };
  const json = randomQuadraticInstance(o, 2);
  const problem = randomQuadratic(o, 2);
  const { dx, dy, agents } = json;
  const zerosM = (r: number, c: number) => Array.from({ length: r }, () => new Array<number>(c).fill(0));
  const mean = (pick: (a: (typeof agents)[number]) => number[][] | undefined, r: number, c: number) => {
    const out = zerosM(r, c);
    for (const a of agents) (pick(a) ?? zerosM(r, c)).forEach((row, i) => row.forEach((v, j) => (out[i]![j]! += v / agents.length)));
    return out;
  };
  const meanV = (pick: (a: (typeof agents)[number]) => number[] | undefined, n: number) => mean((a) => [pick(a) ?? new Array<number>(n).fill(0)], 1, n)[0]!;
  const Pyy = mean((a) => a.f.Pyy, dy, dy), Pyx = mean((a) => a.f.Pyx, dy, dx), Pxx = mean((a) => a.f.Pxx, dx, dx);
  const Ayy = mean((a) => a.g.Ayy, dy, dy), Ayx = mean((a) => a.g.Ayx, dy, dx);
  const py = meanV((a) => a.f.py, dy), px = meanV((a) => a.f.px, dx), ay = meanV((a) => a.g.ay, dy);
  const mv = (M: number[][], v: number[]) => M.map((row) => row.reduce((s, m, j) => s + m * v[j]!, 0));
  const mtv = (M: number[][], v: number[]) => M[0]!.map((_, j) => M.reduce((s, row, i) => s + row[j]! * v[i]!, 0));
  for (const x of [[0, 0], [0.7, -1.3]]) {
    // y*(x) = −Āyy⁻¹(Āyx x + āy);  ∇Φ(x) = P̄xx x + P̄yxᵀ y* + p̄x − Āyxᵀ Āyy⁻¹ (P̄yy y* + P̄yx x + p̄y).
    const ystar = denseSolve(Ayy, mv(Ayx, x).map((v, i) => -(v + ay[i]!)));
    const w = denseSolve(Ayy, mv(Pyy, ystar).map((v, i) => v + mv(Pyx, x)[i]! + py[i]!));
    const grad = mv(Pxx, x).map((v, k) => v + mtv(Pyx, ystar)[k]! + px[k]! - mtv(Ayx, w)[k]!);
    const expected = grad.reduce((s, v) => s + v * v, 0);
    assert.ok(expected > 1e-3, 'a non-trivial hypergradient');
    const view = { x: Float64Array.from(x), y: new Float64Array(dy), z: new Float64Array(dy) };
    const m = new Evaluator(problem).evaluate(problem.agents.map(() => view));
    assert.ok(Math.abs(m.hypergradNormSq - expected) < 1e-10 * expected, `${m.hypergradNormSq} vs ${expected}`);
  }
});
