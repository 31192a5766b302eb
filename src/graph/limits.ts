/**
 * Up-front size check of a topology: the edge count is known (or, for
 * Erdős–Rényi, expected) from the spec alone, so a graph that cannot fit is
 * refused with the estimate before anything is allocated, instead of failing
 * minutes later with an allocation error.
 */
import { getHeapStatistics } from 'node:v8';
import { ConfigError } from '../errors.ts';
import type { TopologySpec } from './topology.ts';

/** Bytes per undirected edge while the graph is built and held: edge tuple, dedup key, two neighbour entries, two CSR entries. */
export const BYTES_PER_EDGE = 160;
/** Bytes per agent: neighbour list, diagonal weight, spectrum and state of the spectral solver. */
export const BYTES_PER_AGENT = 200;

/** Expected number of undirected edges of `spec` (exact except Erdős–Rényi, where it is p·m(m−1)/2). */
export function expectedEdges(spec: TopologySpec): number {
  const m = spec.agents;
  switch (spec.type) {
    case 'complete':
      return (m * (m - 1)) / 2;
    case 'ring':
      return m <= 2 ? m - 1 : m;
    case 'path':
    case 'star':
      return Math.max(0, m - 1);
    case 'torus':
      return 2 * m;
    case 'exponential':
      return m * Math.ceil(Math.log2(Math.max(2, m)));
    case 'erdos-renyi':
      return (spec.p * m * (m - 1)) / 2;
    case 'custom':
      return Array.isArray(spec.edges) ? spec.edges.length : 0;
  }
}

/** Memory budget for a topology: half of this process's JavaScript heap limit. */
export function topologyBudgetBytes(): number {
  return getHeapStatistics().heap_size_limit / 2;
}

function count(n: number): string {
  return n < 1e6 ? String(Math.round(n)) : n.toExponential(2).replace('e+', 'e');
}

function gib(bytes: number): string {
  return bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toPrecision(3)} GiB` : `${(bytes / 2 ** 20).toPrecision(3)} MiB`;
}

/** Throws ConfigError(`${field}.agents`) when the graph of `spec` would not fit in memory, with the estimate. */
export function checkTopologySize(spec: TopologySpec, field: string, budget = topologyBudgetBytes()): void {
  const edges = expectedEdges(spec);
  const bytes = edges * BYTES_PER_EDGE + spec.agents * BYTES_PER_AGENT;
  if (spec.agents > 2 ** 31 - 1 || bytes > budget)
    throw new ConfigError(
      `${field}.agents`,
      `a ${spec.type} graph on ${spec.agents} agents has ${spec.type === 'erdos-renyi' ? 'about ' : ''}${count(edges)} edges; ` +
        `its edge list and mixing weights need ≈ ${gib(bytes)}, more than the ${gib(budget)} this process allows ` +
        `(half its heap limit); use fewer agents or a sparser topology`,
    );
}
