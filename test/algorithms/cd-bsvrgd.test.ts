/**
 * CD-BSVRGD (SEED-000 Algorithm 1; docs/algorithms.md, docs/decisions.md §1).
 *
 * Theory: gradient tracking of the hypergradient estimator, of ∇_y g and of the
 * z-gradient, with z gossiped, makes every agent use global Hessian
 * information, so with deterministic oracles the iterates converge to the
 * stationary point of Φ even on heterogeneous agents and sparse graphs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchPair, SobaEstimates } from '../../src/algorithms/blocks.ts';
import { cdBsvrgd } from '../../src/algorithms/cd-bsvrgd.ts';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import { Rng } from '../../src/random/rng.ts';
import { harness, randomQuadratic, topology } from '../helpers.ts';

const STEPS = { eta: 0.5, alpha1: 3.6, alpha2: 3.6, alpha3: 3.6, beta1: 0.1, beta2: 0.2, beta3: 0.2 };

async function run(params: Record<string, unknown>, heterogeneity: number, spec: Parameters<typeof topology>[0], iterations: number, seed = 3, noise = 0, batch: number | 'full' = 'full') {
  const problem = randomQuadratic({ agents: spec.agents, dx: 4, dy: 5, problemClass: 'global', heterogeneity, noise }, seed);
  const h = harness(cdBsvrgd, params, problem, topology(spec), { batch });
  for (let t = 0; t < iterations; t++) await h.step();
  return { h, problem, metrics: new Evaluator(problem).evaluate(h.states.map((s) => cdBsvrgd.view(s))) };
}

test('cd-bsvrgd converges on identical agents (ring, deterministic)', async () => {
  const { metrics } = await run(STEPS, 0, { type: 'ring', agents: 6 }, 1500, 1);
  assert.ok(metrics.hypergradNormSq < 1e-8 && metrics.consensusX < 1e-8, JSON.stringify(metrics));
});

for (const spec of [
  { type: 'ring', agents: 8 },
  { type: 'torus', agents: 9 },
  { type: 'path', agents: 6 },
] as const) {
  test(`cd-bsvrgd converges on heterogeneous agents over a ${spec.type} (tracking + gossiped z remove the floor)`, async () => {
    const { metrics } = await run(STEPS, 1, spec, 3000);
    assert.ok(metrics.hypergradNormSq < 1e-8, `‖∇Φ‖² = ${metrics.hypergradNormSq}`);
    assert.ok(metrics.consensusX < 1e-8 && metrics.lowerError < 1e-8, JSON.stringify(metrics));
  });
}

test('cd-bsvrgd with noisy oracles (σ = 0.1, batch 4) reaches ‖∇Φ(x̄)‖² < 1e-2 from ≈ 10 at the start', async () => {
  const { metrics, problem } = await run({ ...STEPS, alpha1: 2, alpha2: 2, alpha3: 2 }, 1, { type: 'ring', agents: 8 }, 3000, 3, 0.1, 4);
  const g0 = new Float64Array(problem.dx);
  problem.exact!.hypergradient(new Float64Array(problem.dx), g0);
  assert.ok(g0.reduce((s, v) => s + v * v, 0) > 1);
  assert.ok(metrics.hypergradNormSq < 1e-2, `‖∇Φ‖² = ${metrics.hypergradNormSq}`);
});

test('cd-bsvrgd counts: one round per iteration, 2d_x + 4d_y floats per message (d_x + 2d_y at t = 0), 2 points × (F, G, HVP, JVP)', async () => {
  const problem = randomQuadratic({ agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1 }, 2);
  const topo = topology({ type: 'ring', agents: 5 });
  const h = harness(cdBsvrgd, STEPS, problem, topo, { batch: 7, bytesPerFloat: 4 });
  const directed = 2 * topo.graph.edges.length;
  await h.step();
  assert.equal(h.sim.counters.rounds, 1);
  assert.equal(h.sim.counters.floats, directed * (3 + 2 * 4));
  for (const o of h.oracles) assert.deepEqual(o.counts.calls, { gradF: 1, gradG: 1, hvp: 1, jvp: 1, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
  for (let t = 2; t <= 4; t++) {
    await h.step();
    assert.equal(h.sim.counters.rounds, t);
    assert.equal(h.sim.counters.messages, t * directed);
    assert.equal(h.sim.counters.floats, directed * (3 + 2 * 4) + (t - 1) * directed * (2 * 3 + 4 * 4));
    assert.equal(h.sim.counters.bytes, 4 * h.sim.counters.floats);
    const k = 1 + 2 * (t - 1);
    for (const o of h.oracles) {
      assert.deepEqual(o.counts.calls, { gradF: k, gradG: k, hvp: k, jvp: k, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
      assert.equal(o.counts.samples.hvp, 7 * k);
    }
  }
});

test('cd-bsvrgd with α_iη² = 1 (the paper\'s experiments) is gradient-tracked SGD on the same samples, and evaluates one point per iteration', async () => {
  const m = 5;
  const problem = randomQuadratic({ agents: m, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1, noise: 0.3 }, 6);
  const topo = topology({ type: 'ring', agents: m });
  const eta = 0.5;
  const params = { eta, alpha1: 4, alpha2: 4, alpha3: 4, beta1: 0.1, beta2: 0.2, beta3: 0.2 };
  const h = harness(cdBsvrgd, params, problem, topo, { batch: 3 });
  // Reference: GT-SGD in matrix form, X ← X + η(W X − β P − X), P ← W P + U_new − U_old, U = fresh estimates.
  const W = topo.weights.data;
  const dx = problem.dx;
  const dy = problem.dy;
  const vec = (n: number) => Array.from({ length: m }, () => new Float64Array(n));
  const X = vec(dx), Y = vec(dy), Z = vec(dy), U = vec(dx), V = vec(dy), Wz = vec(dy), P = vec(dx), Q = vec(dy), R = vec(dy);
  const rngs = h.contexts.map((c) => new Rng(c.seed, 'cd-bsvrgd'));
  const pairs = problem.agents.map((o) => new BatchPair(o, { upper: 3, lower: 3 }));
  const estimates = new SobaEstimates(dx, dy);
  const mix = (A: Float64Array[], i: number): Float64Array => {
    const out = new Float64Array(A[0]!.length);
    for (let j = 0; j < m; j++) for (let k = 0; k < out.length; k++) out[k]! += W[i * m + j]! * A[j]![k]!;
    return out;
  };
  for (let t = 0; t < 30; t++) {
    const newU = vec(dx), newV = vec(dy), newW = vec(dy);
    for (let i = 0; i < m; i++) {
      pairs[i]!.draw(rngs[i]!);
      const e = estimates.at(problem.agents[i]!, X[i]!, Y[i]!, Z[i]!, pairs[i]!);
      newU[i]!.set(e.hypergrad);
      newW[i]!.set(e.zGrad);
      newV[i]!.set(e.lowerGrad);
    }
    const mixedP = P.map((_, i) => mix(P, i)), mixedQ = Q.map((_, i) => mix(Q, i)), mixedR = R.map((_, i) => mix(R, i));
    const mixedX = X.map((_, i) => mix(X, i)), mixedY = Y.map((_, i) => mix(Y, i)), mixedZ = Z.map((_, i) => mix(Z, i));
    for (let i = 0; i < m; i++) {
      const track = (T: Float64Array[], mixed: Float64Array[], nu: Float64Array[], old: Float64Array[]) => {
        for (let k = 0; k < T[i]!.length; k++) T[i]![k] = t === 0 ? nu[i]![k]! : mixed[i]![k]! + nu[i]![k]! - old[i]![k]!;
      };
      track(P, mixedP, newU, U);
      track(Q, mixedQ, newV, V);
      track(R, mixedR, newW, Wz);
      const move = (S: Float64Array[], mixed: Float64Array[], beta: number, dir: Float64Array[]) => {
        for (let k = 0; k < S[i]!.length; k++) S[i]![k] = S[i]![k]! + eta * (mixed[i]![k]! - beta * dir[i]![k]! - S[i]![k]!);
      };
      move(X, mixedX, 0.1, P);
      move(Y, mixedY, 0.2, Q);
      move(Z, mixedZ, 0.2, R);
      U[i]!.set(newU[i]!);
      V[i]!.set(newV[i]!);
      Wz[i]!.set(newW[i]!);
    }
    await h.step();
    for (let i = 0; i < m; i++) {
      const x = h.states[i].x as Float64Array;
      for (let k = 0; k < dx; k++) assert.ok(Math.abs(x[k]! - X[i]![k]!) <= 1e-12 * (1 + Math.abs(x[k]!)), `t=${t} agent ${i} x[${k}] ${x[k]} vs ${X[i]![k]}`);
    }
  }
  for (const o of h.oracles) assert.equal(o.counts.calls.hvp, 30, 'no previous-point evaluations when the STORM coefficient is 0');
});

test('cd-bsvrgd projects z onto the ball of radius zRadius (and the projection is active)', async () => {
  const norm = (z: Float64Array) => Math.sqrt(z.reduce((a: number, v: number) => a + v * v, 0));
  const free = await run(STEPS, 1, { type: 'ring', agents: 5 }, 200);
  const R = 0.5 * Math.min(...free.h.states.map((s) => norm(s.z)));
  assert.ok(R > 1e-3, `unprojected z moves away from 0 (min ‖z‖ = ${2 * R})`);
  const { h } = await run({ ...STEPS, zRadius: R }, 1, { type: 'ring', agents: 5 }, 200);
  for (const s of h.states) {
    assert.ok(norm(s.z) <= R * (1 + 1e-12), `‖z‖ = ${norm(s.z)} > R = ${R}`);
    // Fails if z stayed at 0: the projected z sits on (or next to) the sphere of radius R.
    assert.ok(norm(s.z) >= 0.5 * R, `‖z‖ = ${norm(s.z)} far inside the ball of radius ${R}`);
  }
});

test('cd-bsvrgd rejects bad parameters with a message naming the parameter', () => {
  const bad = (p: Record<string, unknown>, re: RegExp) => {
    const r = cdBsvrgd.params.safeParse(p);
    assert.ok(!r.success);
    assert.match(`${r.error!.issues[0]!.path.join('.')}: ${r.error!.issues[0]!.message}`, re);
  };
  bad({ eta: -0.1 }, /^eta: eta must be in \(0, 1\]/);
  bad({ eta: 0.1, alpha1: 200 }, /^alpha1: .*must be ≤ 1/);
  bad({ beta2: 0 }, /^beta2: beta2 must be > 0/);
  bad({ zRadius: -1 }, /^zRadius/);
  bad({ batch1: 0 }, /^batch1/);
  bad({ gamma: 1 }, /gamma/);
});

test('cd-bsvrgd state round-trips through serialization', async () => {
  const problem = randomQuadratic({ agents: 4, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1, noise: 0.2 }, 8);
  const topo = topology({ type: 'ring', agents: 4 });
  const a = harness(cdBsvrgd, STEPS, problem, topo, { batch: 2 });
  const b = harness(cdBsvrgd, STEPS, problem, topo, { batch: 2 });
  for (let t = 0; t < 12; t++) await a.step();
  for (let t = 0; t < 5; t++) await b.step();
  b.states = b.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
  for (let t = 0; t < 7; t++) await b.step();
  assert.deepEqual(serializeState(b.states), serializeState(a.states));
});
