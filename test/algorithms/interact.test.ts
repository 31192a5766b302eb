/**
 * INTERACT, SVR-INTERACT, GT-DSGD and D-SGD (SEED-001; docs/algorithms.md).
 *
 * Theory checked here, on random class-P quadratics (each agent its own
 * lower level y_i*(x) = argmin g_i(x, ·)) with exact (noise-free) oracles:
 * - INTERACT tracks the network average of the exact local surrogates (5) and
 *   runs exact gradient descent on each y_i, so with small enough steps it
 *   converges linearly to the unique x* of the strongly convex Φ: ‖∇Φ(x̄)‖²,
 *   the consensus error and every ‖y_i − y_i*(x̄)‖² go to 0, and so does the
 *   INTERACT metric 𝔐 (Theorem 1 gives O(1/T) for nonconvex Φ).
 * - SVR-INTERACT with deterministic oracles and 'exact' checkpoints: the
 *   SPIDER recursion telescopes to p_t = ∇̄f(x_c) + N(x_t) − N(x_c) (c = last
 *   checkpoint, N = the Neumann estimator with the sample fixed), so the
 *   truncation error of N at x_t and x_c cancels as the iterates settle and
 *   the fixed point is exact for any K. With 'estimatorAverage' checkpoints
 *   p_t = N(x_t): the fixed point zeroes the average K-term truncated
 *   surrogate instead, a bias of order (1 − μ/L_g)^K.
 * - GT-DSGD is INTERACT with the Neumann estimator in place of (5): with exact
 *   oracles its only error is that truncation bias, negligible at K = 400
 *   here (κ = L_g/μ ≈ 25; K = 200 leaves ‖∇Φ‖² ≈ 8e-9).
 * - D-SGD has no tracking: on identical agents the local surrogates coincide
 *   and it converges; on heterogeneous agents its fixed point
 *   x_i = Σ_j M_ij x_j − α ∇̄f_i(x_i, y_i*(x_i)) is off consensus and off x*
 *   by O(α) (a floor in the squared metrics of O(α²)), while the y-recursion's
 *   fixed point y_i*(x_i) does not depend on β.
 *
 * Step sizes: β = 1/L with L = max_i λ_max(∇²_yy g_i) (Theorem 1 needs
 * β ≤ 1/(μ + L); the paper's 0.5 diverges on these instances, whose L is up
 * to 11), and α = 0.05.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeDataset } from '../../src/data/dataset.ts';
import { dSgd, gtDsgd, interact, svrInteract, type InteractState } from '../../src/algorithms/interact.ts';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import { symmetricEigen, zeros } from '../../src/linalg/matrix.ts';
import { Evaluator, type MetricValues } from '../../src/metrics/evaluate.ts';
import { ORACLE_KINDS, type OracleKind } from '../../src/problems/counting.ts';
import { binaryLogregHpoProblem } from '../../src/problems/binary-logreg-hpo.ts';
import { fullBatch, type BilevelProblem } from '../../src/problems/types.ts';
import { Rng } from '../../src/random/rng.ts';
import { harness, randomQuadratic, topology, type AnyAlgorithm, type Harness } from '../helpers.ts';

const RING = { name: 'ring (6 agents)', agents: 6, topo: () => topology({ type: 'ring', agents: 6, mixing: 'laplacian' }) };
const ER = { name: 'Erdős–Rényi p = 0.5 (8 agents)', agents: 8, topo: () => topology({ type: 'erdos-renyi', agents: 8, p: 0.5, mixing: 'laplacian' }, 1) };

function quadratic(agents: number, heterogeneity: number, noise = 0): BilevelProblem {
  return randomQuadratic({ agents, dx: 4, dy: 5, problemClass: 'personalized', heterogeneity, noise }, 1);
}

/** L = max_i λ_max(∇²_yy g_i) (constant for quadratics). */
function lowerLipschitz(problem: BilevelProblem): number {
  const H = zeros(problem.dy, problem.dy);
  let L = 0;
  for (const o of problem.agents) {
    o.hessian(new Float64Array(problem.dx), new Float64Array(problem.dy), fullBatch(), H.data);
    L = Math.max(L, symmetricEigen(H).values[problem.dy - 1]!);
  }
  return L;
}

const evaluate = (problem: BilevelProblem, h: Harness): MetricValues => new Evaluator(problem).evaluate(h.views());

