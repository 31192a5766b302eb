/**
 * Graph layer: communication topologies, mixing matrices and their spectra.
 */
import { ConfigError } from '../errors.ts';
import { fromRows, type Matrix } from '../linalg/matrix.ts';
import { graphFromWeights, mixingMatrix, validateMixing, type MixingRule } from './mixing.ts';
import { spectrum, type Spectrum } from './spectral.ts';
import { buildGraph, type Graph, type TopologySpec } from './topology.ts';

export {
  buildGraph,
  connectedComponents,
  describeComponents,
  ERDOS_RENYI_MAX_ATTEMPTS,
  graphFromEdges,
  isConnected,
  TOPOLOGY_TYPES,
  type Graph,
  type TopologySpec,
  type TopologyType,
} from './topology.ts';
export { graphFromWeights, MIXING_RULES, mixingMatrix, validateMixing, type MixingRule } from './mixing.ts';
export { spectrum, type Spectrum } from './spectral.ts';

export interface WeightedTopology {
  readonly graph: Graph;
  readonly weights: Matrix;
  readonly spectrum: Spectrum;
}

/** Default mixing rule when a topology spec names none. */
export const DEFAULT_MIXING_RULE: MixingRule = 'metropolis';

/**
 * Builds the graph described by `spec`, its mixing matrix (rule `spec.mixing`,
 * default metropolis) and the matrix's spectrum. Errors name `${field}.…`.
 */
export function buildTopology(spec: TopologySpec & { mixing?: MixingRule }, seed: number, field = 'topology'): WeightedTopology {
  const graph = buildGraph(spec, seed, field);
  const weights = mixingMatrix(graph, spec.mixing ?? DEFAULT_MIXING_RULE, `${field}.mixing`);
  validateMixing(weights, graph, `${field}.mixing`);
  return { graph, weights, spectrum: spectrum(weights) };
}

/**
 * A topology given directly by its mixing matrix (e.g. `weights:` in a
 * config). Checks the shape against `agents`, validates W as a mixing matrix
 * and takes the graph to be W's off-diagonal support. Errors name
 * `${field}.weights`.
 */
export function topologyFromMatrix(rows: number[][], agents: number, field = 'topology'): WeightedTopology {
  const f = `${field}.weights`;
  if (typeof agents !== 'number' || !Number.isInteger(agents) || agents < 1)
    throw new ConfigError(`${field}.agents`, `expected an integer ≥ 1, got ${String(agents)}`);
  if (!Array.isArray(rows) || rows.length !== agents)
    throw new ConfigError(
      f,
      `expected a ${agents}×${agents} matrix (one row per agent), got ${Array.isArray(rows) ? `${rows.length} rows` : typeof rows}`,
    );
  rows.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length !== agents)
      throw new ConfigError(
        `${f}[${i}]`,
        `expected a row of ${agents} numbers (matrix must be ${agents}×${agents}), got ${Array.isArray(row) ? `${row.length} entries` : typeof row}`,
      );
    row.forEach((v: unknown, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new ConfigError(`${f}[${i}][${j}]`, `expected a finite number, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
    });
  });
  const weights = fromRows(rows);
  validateMixing(weights, null, f);
  const graph = graphFromWeights(weights);
  return { graph, weights, spectrum: spectrum(weights) };
}
