/**
 * Builds a run's weighted topology from its config (the `topology` section),
 * without the runner, so that `dbo topology` and the runtimes can use it alone.
 */
import { buildTopology, topologyFromMatrix, type MixingRule, type WeightedTopology } from '../graph/index.ts';
import { deriveSeed } from '../random/rng.ts';
import type { TopologyConfig } from './config.ts';

/**
 * The weighted topology of a validated `topology` config: a custom `weights`
 * matrix or a lazy ring (`selfWeight`) is taken as given; every other type is
 * built by src/graph under its mixing rule, seeded from the run seed.
 */
export function buildRunTopology(t: TopologyConfig, seed: number): WeightedTopology {
  const seedT = deriveSeed(seed, 'topology');
  switch (t.type) {
    case 'custom':
      if (t.weights !== undefined) return topologyFromMatrix(t.weights, t.agents, 'topology', { allowNegativeWeights: t.allowNegativeWeights === true });
      return buildTopology({ type: t.type, agents: t.agents, edges: t.edges, ...mixingOf(t) }, seedT);
    case 'ring':
      if (t.selfWeight !== undefined) return topologyFromMatrix(lazyRingWeights(t.agents, t.selfWeight), t.agents, 'topology');
      return buildTopology({ type: t.type, agents: t.agents, ...mixingOf(t) }, seedT);
    case 'erdos-renyi':
      return buildTopology({ type: t.type, agents: t.agents, p: t.p, ...mixingOf(t) }, seedT);
    case 'torus':
      return buildTopology({ type: t.type, agents: t.agents, ...(t.rows ? { rows: t.rows } : {}), ...(t.ringFallback ? { ringFallback: true } : {}), ...mixingOf(t) }, seedT);
    default:
      return buildTopology({ type: t.type, agents: t.agents, ...mixingOf(t) }, seedT);
  }
}

/** `{mixing}` when the config names a rule, else nothing (src/graph applies its default). */
function mixingOf(t: { mixing?: MixingRule | undefined }): { mixing?: MixingRule } {
  return t.mixing ? { mixing: t.mixing } : {};
}

/** The lazy ring's mixing matrix: w_ii = s, each ring neighbour (1 − s)/degree (doubly stochastic: the ring is regular). */
export function lazyRingWeights(m: number, s: number): number[][] {
  const w: number[][] = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => (i === j ? 1 : 0)));
  if (m < 2) return w;
  for (let i = 0; i < m; i++) {
    const nbrs = new Set([(i + 1) % m, (i + m - 1) % m]);
    w[i]![i] = s;
    for (const j of nbrs) w[i]![j] = (1 - s) / nbrs.size;
  }
  return w;
}