async function run(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, topo: ReturnType<typeof RING.topo>, iterations: number) {
  const h = harness(algorithm, params, problem, topo);
  for (let t = 0; t < iterations; t++) await h.step();
  return { h, metrics: evaluate(problem, h) };
}

function assertConverged(m: MetricValues, tol = 1e-8): void {
  const worstLower = Math.max(...m.lowerErrors!);
  assert.ok(m.hypergradNormSq < tol && m.consensusX < tol && worstLower < tol, JSON.stringify({ grad: m.hypergradNormSq, consensus: m.consensusX, worstLower }));
}

const STEPS = (problem: BilevelProblem) => ({ alpha: 0.05, beta: 1 / lowerLipschitz(problem) });
/** Fixed-depth recursive Neumann series: deterministic, K terms, bias ∝ (1 − μ/L_g)^K. */
const RECURSIVE = (K: number) => ({ estimator: 'neumann-recursive', depth: 'fixed', K });

// ------------------------------------------------------------------ convergence

for (const net of [RING, ER]) {
  test(`interact converges to x* on heterogeneous agents, ${net.name}, in 500 iterations; 𝔐 decreases below 1e-8`, async () => {
    const problem = quadratic(net.agents, 1);
    const h = harness(interact, STEPS(problem), problem, net.topo());
    const metric: number[] = [evaluate(problem, h).interactMetric!];
    for (let t = 1; t <= 500; t++) {
      await h.step();
      if (t % 50 === 0) metric.push(evaluate(problem, h).interactMetric!);
    }
    assert.ok(metric[0]! > 1, `initial 𝔐 ${metric[0]}`);
    for (let k = 1; k < metric.length; k++) assert.ok(metric[k]! < metric[k - 1]!, `𝔐 not decreasing: ${metric.map((v) => v.toExponential(2))}`);
    assert.ok(metric.at(-1)! < 1e-8, `final 𝔐 ${metric.at(-1)}`);
    assertConverged(evaluate(problem, h));
  });

  test(`svr-interact (q = 8, exact checkpoints) converges on heterogeneous agents, ${net.name}, in 600 iterations, with K = 200 recursive and with the default K = 10 conventional estimator`, async () => {
    const problem = quadratic(net.agents, 1);
    for (const estimator of [RECURSIVE(200), {}]) {
      const { metrics } = await run(svrInteract, { ...STEPS(problem), q: 8, ...estimator }, problem, net.topo(), 600);
      assertConverged(metrics);
    }
  });

  test(`gt-dsgd with exact oracles and K = 400 recursive Neumann terms converges on heterogeneous agents, ${net.name}, in 600 iterations`, async () => {
    const problem = quadratic(net.agents, 1);
    const { metrics } = await run(gtDsgd, { ...STEPS(problem), ...RECURSIVE(400) }, problem, net.topo(), 600);
    assertConverged(metrics);
  });
}

test('svr-interact with q = 1 and exact checkpoints is INTERACT, bit for bit', async () => {
  const problem = quadratic(6, 1);
  const a = harness(interact, STEPS(problem), problem, RING.topo());
  const b = harness(svrInteract, { ...STEPS(problem), q: 1 }, problem, RING.topo());
  for (let t = 0; t < 30; t++) {
    await a.step();
    await b.step();
  }
  for (let i = 0; i < problem.m; i++)
    for (const k of ['x', 'y', 'u', 'p', 'v', 'w', 'cgIterations'] as const) assert.deepEqual(b.states[i][k], a.states[i][k], `agent ${i}, ${k}`);
  // No Neumann estimator is ever used, so no L_g estimate was paid for.
  assert.deepEqual(b.oracles.map((o) => o.counts.calls.hvp), a.oracles.map((o) => o.counts.calls.hvp));
});

