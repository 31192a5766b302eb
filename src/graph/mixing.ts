/**
 * Mixing (gossip) matrices W over a communication graph: symmetric, doubly
 * stochastic, zero off the graph's edges, and with a connected support.
 */
import { ConfigError } from '../errors.ts';
import { symmetricEigen, zeros, type Matrix } from '../linalg/matrix.ts';
import { laplacianEigenvalues, type GraphStructure } from './closed-form.ts';
import { lanczosExtremes } from './lanczos.ts';
import { sparsePattern, sparseToDense, type SparseMixing } from './sparse.ts';
import { connectedComponents, describeComponents, graphFromEdges, type Graph } from './topology.ts';

/** Up to this many agents, eigenvalues are computed by the dense Jacobi solver (exact, all of them); above, by closed forms or Lanczos. */
export const DENSE_EIGEN_MAX = 32;

export type MixingRule = 'laplacian' | 'metropolis' | 'uniform';

export const MIXING_RULES: ReadonlyArray<MixingRule> = ['laplacian', 'metropolis', 'uniform'];

function laplacian(graph: Graph): Matrix {
  const { m } = graph;
  const l = zeros(m, m);
  for (let i = 0; i < m; i++) l.data[i * m + i] = graph.neighbours[i]!.length;
  for (const [i, j] of graph.edges) {
    l.data[i * m + j] = -1;
    l.data[j * m + i] = -1;
  }
  return l;
}

/**
 * λmax of the graph Laplacian: closed form for structured graphs, dense
 * eigensolver for small ones, Lanczos otherwise.
 */
export function laplacianMax(graph: Graph, structure: GraphStructure | null = null): number {
  const { m } = graph;
  if (structure !== null) return laplacianEigenvalues(structure).reduce((a, b) => Math.max(a, b), 0);
  if (m <= DENSE_EIGEN_MAX) return symmetricEigen(laplacian(graph)).values[m - 1]!;
  const deg = graph.neighbours.map((n) => n.length);
  const apply = (x: Float64Array, out: Float64Array): void => {
    for (let i = 0; i < m; i++) {
      let s = deg[i]! * x[i]!;
      for (const j of graph.neighbours[i]!) s -= x[j]!;
      out[i] = s;
    }
  };
  // L's top eigenvector is orthogonal to 1 (the kernel), so deflating loses nothing.
  return lanczosExtremes(apply, m, { deflateOnes: true, tol: 1e-12 }).max;
}

/**
 * The sparse mixing matrix of `graph` under `rule`:
 * - laplacian: W = I − 2L / (3 λmax(L)), eigenvalues in [1/3, 1];
 * - metropolis: w_ij = 1 / (1 + max(d_i, d_j)) on edges, w_ii = 1 − Σ_j w_ij;
 * - uniform: W = 11ᵀ/m, complete graphs only.
 * `structure` (when known) gives λmax(L) in closed form.
 */
export function sparseMixingMatrix(graph: Graph, rule: MixingRule, field = 'topology.mixing', structure: GraphStructure | null = null): SparseMixing {
  const { m } = graph;
  const w = sparsePattern(graph);
  switch (rule) {
    case 'laplacian': {
      if (m <= 1 || graph.edges.length === 0) {
        w.self.fill(1);
        return w;
      }
      const c = 2 / (3 * laplacianMax(graph, structure));
      w.values.fill(c);
      for (let i = 0; i < m; i++) w.self[i] = 1 - c * graph.neighbours[i]!.length;
      return w;
    }
    case 'metropolis': {
      for (let i = 0; i < m; i++) {
        const di = graph.neighbours[i]!.length;
        let s = 0;
        for (let k = w.rowStart[i]!; k < w.rowStart[i + 1]!; k++) {
          const v = 1 / (1 + Math.max(di, graph.neighbours[w.cols[k]!]!.length));
          w.values[k] = v;
          s += v;
        }
        w.self[i] = 1 - s;
      }
      return w;
    }
    case 'uniform': {
      const full = (m * (m - 1)) / 2;
      if (graph.edges.length !== full) {
        let missing = '';
        outer: for (let i = 0; i < m; i++) {
          const nb = new Set(graph.neighbours[i]);
          for (let j = i + 1; j < m; j++)
            if (!nb.has(j)) {
              missing = ` (agents ${i} and ${j} are not linked)`;
              break outer;
            }
        }
        throw new ConfigError(
          field,
          `uniform mixing (W = 11ᵀ/m) needs a complete graph, but the graph has ${graph.edges.length} of ${full} possible edges${missing}; ` +
            `use 'metropolis' or 'laplacian' for sparse graphs`,
        );
      }
      w.self.fill(1 / m);
      w.values.fill(1 / m);
      return w;
    }
    default:
      throw new ConfigError(field, `unknown mixing rule ${JSON.stringify(rule)}; expected one of ${MIXING_RULES.join(', ')}`);
  }
}

