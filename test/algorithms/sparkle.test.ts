/**
 * SPARKLE (Zhu, Kong, Lu, Huang, Yuan, NeurIPS 2024; reconstruction per
 * docs/decisions.md §9): D-SOBA directions with a per-level heterogeneity
 * correction (Exact Diffusion, EXTRA or gradient tracking).
 *
 * What the theory predicts and what is pinned here:
 * - deterministic oracles: each correction (ED, EXTRA, GT) has the exact
 *   solution as a fixed point whatever the heterogeneity, so, unlike D-SOBA,
 *   SPARKLE has no heterogeneity floor: ‖∇Φ(x̄)‖² and the consensus error
 *   reach 1e-8 on heterogeneous agents for every mode combination (tested:
 *   all-ED, all-EXTRA, all-GT, (ED, GT, EXTRA), (GT, ED, ED)), while D-SOBA
 *   with the same steps stalls far above;
 * - one agent, W = [1]: every correction reduces to plain descent, so every
 *   mode combination is D-SOBA (centralized SOBA with a moving average);
 * - complete graph, W = 11ᵀ/m: the GT trackers average exactly, so all-GT
 *   with hTiming 'previous' is D-SOBA iterate for iterate;
 * - stochastic oracles (noise σ = 0.1, batch 4): a noise floor of order
 *   step·σ²/B; measured time-averaged ‖∇Φ(x̄)‖² ≈ 2e-5–1.5e-4 at
 *   α = 0.05, β = γ = 0.1 (tolerance 1e-3), roughly halved with the steps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dSoba } from '../../src/algorithms/d-soba.ts';
import { sparkle, sparkleFloats } from '../../src/algorithms/sparkle.ts';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import type { AnyAlgorithm } from '../helpers.ts';
import { topologyFromMatrix } from '../../src/graph/index.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import type { BilevelProblem } from '../../src/problems/types.ts';
import { harness, randomQuadratic, topology } from '../helpers.ts';

const STEPS = { alpha: 0.05, beta: 0.1, gamma: 0.1, theta: 0.5 };

type Topo = Parameters<typeof harness>[3];
type Modes = { xMode: string; yMode: string; zMode: string };

const MODES: Modes[] = [
  { xMode: 'ed', yMode: 'ed', zMode: 'ed' },
  { xMode: 'extra', yMode: 'extra', zMode: 'extra' },
  { xMode: 'gt', yMode: 'gt', zMode: 'gt' },
  { xMode: 'ed', yMode: 'gt', zMode: 'extra' },
  { xMode: 'gt', yMode: 'ed', zMode: 'ed' },
];
const label = (m: Modes) => `${m.xMode}/${m.yMode}/${m.zMode}`;

async function run(algorithm: AnyAlgorithm, params: Record<string, unknown>, problem: BilevelProblem, topo: Topo, iterations: number) {
  const h = harness(algorithm, params, problem, topo);
  for (let t = 0; t < iterations; t++) await h.step();
  return { h, metrics: new Evaluator(problem).evaluate(h.views()) };
}

test('sparkle (default modes, ED) converges on identical agents over a ring', async () => {
  for (const seed of [1, 2]) {
    const problem = randomQuadratic({ agents: 6, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 0 }, seed);
    const { metrics } = await run(sparkle, STEPS, problem, topology({ type: 'ring', agents: 6 }), 800);
    assert.ok(metrics.hypergradNormSq < 1e-8, `seed ${seed}: ‖∇Φ‖² = ${metrics.hypergradNormSq}`);
    assert.ok(metrics.consensusX < 1e-8, `seed ${seed}: consensus = ${metrics.consensusX}`);
    assert.ok(metrics.lowerError < 1e-8, `seed ${seed}: lower error = ${metrics.lowerError}`);
  }
});

for (const [type, agents] of [
  ['ring', 8],
  ['torus', 9],
] as const) {
  for (const modes of MODES) {
    test(`sparkle ${label(modes)} removes the heterogeneity floor over a ${type} of ${agents}`, async () => {
      for (const seed of [1, 2]) {
        const problem = randomQuadratic({ agents, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1 }, seed);
        const { metrics } = await run(sparkle, { ...STEPS, ...modes }, problem, topology({ type, agents }), 600);
        assert.ok(metrics.hypergradNormSq < 1e-8, `seed ${seed}: ‖∇Φ‖² = ${metrics.hypergradNormSq}`);
        assert.ok(metrics.consensusX < 1e-8, `seed ${seed}: consensus x = ${metrics.consensusX}`);
        assert.ok(metrics.consensusY! < 1e-8, `seed ${seed}: consensus y = ${metrics.consensusY}`);
        assert.ok(metrics.lowerError < 1e-8, `seed ${seed}: lower error = ${metrics.lowerError}`);
      }
    });
  }
}

test('on the same heterogeneous instance D-SOBA with the same steps stalls at a floor that SPARKLE does not have', async () => {
  const problem = randomQuadratic({ agents: 8, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1 }, 3);
  const topo = topology({ type: 'ring', agents: 8 });
  const plain = await run(dSoba, STEPS, problem, topo, 600);
  const corrected = await run(sparkle, STEPS, problem, topo, 600);
  assert.ok(plain.metrics.hypergradNormSq > 1e-4, `D-SOBA ‖∇Φ‖² = ${plain.metrics.hypergradNormSq}`);
  assert.ok(corrected.metrics.hypergradNormSq < 1e-8, `SPARKLE ‖∇Φ‖² = ${corrected.metrics.hypergradNormSq}`);
});

function assertClose(a: Float64Array, b: Float64Array, tol: number, what: string): void {
  for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k]! - b[k]!) <= tol * (1 + Math.abs(b[k]!)), `${what}[${k}]: ${a[k]} vs ${b[k]}`);
}

test('sparkle with one agent and W = [1] is D-SOBA for every mode combination and both h timings', async () => {
  const problem = randomQuadratic({ agents: 1, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0 }, 9);
  const single = topologyFromMatrix([[1]], 1);
  for (const hTiming of ['current', 'previous']) {
    for (const modes of MODES) {
      const a = harness(sparkle, { ...STEPS, ...modes, hTiming }, problem, single);
      const b = harness(dSoba, { ...STEPS, hTiming }, problem, single);
      for (let t = 1; t <= 100; t++) {
        await a.step();
        await b.step();
        for (const key of ['x', 'y', 'z'] as const) assertClose(a.states[0][key], b.states[0][key], 1e-11, `${label(modes)} ${hTiming}, iteration ${t}, ${key}`);
      }
    }
  }
});

test('sparkle all-GT with hTiming previous on a complete graph with W = 11ᵀ/m is D-SOBA iterate for iterate', async () => {
  const problem = randomQuadratic({ agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1 }, 6);
  const topo = topology({ type: 'complete', agents: 5, mixing: 'uniform' });
  const a = harness(sparkle, { ...STEPS, xMode: 'gt', yMode: 'gt', zMode: 'gt', hTiming: 'previous' }, problem, topo);
  const b = harness(dSoba, STEPS, problem, topo);
  for (let t = 1; t <= 100; t++) {
    await a.step();
    await b.step();
    for (let i = 0; i < 5; i++) for (const key of ['x', 'y', 'z'] as const) assertClose(a.states[i][key], b.states[i][key], 1e-10, `agent ${i}, iteration ${t}, ${key}`);
  }
});

test('sparkle sends one round on 2|E| messages with 1× (ED, EXTRA) or 2× (GT) floats per level, and one ∇F, ∇G, HVP, JVP call per iteration', async () => {
  const dx = 3;
  const dy = 5;
  const problem = randomQuadratic({ agents: 7, dx, dy, problemClass: 'global', heterogeneity: 0.5 }, 4);
  const expected = new Map([
    ['ed/ed/ed', dx + 2 * dy],
    ['extra/extra/extra', dx + 2 * dy],
    ['gt/gt/gt', 2 * dx + 4 * dy],
    ['ed/gt/extra', dx + 3 * dy],
    ['gt/ed/ed', 2 * dx + 2 * dy],
  ]);
  for (const [spec, bytesPerFloat] of [
    [{ type: 'ring', agents: 7 }, 4],
    [{ type: 'erdos-renyi', agents: 7, p: 0.5 }, 8],
  ] as const) {
    const topo = topology(spec);
    const edges = topo.graph.edges.length;
    for (const modes of MODES) {
      const floats = expected.get(label(modes))!;
      assert.equal(sparkleFloats(dx, dy, modes as Parameters<typeof sparkleFloats>[2]), floats);
      const h = harness(sparkle, { ...STEPS, ...modes }, problem, topo, { bytesPerFloat, batch: 3 });
      for (let t = 1; t <= 3; t++) {
        await h.step();
        assert.equal(h.sim.counters.rounds, t);
        assert.equal(h.sim.counters.messages, t * 2 * edges);
        assert.equal(h.sim.counters.floats, t * 2 * edges * floats, label(modes));
        assert.equal(h.sim.counters.bytes, t * 2 * edges * floats * bytesPerFloat);
        for (const o of h.oracles) {
          assert.deepEqual(o.counts.calls, { gradF: t, gradG: t, hvp: t, jvp: t, valueF: 0, valueG: 0, hessian: 0, jacobian: 0 });
          assert.equal(o.counts.samples.gradF, 3 * t);
          assert.equal(o.counts.samples.gradG, 3 * t);
        }
      }
    }
  }
});

/** Time-averaged ‖∇Φ(x̄)‖² over the second half of a noisy run (every 10th iteration). */
async function noiseFloor(modes: Modes, scale: number, iterations: number, seed: number): Promise<number> {
  const problem = randomQuadratic({ agents: 8, dx: 4, dy: 5, problemClass: 'global', heterogeneity: 1, noise: 0.1 }, seed);
  const params = { ...modes, alpha: STEPS.alpha * scale, beta: STEPS.beta * scale, gamma: STEPS.gamma * scale, theta: STEPS.theta };
  const h = harness(sparkle, params, problem, topology({ type: 'ring', agents: 8 }), { batch: 4, seed });
  const evaluator = new Evaluator(problem);
  let sum = 0;
  let count = 0;
  for (let t = 1; t <= iterations; t++) {
    await h.step();
    if (t > iterations / 2 && t % 10 === 0) {
      sum += evaluator.evaluate(h.states.map((s) => sparkle.view(s))).hypergradNormSq;
      count++;
    }
  }
  return sum / count;
}

