/**
 * Graph layer: communication topologies, mixing matrices and their spectra.
 */
import { ConfigError } from '../errors.ts';
import { fromRows, type Matrix } from '../linalg/matrix.ts';
import type { GraphStructure } from './closed-form.ts';
import { graphFromWeights, sparseMixingMatrix, validateMixing, type MixingRule } from './mixing.ts';
import { sparseSpectrum, type Spectrum } from './spectral.ts';
import { denseToSparse, sparseToDense, type SparseMixing } from './sparse.ts';
import { buildStructuredGraph, type Graph, type TopologySpec } from './topology.ts';

export {
  buildGraph,
  buildStructuredGraph,
  connectedComponents,
  describeComponents,
  ERDOS_RENYI_MAX_ATTEMPTS,
  ERDOS_RENYI_PAIRWISE_MAX,
  graphFromEdges,
  isConnected,
  nearestTorusSizes,
  TOPOLOGY_TYPES,
  type Graph,
  type StructuredGraph,
  type TopologySpec,
  type TopologyType,
} from './topology.ts';
export {
  DENSE_EIGEN_MAX,
  graphFromWeights,
  laplacianMax,
  MIXING_RULES,
  mixingMatrix,
  sparseMixingMatrix,
  validateMixing,
  type MixingRule,
} from './mixing.ts';
export { sparseSpectrum, spectrum, type DenseSpectrum, type Spectrum, type SpectrumMethod } from './spectral.ts';
export { rowWeights, sparseApply, sparseEntry, sparseToDense, type SparseMixing } from './sparse.ts';
export { laplacianEigenvalues, type GraphStructure } from './closed-form.ts';
export { checkTopologySize, expectedEdges } from './limits.ts';

/** Largest m for which `WeightedTopology.weights` (the dense W, m² doubles) may be built. */
export const DENSE_WEIGHTS_MAX = 2048;

export interface WeightedTopology {
  readonly graph: Graph;
  /** W in sparse form: the diagonal and, per agent, the weights of its neighbours in graph.neighbours order. */
  readonly mixing: SparseMixing;
  readonly spectrum: Spectrum;
  /** The dense W, built on first use; throws above DENSE_WEIGHTS_MAX agents (use `mixing`). */
  readonly weights: Matrix;
  /** Set when the graph built differs from the type asked for (a torus built as a ring on request). */
  readonly note?: string;
}

function weightedTopology(graph: Graph, mixing: SparseMixing, spectrum: Spectrum, note?: string): WeightedTopology {
  let dense: Matrix | null = null;
  return {
    graph,
    mixing,
    spectrum,
    ...(note === undefined ? {} : { note }),
    get weights(): Matrix {
      if (dense === null) {
        if (graph.m > DENSE_WEIGHTS_MAX)
          throw new RangeError(`the dense mixing matrix of ${graph.m} agents has ${graph.m}² entries; use the sparse topology.mixing instead`);
        dense = sparseToDense(mixing);
      }
      return dense;
    },
  };
}

/** Default mixing rule when a topology spec names none. */
export const DEFAULT_MIXING_RULE: MixingRule = 'metropolis';

/**
 * Builds the graph described by `spec`, its sparse mixing matrix (rule
 * `spec.mixing`, default metropolis) and the matrix's spectrum, in
 * O(m + |E|) memory. Errors name `${field}.…`.
 */
export function buildTopology(spec: TopologySpec & { mixing?: MixingRule }, seed: number, field = 'topology'): WeightedTopology {
  const { graph, structure, note } = buildStructuredGraph(spec, seed, field);
  return topologyOf(graph, structure, spec.mixing ?? DEFAULT_MIXING_RULE, `${field}.mixing`, note);
}

/** The weighted topology of an already built graph under `rule`. */
export function topologyOf(graph: Graph, structure: GraphStructure | null, rule: MixingRule, field = 'topology.mixing', note?: string): WeightedTopology {
  const mixing = sparseMixingMatrix(graph, rule, field, structure);
  const spec = sparseSpectrum(mixing, structure);
  if (!(spec.rho < 1))
    throw new ConfigError(field, `the mixing matrix has ρ = ‖W − 11ᵀ/m‖₂ = ${spec.rho.toPrecision(6)} ≥ 1, so gossip does not contract`);
  return weightedTopology(graph, mixing, spec, note);
}

/** Below 1 by at least this much, or a given W is refused as not contracting (ρ = 1 up to rounding). */
export const RHO_MARGIN = 1e-12;

/**
 * A topology given directly by its mixing matrix (e.g. `weights:` in a
 * config). Checks the shape against `agents`, validates W as a mixing matrix
 * (nonnegative unless `options.allowNegativeWeights`), requires
 * ρ = ‖W − 11ᵀ/m‖₂ < 1, and takes the graph to be W's off-diagonal support.
 * Errors name `${field}.weights`.
 */
export function topologyFromMatrix(rows: number[][], agents: number, field = 'topology', options: { allowNegativeWeights?: boolean } = {}): WeightedTopology {
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
  validateMixing(weights, null, f, 1e-9, { allowNegative: options.allowNegativeWeights === true, flag: `${field}.allowNegativeWeights` });
  const graph = graphFromWeights(weights);
  const mixing = denseToSparse(weights, graph);
  const spec = sparseSpectrum(mixing);
  if (!(spec.rho < 1 - RHO_MARGIN))
    throw new ConfigError(
      f,
      `ρ = ‖W − 11ᵀ/m‖₂ = ${spec.rho.toPrecision(6)} is not below 1, so gossip with this matrix does not contract (` +
        (spec.lambda >= 1 - RHO_MARGIN && spec.rho < 1 + RHO_MARGIN ? 'W has an eigenvalue −1 or a second eigenvalue 1' : 'the iterates would grow') +
        '); a mixing matrix needs ρ < 1',
    );
  return weightedTopology(graph, mixing, spec);
}

/**
 * The JSON form of a topology written to run directories (topology.json):
 * the edge list with one weight per edge and the diagonal, not a dense
 * matrix, so it stays O(m + |E|). Eigenvalues are included for m ≤ 64.
 */
export function topologyJson(t: WeightedTopology): Record<string, unknown> {
  const { graph, mixing, spectrum } = t;
  const edgeWeights: number[] = [];
  for (let i = 0; i < graph.m; i++)
    for (let k = mixing.rowStart[i]!; k < mixing.rowStart[i + 1]!; k++) if (mixing.cols[k]! > i) edgeWeights.push(mixing.values[k]!);
  return {
    agents: graph.m,
    edges: graph.edges,
    edgeWeights,
    selfWeights: Array.from(mixing.self),
    lambda: spectrum.lambda,
    rho: spectrum.rho,
    spectrumMethod: spectrum.method,
    ...(spectrum.errorBound !== undefined ? { spectrumErrorBound: spectrum.errorBound } : {}),
    ...(spectrum.eigenvalues && graph.m <= 64 ? { eigenvalues: Array.from(spectrum.eigenvalues) } : {}),
    ...(t.note ? { note: t.note } : {}),
  };
}
