/**
 * L-PDBO (SEED-002 (6a)–(6d)) and the SPDB reconstruction (docs/decisions.md §9).
 *
 * Theory: L-PDBO gossips x with an untracked local hypergradient estimate, so
 * like decentralized gradient descent it converges exactly when the agents'
 * surrogates agree (identical agents) and otherwise stalls at a consensus
 * floor of order α. SPDB's dual variable enforces consensus (L x = 0) at a
 * fixed point where Σ_i ∇̂Φ_i = 0, so it converges on heterogeneous agents up
 * to the Neumann bias (1 − μ/L_g)^n of its depth-n estimator.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lPdbo } from '../../src/algorithms/l-pdbo.ts';
import { logDepth, spdb } from '../../src/algorithms/spdb.ts';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import type { AnyAlgorithm } from '../helpers.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import type { BilevelProblem } from '../../src/problems/types.ts';
import { harness, randomQuadratic, topology } from '../helpers.ts';

const LPDBO = { alpha: 0.05, beta: 0.2, gammaV: 0.2 };
const SPDB = { alpha: 0.05, beta: 0.2, rho: 1, dualStep: 0.05, depth: 200 };

async function run(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, iterations: number, spec: Parameters<typeof topology>[0] = { type: 'ring', agents: problem.m }) {
  const h = harness(algorithm, params, problem, topology(spec));
  for (let t = 0; t < iterations; t++) await h.step();
  return { h, metrics: new Evaluator(problem).evaluate(h.views()) };
}

const personalized = (heterogeneity: number, seed = 3, agents = 6) => randomQuadratic({ agents, dx: 4, dy: 5, problemClass: 'personalized', heterogeneity }, seed);

test('l-pdbo converges exactly on identical agents (deterministic, ring)', async () => {
  const { metrics } = await run(lPdbo, LPDBO, personalized(0), 2000);
  assert.ok(metrics.hypergradNormSq < 1e-8 && metrics.consensusX < 1e-8, JSON.stringify(metrics));
  assert.ok(metrics.lowerErrors!.every((e) => e < 1e-8) && metrics.interactMetric! < 1e-8);
});

test('l-pdbo on heterogeneous agents stalls at a floor that halving α shrinks (≥ 2.5× in ‖∇Φ‖²)', async () => {
  const problem = personalized(1);
  const big = (await run(lPdbo, LPDBO, problem, 4000)).metrics;
  const small = (await run(lPdbo, { ...LPDBO, alpha: LPDBO.alpha / 2 }, problem, 8000)).metrics;
  assert.ok(small.hypergradNormSq > 1e-6, `a floor: ${small.hypergradNormSq}`);
  assert.ok(big.hypergradNormSq / small.hypergradNormSq >= 2.5, `${big.hypergradNormSq} → ${small.hypergradNormSq}`);
  assert.ok(big.consensusX / small.consensusX >= 2.5, `consensus ${big.consensusX} → ${small.consensusX}`);
});

for (const spec of [
  { type: 'ring', agents: 6 },
  { type: 'erdos-renyi', agents: 6, p: 0.5, mixing: 'laplacian' },
] as const) {
  test(`spdb converges on heterogeneous agents over ${spec.type} (dual variable enforces consensus; depth-200 Neumann)`, async () => {
    const { metrics } = await run(spdb, SPDB, personalized(1), 5000, spec);
    assert.ok(metrics.hypergradNormSq < 1e-8, `‖∇Φ‖² ${metrics.hypergradNormSq}`);
    assert.ok(metrics.consensusX < 1e-8 && metrics.lowerErrors!.every((e) => e < 1e-8), JSON.stringify(metrics));
  });
}

test('spdb with the log depth rule n_k = ⌈½ ln √(k+1)⌉ uses that many HVPs per iteration', async () => {
  assert.deepEqual([0, 1, 53, 54, 2979, 2980].map(logDepth), [0, 1, 1, 2, 2, 3]);
  const problem = personalized(1, 4, 4);
  const h = harness(spdb, { Lg: 10 }, problem, topology({ type: 'ring', agents: 4 }), { batch: 2 });
  let expected = 0;
  for (let k = 0; k < 60; k++) {
    await h.step();
    expected += logDepth(k);
  }
  for (const o of h.oracles) assert.deepEqual(o.counts.calls, { gradF: 60, gradG: 60, hvp: expected, jvp: 60, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
  assert.equal(expected, 0 + 53 * 1 + 6 * 2);
});

test('l-pdbo and spdb send x only: one round of d_x floats; l-pdbo makes 2 ∇F, 1 ∇G, 1 HVP, 1 JVP per iteration (+ the s⁰ init)', async () => {
  const problem = personalized(1, 5, 5);
  const topo = topology({ type: 'ring', agents: 5 });
  const directed = 2 * topo.graph.edges.length;
  const h = harness(lPdbo, LPDBO, problem, topo, { batch: 3 });
  for (let t = 1; t <= 3; t++) {
    await h.step();
    assert.equal(h.sim.counters.rounds, t);
    assert.equal(h.sim.counters.floats, t * directed * 4);
    for (const o of h.oracles) assert.deepEqual(o.counts.calls, { gradF: 2 * t + 1, gradG: t, hvp: t, jvp: t + 1, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
  }
  const m = harness(lPdbo, { ...LPDBO, hessian: 'matrix' }, problem, topo, { batch: 3 });
  await m.step();
  for (const o of m.oracles) assert.equal(o.counts.calls.hessian, 1);
  // The matrix form gives the same iterates as the HVP form.
  const v = harness(lPdbo, LPDBO, problem, topo, { batch: 3 });
  await v.step();
  for (let i = 0; i < 5; i++) for (let k = 0; k < 4; k++) assert.ok(Math.abs((m.states[i].x as Float64Array)[k]! - (v.states[i].x as Float64Array)[k]!) < 1e-12);
  const s = harness(spdb, { depth: 2, Lg: 10 }, problem, topo, { batch: 3 });
  await s.step();
  assert.equal(s.sim.counters.floats, directed * 4);
});

test('l-pdbo and spdb: bad parameters are rejected, state round-trips', async () => {
  assert.match(String(lPdbo.params.safeParse({ gammaV: -1 }).error?.issues[0]?.message), /gammaV must be > 0/);
  assert.match(String(spdb.params.safeParse({ depth: 'sqrt' }).error?.issues[0]?.message), /depth must be 'log' or an integer/);
  const problem = randomQuadratic({ agents: 4, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 1, noise: 0.2 }, 8);
  const topo = topology({ type: 'ring', agents: 4 });
  for (const algorithm of [lPdbo, spdb] as AnyAlgorithm[]) {
    const a = harness(algorithm, {}, problem, topo, { batch: 2 });
    const b = harness(algorithm, {}, problem, topo, { batch: 2 });
    for (let t = 0; t < 9; t++) await a.step();
    for (let t = 0; t < 4; t++) await b.step();
    b.states = b.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
    for (let t = 0; t < 5; t++) await b.step();
    assert.deepEqual(serializeState(b.states), serializeState(a.states));
  }
});
