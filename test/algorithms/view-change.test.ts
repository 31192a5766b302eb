/**
 * The optional `onViewChange` reset of the tracking algorithms
 * (docs/faults.md), on the simulator: six agents on a ring run a while, agent 2
 * leaves, and the five survivors go on over the path the ring leaves behind,
 * with Metropolis weights. With the reset (called on every survivor at the
 * same iteration, as the libp2p transport does) they reach the stationary
 * point of the survivors' problem; without it, the trackers keep the departed
 * agent's share and they settle elsewhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from '../../src/algorithms/registry.ts';
import type { AgentStateBase } from '../../src/algorithms/types.ts';
import { cdBsvrgd } from '../../src/algorithms/cd-bsvrgd.ts';
import { interact } from '../../src/algorithms/interact.ts';
import { maDsbo } from '../../src/algorithms/ma-dsbo.ts';
import { sldbo } from '../../src/algorithms/sldbo.ts';
import { sparkle } from '../../src/algorithms/sparkle.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import { survivorsProblem } from '../../src/problems/survivors.ts';
import { harness, randomQuadratic, topology, type AnyAlgorithm } from '../helpers.ts';

const SURVIVORS = [0, 1, 3, 4, 5];

/** Runs 6 agents for `before` steps, drops agent 2, runs the survivors `after` steps; ‖∇Φ_S(x̄)‖² at the end. */
async function departure(algorithm: AnyAlgorithm, params: Record<string, unknown>, problemClass: 'global' | 'personalized', reset: boolean, before: number, after: number): Promise<number> {
  const problem = randomQuadratic({ agents: 6, dx: 3, dy: 4, problemClass, heterogeneity: 0.5 }, 31);
  const full = harness(algorithm, params, problem, topology({ type: 'ring', agents: 6, mixing: 'metropolis' }));
  for (let t = 0; t < before; t++) await full.step();
  // Survivors 0, 1, 3, 4, 5 become 0…4; the ring without agent 2 is the path 1 – 0 – 4 – 3 – 2 in those labels.
  const rest = survivorsProblem(problem, SURVIVORS);
  const path = topology({ type: 'custom', agents: 5, edges: [[0, 1], [0, 4], [2, 3], [3, 4]], mixing: 'metropolis' } as never);
  const survivors = harness(algorithm, params, rest, path);
  survivors.states = SURVIVORS.map((i) => full.states[i]!);
  if (reset) {
    const configured = ('configure' in algorithm ? algorithm : register(algorithm)).configure(params);
    assert.ok(configured.onViewChange, `${algorithm.name} has a reset`);
    survivors.states.forEach((s: AgentStateBase, k) => configured.onViewChange!(s, survivors.contexts[k]!, survivors.workspaces[k]!));
  }
  for (let t = 0; t < after; t++) await survivors.step();
  return new Evaluator(rest).evaluate(survivors.views()).hypergradNormSq;
}

const CASES: Array<[AnyAlgorithm, Record<string, unknown>, 'global' | 'personalized', number]> = [
  [interact, { alpha: 0.2, beta: 0.2 }, 'personalized', 1200],
  [cdBsvrgd, { eta: 0.5, alpha1: 3.6, alpha2: 3.6, alpha3: 3.6, beta1: 0.1, beta2: 0.2, beta3: 0.2 }, 'global', 1500],
  [sldbo, { alpha: 0.02, beta: 0.03, gamma: 0.03 }, 'global', 3000],
  [sparkle, { alpha: 0.05, beta: 0.1, gamma: 0.1, theta: 0.5, xMode: 'gt', yMode: 'gt', zMode: 'gt' }, 'global', 3000],
  [maDsbo, { eta: 0.05, innerSteps: 3, hivpSteps: 2, tracking: true }, 'global', 1500],
];

for (const [algorithm, params, problemClass, after] of CASES) {
  test(`${algorithm.name}: after an agent leaves, the reset takes the survivors to their problem's stationary point; without it they settle elsewhere`, async () => {
    const withReset = await departure(algorithm, params, problemClass, true, 30, after);
    const without = await departure(algorithm, params, problemClass, false, 30, after);
    assert.ok(withReset < 1e-16, `${algorithm.name} with the reset: ‖∇Φ_S(x̄)‖² = ${withReset}`);
    assert.ok(without > 1e-6, `${algorithm.name} without the reset: ‖∇Φ_S(x̄)‖² = ${without}`);
  });
}
