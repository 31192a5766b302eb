/**
 * Gossip-DSBO (stand-in reconstruction, docs/decisions.md §9).
 *
 * What the theory predicts and what is pinned here:
 * - deterministic oracles, identical agents: the trackers hold the (common)
 *   exact Hessian and Jacobian, consensus is exact and x̄ → x*;
 * - heterogeneous agents: gradient tracking makes every agent's Ĥ_i, Ĵ_i
 *   converge to the global H̄, J̄ (for quadratics they are constant, so this is
 *   exact), which removes the Hessian bias of local or untracked estimates —
 *   the average implicit term J̄ H̄⁻¹ mean_i ∇_y f_i is exact. The y and x
 *   gossip are untracked, so ‖∇Φ(x̄)‖² still stalls at an O(β) + O(η) floor,
 *   well below DSBO's (whose JHIP adds an O(γ) consensus bias);
 * - counts: T + 1 rounds, T·d_y + d_x + d_y² + d_x·d_y floats per message,
 *   T ∇_y G, 1 Hessian, 1 Jacobian, 1 ∇F per iteration (docs/algorithms.md: "d_x·d_y + d_y²").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dsbo } from '../../src/algorithms/dsbo.ts';
import { gossipDsbo } from '../../src/algorithms/gossip-dsbo.ts';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import { fullBatch, type BilevelProblem } from '../../src/problems/types.ts';
import { harness, randomQuadratic, topology, floorOf, runAndEvaluate } from '../helpers.ts';


/** Short inner loops keep the tests fast; without noise the fixed point does not depend on T. */
const SHORT = { innerSteps: 3 };

/** The global H̄ and J̄ of a quadratic problem (constant in x, y). */
function globalMatrices(problem: BilevelProblem): { h: Float64Array; j: Float64Array } {
  const { dx, dy, m } = problem;
  const h = new Float64Array(dy * dy);
  const j = new Float64Array(dx * dy);
  const th = new Float64Array(dy * dy);
  const tj = new Float64Array(dx * dy);
  for (const a of problem.agents) {
    a.hessian(new Float64Array(dx), new Float64Array(dy), fullBatch(), th);
    a.jacobian(new Float64Array(dx), new Float64Array(dy), fullBatch(), tj);
    th.forEach((v, i) => (h[i]! += v / m));
    tj.forEach((v, i) => (j[i]! += v / m));
  }
  return { h, j };
}

const maxAbsDiff = (a: Float64Array, b: Float64Array) => a.reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i]!)), 0);

for (const seed of [1, 2]) {
  test(`gossip-dsbo converges on identical agents over a ring (seed ${seed})`, async () => {
    const agents = 5 + seed;
    const problem = randomQuadratic({ agents, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 0 }, seed);
    // η = 0.2 instead of the default 0.01 only to keep the test short.
    const { metrics } = await runAndEvaluate(gossipDsbo, { ...SHORT, eta: 0.2 }, problem, topology({ type: 'ring', agents }), 400);
    assert.ok(metrics.hypergradNormSq < 1e-10, `‖∇Φ‖² = ${metrics.hypergradNormSq}`);
    assert.ok(metrics.consensusX < 1e-10, `consensus = ${metrics.consensusX}`);
    assert.ok(metrics.lowerError < 1e-10, `lower error = ${metrics.lowerError}`);
  });
}

test('gossip-dsbo: on heterogeneous agents every tracker reaches the global Hessian and Jacobian exactly', async () => {
  const problem = randomQuadratic({ agents: 8, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1 }, 3);
  const { h } = await runAndEvaluate(gossipDsbo, { ...SHORT, eta: 0.05, beta: 0.05 }, problem, topology({ type: 'ring', agents: 8 }), 300);
  const exact = globalMatrices(problem);
  // Measured ≈ 1e-14 after 300 iterations (the trackers contract at the ring's spectral rate).
  for (const s of h.states) {
    assert.ok(maxAbsDiff(s.hessianTracker, exact.h) < 1e-12, `Ĥ − H̄: ${maxAbsDiff(s.hessianTracker, exact.h)}`);
    assert.ok(maxAbsDiff(s.jacobianTracker, exact.j) < 1e-12, `Ĵ − J̄: ${maxAbsDiff(s.jacobianTracker, exact.j)}`);
    assert.equal(s.fallbacks, 0);
  }
});

test('gossip-dsbo on heterogeneous agents over a ring: an O(η, β) floor from the untracked gossip, far below DSBO’s', async () => {
  const problem = randomQuadratic({ agents: 8, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1 }, 3);
  const topo = topology({ type: 'ring', agents: 8 });
  // Measured: 3.0e-3 at η = β = 0.05 and 9.1e-4 at 0.025 (ratio 3.3; 1.1e-2, 2.7e-4 at
  // 0.1, 0.0125); DSBO at the same η, β and γ = 0.05: 6.4e-2, 21× higher.
  const big = await floorOf(gossipDsbo, { ...SHORT, eta: 0.05, beta: 0.05 }, problem, topo, 800);
  const small = await floorOf(gossipDsbo, { ...SHORT, eta: 0.025, beta: 0.025 }, problem, topo, 1600);
  const dsboFloor = await floorOf(dsbo, { innerSteps: 3, jhipSteps: 3, eta: 0.05, beta: 0.05, gamma: 0.05 }, problem, topo, 800);
  assert.ok(small > 1e-4, `a real floor, not convergence: ${small}`);
  assert.ok(big / small >= 2.5, `floor ${big} → ${small} (ratio ${(big / small).toFixed(2)})`);
  assert.ok(dsboFloor / big >= 5, `gossip-dsbo ${big} vs dsbo ${dsboFloor} (ratio ${(dsboFloor / big).toFixed(1)})`);
});