test("svr-interact 'estimatorAverage' checkpoints converge to the zero of the averaged K-term truncated surrogate, not to x*; 'exact' ones to x*", async () => {
  const problem = quadratic(6, 1);
  const K = 10;
  const params = { ...STEPS(problem), q: 8, ...RECURSIVE(K) };
  const avg = await run(svrInteract, { ...params, checkpoint: 'estimatorAverage' }, problem, RING.topo(), 600);
  const exact = await run(svrInteract, params, problem, RING.topo(), 600);
  assertConverged(exact.metrics);
  // Consensus and the lower levels still converge; the hypergradient stalls at the truncation bias.
  assert.ok(avg.metrics.consensusX < 1e-8 && Math.max(...avg.metrics.lowerErrors!) < 1e-8, JSON.stringify(avg.metrics));
  assert.ok(avg.metrics.hypergradNormSq > 1e-1, `bias expected: ${avg.metrics.hypergradNormSq}`);
  // x̄ zeroes (1/m) Σ_i [∇_x f_i − J_i (1/L_i) Σ_{j<K} (I − H_i/L_i)^j ∇_y f_i] at (x̄, y_i*(x̄)).
  const { dx, dy, m } = problem;
  const xBar = new Float64Array(dx);
  for (const s of avg.h.states) for (let k = 0; k < dx; k++) xBar[k]! += s.x[k]! / m;
  const surrogate = new Float64Array(dx);
  const full = fullBatch();
  problem.agents.forEach((o, i) => {
    const lg = (avg.h.states[i] as InteractState).lg;
    const y = new Float64Array(dy);
    problem.exact!.lowerSolution(xBar, i, y);
    const fx = new Float64Array(dx);
    const b = new Float64Array(dy);
    o.gradF(xBar, y, full, fx, b);
    const h = Float64Array.from(b);
    const hv = new Float64Array(dy);
    for (let j = 1; j < K; j++) {
      o.hvp(xBar, y, h, full, hv);
      for (let k = 0; k < dy; k++) h[k] = b[k]! + h[k]! - hv[k]! / lg;
    }
    const jv = new Float64Array(dx);
    o.jvp(xBar, y, h, full, jv);
    for (let k = 0; k < dx; k++) surrogate[k]! += (fx[k]! - jv[k]! / lg) / m;
  });
  assert.ok(Math.hypot(...surrogate) < 1e-6, `averaged truncated surrogate at x̄: ${Array.from(surrogate)}`);
});

test('d-sgd converges on identical agents (heterogeneity 0)', async () => {
  const problem = quadratic(6, 0);
  const { metrics } = await run(dSgd, { ...STEPS(problem), ...RECURSIVE(400) }, problem, RING.topo(), 600);
  assertConverged(metrics);
});

test('d-sgd on heterogeneous agents stalls at a floor that shrinks when α and β are halved (set by α alone)', async () => {
  const problem = quadratic(6, 1);
  const base = { ...STEPS(problem), ...RECURSIVE(150) };
  /** Metrics after n iterations and after n − 100 (the floor is a fixed point, not slow progress). */
  const floor = async (params: Record<string, unknown>, n: number) => {
    const h = harness(dSgd, params, problem, RING.topo());
    for (let t = 0; t < n - 100; t++) await h.step();
    const before = evaluate(problem, h);
    for (let t = 0; t < 100; t++) await h.step();
    const after = evaluate(problem, h);
    assert.ok(Math.abs(after.hypergradNormSq - before.hypergradNormSq) < 1e-9 * after.hypergradNormSq, `not yet at the floor: ${before.hypergradNormSq} → ${after.hypergradNormSq}`);
    return after;
  };
  const a = await floor(base, 1000);
  const halved = await floor({ ...base, alpha: base.alpha / 2, beta: base.beta / 2 }, 2000);
  const betaOnly = await floor({ ...base, beta: base.beta / 2 }, 1000);
  // Measured: ‖∇Φ‖² 2.60 → 0.99, consensus 0.72 → 0.29 (→ 0.32, 0.097 at α/4: the O(α²) regime).
  assert.ok(a.hypergradNormSq > 1e-1 && a.consensusX > 1e-2, JSON.stringify(a));
  assert.ok(halved.hypergradNormSq < a.hypergradNormSq / 2 && halved.consensusX < a.consensusX / 2, `${JSON.stringify(a)} vs ${JSON.stringify(halved)}`);
  // β moves only the lower-level speed: the fixed point y_i = y_i*(x_i) does not depend on it.
  assert.ok(Math.abs(betaOnly.hypergradNormSq - a.hypergradNormSq) < 1e-8 * a.hypergradNormSq, `${betaOnly.hypergradNormSq} vs ${a.hypergradNormSq}`);
});

// ------------------------------------------------------------------ accounting

/** A small class-P binary logistic HPO problem with finite local sample sets (train 20, validation 15 per agent). */
function smallLogreg(agents: number): BilevelProblem {
  const rng = new Rng(5, 'interact-logreg');
  const make = (n: number) => {
    const features = Float64Array.from({ length: n * 3 }, () => rng.normal());
    const labels = Int32Array.from({ length: n }, (_, i) => (features[i * 3]! - features[i * 3 + 2]! + 0.5 * rng.normal() > 0 ? 1 : 0));
    return makeDataset(n, 3, 2, features, labels);
  };
  const train = Array.from({ length: agents }, () => make(20));
  const val = Array.from({ length: agents }, () => make(15));
  return binaryLogregHpoProblem(train, val, null, 'mean');
}

