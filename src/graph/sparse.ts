/**
 * Sparse mixing matrices: W stored as its diagonal plus the off-diagonal
 * entries of each row in the order of the graph's neighbour lists (CSR).
 * Memory and every product are O(m + |E|), so topologies of 10⁴–10⁵ agents
 * cost megabytes, not the m² doubles of a dense matrix.
 */
import { zeros, type Matrix } from '../linalg/matrix.ts';
import type { Graph } from './topology.ts';

export interface SparseMixing {
  readonly m: number;
  /** w_ii for every agent. */
  readonly self: Float64Array;
  /** Row i's off-diagonal entries are at rowStart[i] … rowStart[i + 1] − 1 (length m + 1). */
  readonly rowStart: Int32Array;
  /** Column of each off-diagonal entry; within a row ascending (the graph's neighbour order). */
  readonly cols: Int32Array;
  /** w_ij of each off-diagonal entry. */
  readonly values: Float64Array;
}

/** CSR pattern of `graph` (its neighbour lists) with all values zero. */
export function sparsePattern(graph: Graph): SparseMixing {
  const { m } = graph;
  const rowStart = new Int32Array(m + 1);
  for (let i = 0; i < m; i++) rowStart[i + 1] = rowStart[i]! + graph.neighbours[i]!.length;
  const cols = new Int32Array(rowStart[m]!);
  for (let i = 0; i < m; i++) cols.set(graph.neighbours[i]!, rowStart[i]!);
  return { m, self: new Float64Array(m), rowStart, cols, values: new Float64Array(cols.length) };
}

/** The weights of row i's off-diagonal entries, aligned with the graph's neighbours[i] (a view, not a copy). */
export function rowWeights(w: SparseMixing, i: number): Float64Array {
  return w.values.subarray(w.rowStart[i]!, w.rowStart[i + 1]!);
}

/** out ← W x (out must not alias x). */
export function sparseApply(w: SparseMixing, x: Float64Array, out: Float64Array): void {
  const { m, self, rowStart, cols, values } = w;
  for (let i = 0; i < m; i++) {
    let s = self[i]! * x[i]!;
    for (let k = rowStart[i]!, end = rowStart[i + 1]!; k < end; k++) s += values[k]! * x[cols[k]!]!;
    out[i] = s;
  }
}

/** w_ij (0 off the pattern), by binary search in row i. */
export function sparseEntry(w: SparseMixing, i: number, j: number): number {
  if (i === j) return w.self[i]!;
  let lo = w.rowStart[i]!;
  let hi = w.rowStart[i + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = w.cols[mid]!;
    if (c === j) return w.values[mid]!;
    if (c < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

/** The dense m × m matrix of `w` (for small m: displays and tests). */
export function sparseToDense(w: SparseMixing): Matrix {
  const { m } = w;
  const d = zeros(m, m);
  for (let i = 0; i < m; i++) {
    d.data[i * m + i] = w.self[i]!;
    for (let k = w.rowStart[i]!; k < w.rowStart[i + 1]!; k++) d.data[i * m + w.cols[k]!] = w.values[k]!;
  }
  return d;
}

/** The sparse form of a dense W over `graph` (entries off the graph are dropped; check them first). */
export function denseToSparse(d: Matrix, graph: Graph): SparseMixing {
  const w = sparsePattern(graph);
  const { m } = graph;
  for (let i = 0; i < m; i++) {
    w.self[i] = d.data[i * m + i]!;
    for (let k = w.rowStart[i]!; k < w.rowStart[i + 1]!; k++) w.values[k] = d.data[i * m + w.cols[k]!]!;
  }
  return w;
}

/** True when every off-diagonal entry of W is the same number c, i.e. W = I − cL with L the graph Laplacian. */
export function uniformEdgeWeight(w: SparseMixing): number | null {
  if (w.values.length === 0) return null;
  const c = w.values[0]!;
  for (let k = 1; k < w.values.length; k++) if (w.values[k] !== c) return null;
  return c;
}