test('gossip-dsbo falls back to the local Hessian when the tracked one is not positive definite, and counts it', async () => {
  const problem = randomQuadratic({ agents: 4, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1 }, 6);
  const topo = topology({ type: 'ring', agents: 4 });
  const h = harness(gossipDsbo, SHORT, problem, topo);
  await h.step();
  // Break agent 0's tracker: Ĥ = 0 (and H^old = H_0, so the next correction adds nothing).
  const s0 = h.states[0];
  s0.hessianTracker.fill(0);
  const local = new Float64Array(16);
  problem.agents[0]!.hessian(s0.x, s0.y, fullBatch(), local);
  assert.deepEqual(Array.from(s0.hessianPrev), Array.from(local));
  await h.step();
  assert.deepEqual(h.states.map((s) => s.fallbacks), [1, 0, 0, 0]);
});

test('gossip-dsbo sends T + 1 rounds: T of d_y floats and one of d_x + d_y² + d_x·d_y; 1 Hessian and 1 Jacobian per iteration', async () => {
  const problem = randomQuadratic({ agents: 7, dx: 3, dy: 5, problemClass: 'global', heterogeneity: 0.5 }, 4);
  const T = 3;
  for (const [spec, bytesPerFloat] of [
    [{ type: 'ring', agents: 7 }, 4],
    [{ type: 'erdos-renyi', agents: 7, p: 0.5 }, 8],
    [{ type: 'star', agents: 7 }, 4],
  ] as const) {
    const topo = topology(spec);
    const h = harness(gossipDsbo, { innerSteps: T }, problem, topo, { bytesPerFloat, batch: 3 });
    const edges = topo.graph.edges.length;
    const floats = T * 5 + (3 + 5 * 5 + 3 * 5);
    for (let t = 1; t <= 3; t++) {
      await h.step();
      assert.equal(h.sim.counters.rounds, t * (T + 1));
      assert.equal(h.sim.counters.messages, t * (T + 1) * 2 * edges);
      assert.equal(h.sim.counters.floats, t * 2 * edges * floats);
      assert.equal(h.sim.counters.bytes, t * 2 * edges * floats * bytesPerFloat);
      for (const o of h.oracles) {
        assert.deepEqual(o.counts.calls, { gradF: t, gradG: T * t, hvp: 0, jvp: 0, valueF: 0, valueG: 0, hessian: t, jacobian: t });
        assert.equal(o.counts.samples.gradG, 3 * T * t);
        assert.equal(o.counts.samples.jacobian, 3 * t);
      }
    }
  }
});

test('gossip-dsbo with noisy oracles (σ = 0.1, batch 4) reaches ‖∇Φ(x̄)‖² < 2e-3 from 5.6', async () => {
  const problem = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 0, noise: 0.1 }, 1);
  // The constant-step noise floor (one noisy Hessian sample per tracker correction):
  // measured 5.6e-4 here, 8e-7 … 5.7e-4 on six instances with these settings, and
  // 2e-5 … 4e-4 at the default steps (T = 10, η = 0.01, 2000 iterations).
  const { h, metrics } = await runAndEvaluate(gossipDsbo, { ...SHORT, eta: 0.02 }, problem, topology({ type: 'ring', agents: 6 }), 1000, 4);
  assert.ok(metrics.hypergradNormSq < 2e-3, `‖∇Φ‖² = ${metrics.hypergradNormSq}`);
  assert.ok(metrics.consensusX < 1e-4, `consensus = ${metrics.consensusX}`);
  assert.deepEqual(h.states.map((s) => s.fallbacks), [0, 0, 0, 0, 0, 0], 'the noisy tracked Hessians stayed positive definite');
});

test('gossip-dsbo parameters: defaults, and bad values rejected with a message naming the parameter', () => {
  assert.deepEqual(gossipDsbo.params.parse({}), { eta: 0.01, beta: 0.1, innerSteps: 10 });
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ eta: -0.1 }, /eta must be > 0/],
    [{ beta: 0 }, /beta must be > 0/],
    [{ innerSteps: 0 }, /innerSteps must be ≥ 1/],
    [{ innerSteps: 2.5 }, /innerSteps must be an integer/],
  ];
  for (const [input, message] of cases) {
    const r = gossipDsbo.params.safeParse(input);
    assert.ok(!r.success, JSON.stringify(input));
    assert.match(r.error.issues.map((i) => i.message).join('; '), message);
  }
  assert.ok(!gossipDsbo.params.safeParse({ gamma: 0.1 }).success, 'unknown keys are rejected');
});

test('gossip-dsbo state round-trips through serialization: resuming gives the same iterates', async () => {
  const problem = randomQuadratic({ agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1, noise: 0.3 }, 8);
  const topo = topology({ type: 'ring', agents: 5 });
  const params = { eta: 0.05, innerSteps: 3 };
  const straight = harness(gossipDsbo, params, problem, topo, { batch: 2 });
  for (let t = 0; t < 12; t++) await straight.step();
  const resumed = harness(gossipDsbo, params, problem, topo, { batch: 2 });
  for (let t = 0; t < 6; t++) await resumed.step();
  resumed.states = resumed.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
  for (let t = 0; t < 6; t++) await resumed.step();
  assert.deepEqual(serializeState(resumed.states), serializeState(straight.states));
});