type Counts = Record<OracleKind, number>;
const snapshot = (h: Harness, i: number) => ({ calls: { ...h.oracles[i]!.counts.calls }, samples: { ...h.oracles[i]!.counts.samples } });
function delta(h: Harness, i: number, before: ReturnType<typeof snapshot>) {
  const d = (now: Counts, was: Counts) => Object.fromEntries(ORACLE_KINDS.map((k) => [k, now[k] - was[k]])) as Counts;
  return { calls: d(h.oracles[i]!.counts.calls, before.calls), samples: d(h.oracles[i]!.counts.samples, before.samples) };
}
const counts = (c: Partial<Counts>): Counts => ({ gradF: 0, gradG: 0, hvp: 0, jvp: 0, valueF: 0, valueG: 0, hessian: 0, jacobian: 0, ...c });

/** Steps once and checks the communication of that iteration: 1 round, 2|E| messages of `floats` floats. */
async function stepAndCheckComm(h: Harness, directed: number, floats: number): Promise<void> {
  const before = { ...h.sim.counters };
  await h.step();
  assert.equal(h.sim.counters.rounds - before.rounds, 1);
  assert.equal(h.sim.counters.messages - before.messages, directed);
  assert.equal(h.sim.counters.floats - before.floats, directed * floats);
}

test('interact counts: 1 round of 2d_x floats; full local batches whatever the problem batch; HVPs = CG iterations + 1 per solve', async () => {
  const problem = smallLogreg(4);
  const topo = topology({ type: 'ring', agents: 4, mixing: 'laplacian' });
  const directed = 2 * topo.graph.edges.length;
  const h = harness(interact, {}, problem, topo, { batch: 4 });
  const { dx } = problem;
  const [nVal, nTrain] = [15, 20];
  for (let t = 0; t < 4; t++) {
    const before = h.oracles.map((_, i) => snapshot(h, i));
    await stepAndCheckComm(h, directed, 2 * dx);
    // t = 0 also evaluates the initial point (u₀ = p₀, v₀): two solves.
    const points = t === 0 ? 2 : 1;
    for (let i = 0; i < problem.m; i++) {
      const cg = h.states[i].cgIterations as number;
      assert.ok(cg >= 1 && cg <= 10 * problem.dy + 100);
      const hvp = cg + points;
      const d = delta(h, i, before[i]!);
      assert.deepEqual(d.calls, counts({ gradF: points, gradG: points, jvp: points, hvp }));
      assert.deepEqual(d.samples, counts({ gradF: points * nVal, gradG: points * nTrain, jvp: points * nTrain, hvp: hvp * nTrain }));
    }
  }
});

test('interact on a population (quadratic) oracle counts 1 sample per full call', async () => {
  const problem = quadratic(6, 1);
  const h = harness(interact, STEPS(problem), problem, RING.topo());
  await h.step();
  await h.step();
  for (let i = 0; i < problem.m; i++) {
    const { calls, samples } = h.oracles[i]!.counts;
    assert.deepEqual(samples, calls);
    assert.equal(calls.gradF, 3);
    // A warm-started CG on a 5 × 5 system needs at most about d_y iterations.
    assert.ok(calls.hvp >= 3 && calls.hvp <= 3 + 3 * (problem.dy + 1), `${calls.hvp}`);
  }
});