/** The dense mixing matrix of `graph` under `rule` (see sparseMixingMatrix); for small graphs and tests. */
export function mixingMatrix(graph: Graph, rule: MixingRule, field = 'topology.mixing'): Matrix {
  return sparseToDense(sparseMixingMatrix(graph, rule, field));
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(12))) : String(x);
}

/**
 * Checks that `w` is a valid mixing matrix, throwing ConfigError(field, …)
 * naming the first violated property: square and m×m (m from `graph` when
 * given), finite entries, symmetric (within tol), rows summing to 1 (within
 * tol; columns follow from symmetry), zero on non-edges of `graph` (when
 * given), nonnegative entries (unless `options.allowNegative`; `options.flag`
 * names the setting that allows them), and a connected graph of nonzero
 * off-diagonal entries.
 */
export function validateMixing(
  w: Matrix,
  graph: Graph | null,
  field: string,
  tol = 1e-9,
  options: { allowNegative?: boolean; flag?: string } = { allowNegative: true },
): void {
  const n = w.rows;
  if (graph !== null && (w.rows !== graph.m || w.cols !== graph.m))
    throw new ConfigError(field, `expected a ${graph.m}×${graph.m} matrix (one row and column per agent), got ${w.rows}×${w.cols}`);
  if (w.cols !== n) throw new ConfigError(field, `expected a square matrix, got ${w.rows}×${w.cols}`);
  if (w.data.length !== n * n) throw new ConfigError(field, `matrix data has ${w.data.length} entries, expected ${n * n}`);
  const d = w.data;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const v = d[i * n + j]!;
      if (!Number.isFinite(v)) throw new ConfigError(field, `entry w[${i}][${j}] = ${v} is not finite`);
    }
  let worst = 0;
  let wi = -1;
  let wj = -1;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const diff = Math.abs(d[i * n + j]! - d[j * n + i]!);
      if (diff > worst) {
        worst = diff;
        wi = i;
        wj = j;
      }
    }
  if (worst > tol)
    throw new ConfigError(
      field,
      `matrix is not symmetric: w[${wi}][${wj}] = ${fmt(d[wi * n + wj]!)} but w[${wj}][${wi}] = ${fmt(d[wj * n + wi]!)} ` +
        `(difference ${worst.toExponential(3)} exceeds tolerance ${tol})`,
    );
  let worstRow = -1;
  let worstDev = 0;
  let worstSum = 1;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += d[i * n + j]!;
    const dev = Math.abs(s - 1);
    if (dev > worstDev) {
      worstDev = dev;
      worstRow = i;
      worstSum = s;
    }
  }
  if (worstDev > tol)
    throw new ConfigError(
      field,
      `matrix is not doubly stochastic: row ${worstRow} sums to ${fmt(worstSum)}, expected 1 (tolerance ${tol}); ` +
        `every row and column of a mixing matrix must sum to 1`,
    );
  if (options.allowNegative !== true) {
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (d[i * n + j]! < 0)
          throw new ConfigError(
            field,
            `entry w[${i}][${j}] = ${fmt(d[i * n + j]!)} is negative; gossip with negative weights can diverge, so mixing matrices must be nonnegative` +
              (options.flag ? ` (set ${options.flag}: true to accept negative entries when ρ = ‖W − 11ᵀ/m‖₂ < 1)` : ''),
          );
  }
  if (graph !== null) {
    for (let i = 0; i < n; i++) {
      const nb = new Set(graph.neighbours[i]);
      for (let j = i + 1; j < n; j++) {
        const v = d[i * n + j]!;
        if (Math.abs(v) > tol && !nb.has(j))
          throw new ConfigError(
            field,
            `nonzero weight w[${i}][${j}] = ${fmt(v)} between agents ${i} and ${j}, which are not linked in the communication graph`,
          );
      }
    }
  }
  if (n > 1) {
    const support = supportGraph(w, tol);
    const comps = connectedComponents(n, support.neighbours);
    if (comps.length > 1)
      throw new ConfigError(
        field,
        `the graph of nonzero off-diagonal weights is disconnected (information cannot reach every agent): ${describeComponents(comps)}`,
      );
  }
}

function supportGraph(w: Matrix, tol: number): Graph {
  const n = w.rows;
  const edges: Array<readonly [number, number]> = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (Math.abs(w.data[i * n + j]!) > tol || Math.abs(w.data[j * n + i]!) > tol) edges.push([i, j]);
  return graphFromEdges(n, edges);
}

/** The graph whose edges are the off-diagonal pairs with |w_ij| > tol (or |w_ji| > tol). */
export function graphFromWeights(w: Matrix, tol = 1e-12): Graph {
  if (w.rows !== w.cols) throw new RangeError(`graphFromWeights needs a square matrix, got ${w.rows}×${w.cols}`);
  return supportGraph(w, tol);
}