test('sparkle with noise 0.1 and batch 4 settles at a noise floor below 1e-3 (ED, GT, mixed) that shrinks with the steps', async () => {
  for (const modes of [MODES[0]!, MODES[2]!, MODES[3]!]) {
    const floor = await noiseFloor(modes, 1, 1000, 2);
    assert.ok(floor < 1e-3 && floor > 1e-9, `${label(modes)}: floor ${floor}`);
  }
  const big = await noiseFloor(MODES[0]!, 1, 2000, 1);
  const small = await noiseFloor(MODES[0]!, 0.5, 4000, 1);
  assert.ok(big / small > 1.5, `ED floor ${big} → ${small} when the steps halve`);
});

test('sparkle rejects bad parameters with messages naming them', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ alpha: -0.1 }, 'alpha'],
    [{ beta: 0 }, 'beta'],
    [{ gamma: 'big' }, 'gamma'],
    [{ theta: 1.5 }, 'theta'],
    [{ xMode: 'diging' }, 'xMode'],
    [{ yMode: 'GT' }, 'yMode'],
    [{ zMode: 3 }, 'zMode'],
    [{ hTiming: 'late' }, 'hTiming'],
  ];
  for (const [params, name] of cases) {
    const r = sparkle.params.safeParse(params);
    assert.ok(!r.success, `${JSON.stringify(params)} accepted`);
    assert.ok(
      r.error.issues.some((i) => i.message.includes(name)),
      `${JSON.stringify(params)}: ${r.error.issues.map((i) => i.message).join('; ')}`,
    );
  }
  const unknown = sparkle.params.safeParse({ mode: 'ed' });
  assert.ok(!unknown.success && JSON.stringify(unknown.error.issues).includes('mode'));
  assert.deepEqual(sparkle.params.parse({}), { alpha: 0.05, beta: 0.1, gamma: 0.1, theta: 0.5, xMode: 'ed', yMode: 'ed', zMode: 'ed', hTiming: 'current' });
});

test('sparkle state round-trips through serialization for every mode: resuming gives the same iterates', async () => {
  const problem = randomQuadratic({ agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 1, noise: 0.3 }, 8);
  const topo = topology({ type: 'ring', agents: 5 });
  for (const modes of [MODES[3]!, MODES[4]!]) {
    const params = { ...STEPS, ...modes };
    const straight = harness(sparkle, params, problem, topo, { batch: 2 });
    for (let t = 0; t < 20; t++) await straight.step();
    const resumed = harness(sparkle, params, problem, topo, { batch: 2 });
    for (let t = 0; t < 10; t++) await resumed.step();
    resumed.states = resumed.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
    for (let t = 0; t < 10; t++) await resumed.step();
    assert.deepEqual(serializeState(resumed.states), serializeState(straight.states), label(modes));
  }
});