for (const checkpoint of ['exact', 'estimatorAverage'] as const) {
  test(`svr-interact counts (${checkpoint} checkpoints): full local batches at t ≡ 0 mod q, 2 points × |S| between, 1 round of 2d_x floats`, async () => {
    const problem = smallLogreg(4);
    const topo = topology({ type: 'ring', agents: 4, mixing: 'laplacian' });
    const directed = 2 * topo.graph.edges.length;
    const K = 3;
    const S = 4;
    const h = harness(svrInteract, { q: 3, batch: S, checkpoint, ...RECURSIVE(K), Lg: 5 }, problem, topo, { batch: 7 });
    const [nVal, nTrain] = [15, 20];
    /** One full-batch checkpoint evaluation, given the CG iterations when exact. */
    const full = (cg: number) =>
      checkpoint === 'exact'
        ? { calls: counts({ gradF: 1, gradG: 1, jvp: 1, hvp: cg + 1 }), samples: counts({ gradF: nVal, gradG: nTrain, jvp: nTrain, hvp: (cg + 1) * nTrain }) }
        : { calls: counts({ gradF: 1, gradG: 1, jvp: 1, hvp: K - 1 }), samples: counts({ gradF: nVal, gradG: nTrain, jvp: nTrain, hvp: (K - 1) * nTrain }) };
    // SPIDER difference: 2 points × (∇F, ∇_y G, JVP, K − 1 HVPs), each on |S| samples.
    const spider = { calls: counts({ gradF: 2, gradG: 2, jvp: 2, hvp: 2 * (K - 1) }), samples: counts({ gradF: 2 * S, gradG: 2 * S, jvp: 2 * S, hvp: 2 * (K - 1) * S }) };
    const add = (a: { calls: Counts; samples: Counts }, b: { calls: Counts; samples: Counts }) => ({
      calls: Object.fromEntries(ORACLE_KINDS.map((k) => [k, a.calls[k] + b.calls[k]])) as Counts,
      samples: Object.fromEntries(ORACLE_KINDS.map((k) => [k, a.samples[k] + b.samples[k]])) as Counts,
    });
    for (let t = 1; t <= 7; t++) {
      const before = h.oracles.map((_, i) => snapshot(h, i));
      await stepAndCheckComm(h, directed, 2 * problem.dx);
      for (let i = 0; i < problem.m; i++) {
        const cg = h.states[i].cgIterations as number;
        // Iteration t: checkpoint when t mod 3 = 0; the first step also evaluates t = 0 (a checkpoint).
        let expected = t % 3 === 0 ? full(cg) : spider;
        if (t === 1) expected = add(full(cg), spider);
        if (checkpoint === 'estimatorAverage') assert.equal(cg, 0);
        assert.deepEqual(delta(h, i, before[i]!), expected, `t = ${t}, agent ${i}`);
      }
    }
  });
}

test('svr-interact, gt-dsgd and d-sgd estimate L_g with 30 counted full-batch HVPs in their first step when it is not given', async () => {
  const problem = smallLogreg(3);
  const topo = topology({ type: 'ring', agents: 3 });
  for (const [algorithm, perPoint, points] of [
    [svrInteract, 0, 0],
    [gtDsgd, 2, 2],
    [dSgd, 2, 1],
  ] as const) {
    const params = algorithm === svrInteract ? { q: 2, checkpoint: 'estimatorAverage', ...RECURSIVE(3) } : RECURSIVE(3);
    const h = harness(algorithm, params, problem, topo, { batch: 4 });
    await h.step();
    for (const o of h.oracles) {
      // svr-interact: the checkpoint at t = 0 (2 full HVPs) and a SPIDER pair (2 × 2 minibatch HVPs).
      const expectedHvp = algorithm === svrInteract ? 30 + 2 + 4 : 30 + perPoint * points;
      assert.equal(o.counts.calls.hvp, expectedHvp, algorithm.name);
      assert.ok(o.counts.samples.hvp >= 30 * 20, algorithm.name);
    }
    for (const s of h.states) assert.ok((s as InteractState).lg > 0);
  }
});

test('gt-dsgd and d-sgd counts: 1 round of 2d_x (gt-dsgd) or d_x (d-sgd) floats, 1 × (∇F, ∇_y G, JVP, K − 1 HVPs) on the problem batch (gt-dsgd: 2 points in its first step)', async () => {
  const problem = smallLogreg(4);
  const topo = topology({ type: 'erdos-renyi', agents: 4, p: 0.5, mixing: 'laplacian' }, 2);
  const directed = 2 * topo.graph.edges.length;
  const K = 4;
  const B = 5;
  for (const [algorithm, floats] of [
    [gtDsgd, 2 * problem.dx],
    [dSgd, problem.dx],
  ] as const) {
    const h = harness(algorithm, { ...RECURSIVE(K), Lg: 5 }, problem, topo, { batch: B });
    for (let t = 0; t < 3; t++) {
      const before = h.oracles.map((_, i) => snapshot(h, i));
      await stepAndCheckComm(h, directed, floats);
      const n = algorithm === gtDsgd && t === 0 ? 2 : 1;
      for (let i = 0; i < problem.m; i++)
        assert.deepEqual(delta(h, i, before[i]!), {
          calls: counts({ gradF: n, gradG: n, jvp: n, hvp: n * (K - 1) }),
          samples: counts({ gradF: n * B, gradG: n * B, jvp: n * B, hvp: n * (K - 1) * B }),
        });
    }
  }
});

// ---------------------------------------------------------- determinism, params, state

const ALL: ReadonlyArray<readonly [AnyAlgorithm, Record<string, unknown>]> = [
  [interact, { alpha: 0.05, beta: 0.1 }],
  [svrInteract, { alpha: 0.05, beta: 0.1, q: 3, batch: 2 }],
  [gtDsgd, { alpha: 0.05, beta: 0.1 }],
  [dSgd, { alpha: 0.05, beta: 0.1 }],
];

test('same seed ⇒ identical states; another seed ⇒ different states (stochastic methods, noisy oracles)', async () => {
  const problem = randomQuadratic({ agents: 4, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 1, noise: 0.2 }, 8);
  const topo = topology({ type: 'ring', agents: 4, mixing: 'laplacian' });
  for (const [algorithm, params] of ALL) {
    const runSeed = async (seed: number) => {
      const h = harness(algorithm, params, problem, topo, { batch: 2, seed });
      for (let t = 0; t < 7; t++) await h.step();
      return h;
    };
    const a = await runSeed(1);
    assert.deepEqual(serializeState((await runSeed(1)).states), serializeState(a.states), algorithm.name);
    const b = await runSeed(2);
    // INTERACT is deterministic (full batches): the seed changes only its unused RNG.
    if (algorithm === interact) assert.deepEqual(serializeState(b.views()), serializeState(a.views()));
    else assert.notDeepEqual(serializeState(b.views()), serializeState(a.views()), algorithm.name);
  }
});

test('state round trip through serializeState/deserializeState resumes identically', async () => {
  const problem = randomQuadratic({ agents: 4, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 1, noise: 0.2 }, 9);
  const topo = topology({ type: 'ring', agents: 4, mixing: 'laplacian' });
  for (const [algorithm, params] of ALL) {
    const a = harness(algorithm, params, problem, topo, { batch: 2 });
    const b = harness(algorithm, params, problem, topo, { batch: 2 });
    for (let t = 0; t < 9; t++) await a.step();
    for (let t = 0; t < 4; t++) await b.step();
    b.states = b.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
    for (let t = 0; t < 5; t++) await b.step();
    assert.deepEqual(serializeState(b.states), serializeState(a.states), algorithm.name);
  }
});

test('bad parameters are rejected with messages naming the parameter; defaults follow the paper', () => {
  const issue = (algorithm: AnyAlgorithm, params: Record<string, unknown>) => {
    const r = algorithm.params.safeParse(params);
    assert.ok(!r.success, `${algorithm.name} accepted ${JSON.stringify(params)}`);
    return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };
  assert.match(issue(interact, { alpha: -1 }), /alpha must be > 0/);
  assert.match(issue(interact, { beta: 'x' }), /beta must be a number/);
  assert.match(issue(interact, { cgTol: 2 }), /cgTol must be ≤ 1/);
  assert.match(issue(interact, { q: 3 }), /Unrecognized key: "q"/);
  assert.match(issue(svrInteract, { q: 0 }), /q must be ≥ 1/);
  assert.match(issue(svrInteract, { q: 2.5 }), /q must be an integer/);
  assert.match(issue(svrInteract, { checkpoint: 'average' }), /checkpoint must be 'exact' or 'estimatorAverage'/);
  assert.match(issue(svrInteract, { batch: 0 }), /batch must be a positive integer or 'full'/);
  assert.match(issue(svrInteract, { K: 0 }), /K must be ≥ 1/);
  assert.match(issue(gtDsgd, { Lg: -2 }), /Lg must be > 0/);
  assert.match(issue(dSgd, { alpha: 0 }), /alpha must be > 0/);
  assert.match(issue(dSgd, { checkpoint: 'exact' }), /Unrecognized key: "checkpoint"/);
  assert.deepEqual(interact.params.parse({}), { alpha: 0.5, beta: 0.5, cgTol: 1e-10 });
  assert.deepEqual(svrInteract.params.parse({}), { alpha: 0.5, beta: 0.5, q: 32, checkpoint: 'exact', cgTol: 1e-10, estimator: 'neumann', depth: 'fixed', K: 10 });
  for (const a of [interact, svrInteract, gtDsgd, dSgd]) assert.equal(a.problemClass, 'personalized');
});
