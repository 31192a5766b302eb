/**
 * Hyperparameter optimization of multinomial logistic regression with a
 * per-feature regularizer (SEED-000 eq. 4.1; SEED-004 experiment 1).
 *
 *   f_i(x, Y) = (1/|V_i|) Σ_{val}   CE(softmax(aᵀY), b)
 *   g_i(x, Y) = (1/|T_i|) Σ_{train} CE(softmax(aᵀY), b) + (1/(cd)) Σ_q e^{x_q} Σ_p Y_qp²
 *
 * x ∈ R^d (one hyperparameter per feature), Y ∈ R^{d×c} stored row-major
 * (entry (q, p) = feature q, class p; docs/decisions.md §A). The
 * regularizer sits in every local g_i, so their average is the paper's g.
 *
 * Closed forms (derived by hand, checked by finite differences), with S = softmax(A Y):
 *   ∇_Y g = (1/B) Aᵀ(S − onehot) + (2/(cd)) e^x ⊙_rows Y
 *   ∇_x g = (1/(cd)) e^x ⊙ rowsum(Y ⊙ Y)
 *   HVP   = (1/B) Aᵀ(S ⊙ AV − S ⊙ rowsum(S ⊙ AV)) + (2/(cd)) e^x ⊙_rows V
 *   JVP   = (2/(cd)) e^x ⊙ rowsum(Y ⊙ V)
 *   ∇_x f = 0,  ∇_Y f = (1/B) A_vᵀ(S_v − onehot)
 */
import type { Dataset } from '../data/dataset.ts';
import { fusedScratchLength, PASS_POINTS, passScratchLength, type PassPoint } from '../linalg/fused.ts';
import { kernels, pinTable } from '../linalg/kernels.ts';
import { countCorrect } from '../linalg/softmax.ts';
import { SparseRows } from '../linalg/sparse-rows.ts';
import { expInto, rowDots, rowScaledAcc, type Vec } from '../linalg/vector.ts';
import { hessianByColumns, jacobianByColumns } from './matrices.ts';
import { sobaPointsSeparately, type AgentOracle, type Batch, type BilevelProblem, type SobaPoint } from './types.ts';

/**
 * Feature tables with at most this fraction of nonzeros are also held in CSR
 * form and the oracles' row passes run over the nonzeros only (a9a: 0.11).
 */
export const SPARSE_DENSITY = 0.25;

export interface LogregHpoOptions {
  /** Row passes over a CSR copy of the features: when sparse enough ('auto', the default), 'always' or 'never'. */
  readonly sparse?: 'auto' | 'always' | 'never';
}

/**
 * Buffers of the fused SOBA passes (`LogregHpoOracle.sobaPoints`), shared by
 * every oracle of this thread: a pass fills and consumes them synchronously.
 */
const pass = {
  /** The pass's points, reused: lists of 1 … PASS_POINTS of them. */
  lists: Array.from({ length: PASS_POINTS }, (_, k) =>
    Array.from({ length: k + 1 }, (): PassPoint => ({ y: new Float64Array(0), v: null, grad: new Float64Array(0), hvp: null, probs: null })),
  ),
  scratch: new Float64Array(0),
  probsScratch: new Float64Array(0),
};

/** The shared pass buffers, grown to at least these lengths. */
function passBuffers(scratch: number, probs: number): typeof pass {
  if (pass.scratch.length < scratch) pass.scratch = new Float64Array(scratch);
  if (pass.probsScratch.length < probs) pass.probsScratch = new Float64Array(probs);
  return pass;
}

/** e^x and the x it was computed at (valid once `valid`). */
interface ExpCache {
  readonly exp: Float64Array;
  readonly of: Float64Array;
  valid: boolean;
}

const expCaches = new Map<number, ExpCache>();

/**
 * The e^x cache of every oracle with d features in this thread. e^x depends
 * on x alone and every use of it is synchronous, so one cache, compared by
 * contents, serves all agents exactly: within an iteration an agent's ∇_y g,
 * HVP and JVP share one exponential pass as before, evaluations at x̄ share one
 * across agents, and a run of many agents keeps one pair of d-vectors in
 * cache instead of streaming a pair per agent.
 */
function expCacheOf(d: number): ExpCache {
  let c = expCaches.get(d);
  if (!c) expCaches.set(d, (c = { exp: new Float64Array(d), of: new Float64Array(d), valid: false }));
  return c;
}

/**
 * Fused oracle paths: ∇_Y g and the HVP on the same lower-level samples share
 * S = softmax(A_B Y). Every pass over the training rows leaves S in a cache
 * keyed by the contents of Y and of the selected rows, so an HVP (or a
 * sequence of HVPs, as in the evaluators' CG solves) at the Y and batch of
 * the preceding ∇_y g reuses S instead of recomputing the forward product.
 * The cache compares contents, not identities, so it is exact: it can only
 * return the probabilities a fresh computation would give. Callers still make
 * (and the counting wrapper still counts) every oracle call.
 */
export class LogregHpoOracle implements AgentOracle {
  readonly dx: number;
  readonly dy: number;
  readonly upperSamples: number;
  readonly lowerSamples: number;
  private readonly d: number;
  private readonly c: number;
  private readonly regScale: number;
  /** Probabilities workspace of validation-level passes (and of value-only passes). */
  private readonly s: Float64Array;
  /** Training probabilities S at (probsY, probsRows), the cache described above. */
  private readonly probs: Float64Array;
  private readonly probsY: Float64Array;
  private readonly probsRows: Int32Array;
  private probsCount = -1;
  private probsFull = false;
  /** e^x of the last x seen by any oracle of this d (shared, see expCacheOf). */
  private readonly expCache: ExpCache;
  /** A per-feature scratch vector. */
  private readonly rowTmp: Float64Array;
  /** Kernel scratch (transposed parameters and accumulators). */
  private readonly scratch: Float64Array;

  /** CSR copies of the training and validation features, when they are sparse (see `sparseRows`). */
  private readonly trainSparse: SparseRows | null;
  private readonly valSparse: SparseRows | null;

  constructor(
    readonly train: Dataset,
    readonly val: Dataset,
    options: LogregHpoOptions = {},
  ) {
    this.d = train.d;
    this.c = train.classes;
    this.dx = this.d;
    this.dy = this.d * this.c;
    this.upperSamples = val.n;
    this.lowerSamples = train.n;
    this.regScale = 1 / (this.c * this.d);
    this.s = new Float64Array(Math.max(train.n, val.n) * this.c);
    this.probs = new Float64Array(train.n * this.c);
    this.probsY = new Float64Array(this.dy);
    this.probsRows = new Int32Array(train.n);
    this.scratch = new Float64Array(fusedScratchLength(this.d, this.c));
    this.expCache = expCacheOf(this.d);
    this.rowTmp = new Float64Array(this.d);
    // Data sets are never written again: kernels may keep them resident.
    for (const ds of [train, val]) {
      pinTable(ds.features);
      pinTable(ds.labels);
    }
    const mode = options.sparse ?? 'auto';
    const sparse = (ds: Dataset): SparseRows | null =>
      mode === 'always' || (mode === 'auto' && ds.n > 0 && SparseRows.density(ds.features, ds.n, ds.d) <= SPARSE_DENSITY) ? SparseRows.fromDense(ds.features, ds.n, ds.d) : null;
    this.trainSparse = sparse(train);
    this.valSparse = sparse(val);
  }

  /** Accuracy of argmax(aᵀY) on this agent's training set. */
  trainAccuracy(y: Vec): number {
    return accuracy(this.train, y, this.trainSparse);
  }

  /** Whether the training and validation passes run over sparse rows. */
  get sparseRows(): { train: boolean; val: boolean } {
    return { train: this.trainSparse !== null, val: this.valSparse !== null };
  }

  private sparseOf(ds: Dataset): SparseRows | null {
    return ds === this.train ? this.trainSparse : ds === this.val ? this.valSparse : null;
  }

  private forwardRows(probs: Float64Array, ds: Dataset, batch: Batch, y: Vec): number {
    const sp = this.sparseOf(ds);
    const rows = this.rows(batch);
    const n = this.count(batch, ds);
    if (sp) return sp.softmaxForwardRows(probs, rows, n, ds.labels, y, this.c);
    return kernels().softmaxForwardRows(probs, ds.features, this.d, rows, n, ds.labels, y, this.c, this.scratch);
  }

  private gradientRows(out: Vec, probs: Float64Array, ds: Dataset, batch: Batch, y: Vec): void {
    const sp = this.sparseOf(ds);
    const rows = this.rows(batch);
    const n = this.count(batch, ds);
    if (sp) sp.softmaxGradientRows(out, probs, rows, n, ds.labels, y, this.c, 1 / n, this.scratch, false);
    else kernels().softmaxGradientRows(out, probs, ds.features, this.d, rows, n, ds.labels, y, this.c, 1 / n, this.scratch);
  }

  private rows(batch: Batch): Int32Array | null {
    return batch.full ? null : batch.indices;
  }

  private count(batch: Batch, ds: Dataset): number {
    return batch.full ? ds.n : batch.size;
  }

  /** True when the cached training probabilities are those of (y, batch). */
  private cached(y: Vec, batch: Batch): boolean {
    if (this.probsCount < 0 || this.probsFull !== batch.full) return false;
    if (!batch.full) {
      if (this.probsCount !== batch.size) return false;
      const idx = batch.indices;
      const mine = this.probsRows;
      for (let k = 0; k < batch.size; k++) if (idx[k] !== mine[k]) return false;
    }
    const py = this.probsY;
    for (let k = 0; k < py.length; k++) if (y[k] !== py[k]) return false;
    return true;
  }

  private remember(y: Vec, batch: Batch): void {
    this.probsY.set(y);
    this.probsFull = batch.full;
    this.probsCount = this.count(batch, this.train);
    if (!batch.full) this.probsRows.set(batch.indices.subarray(0, batch.size));
  }

  /** Training probabilities at (y, batch), from the cache or a forward pass that refills it. */
  private trainProbabilities(y: Vec, batch: Batch): Float64Array {
    if (this.cached(y, batch)) return this.probs;
    const ds = this.train;
    this.probsCount = -1;
    this.forwardRows(this.probs, ds, batch, y);
    this.remember(y, batch);
    return this.probs;
  }

  /** Σ_batch CE at Y on `ds` (probabilities left in this.s). */
  private crossEntropySum(ds: Dataset, y: Vec, batch: Batch): number {
    return this.forwardRows(this.s, ds, batch, y);
  }

  /**
   * e^x (the regularizer's per-feature weights), recomputed only when x
   * differs from the x of the last call: ∇_y g, HVP and JVP at one point
   * share one exponential pass (comparing is much cheaper than exp).
   */
  private weights(x: Vec): Vec {
    const cache = this.expCache;
    const last = cache.of;
    let same = cache.valid;
    if (same) for (let q = 0; q < last.length; q++) if (x[q] !== last[q]) { same = false; break; }
    if (!same) {
      expInto(cache.exp, x);
      last.set(x);
      cache.valid = true;
    }
    return cache.exp;
  }

  private regularizer(x: Vec, y: Vec): number {
    rowDots(this.rowTmp, this.regScale, this.weights(x), y, y, this.c);
    let r = 0;
    for (let q = 0; q < this.d; q++) r += this.rowTmp[q]!;
    return r;
  }

  f(_x: Vec, y: Vec, batch: Batch): number {
    return this.crossEntropySum(this.val, y, batch) / this.count(batch, this.val);
  }

  lowerDataLoss(_x: Vec, y: Vec, batch: Batch): number {
    return this.crossEntropySum(this.train, y, batch) / this.count(batch, this.train);
  }

  g(x: Vec, y: Vec, batch: Batch): number {
    return this.lowerDataLoss(x, y, batch) + this.regularizer(x, y);
  }

  gradF(_x: Vec, y: Vec, batch: Batch, outX: Vec, outY: Vec): void {
    outX.fill(0);
    this.gradientRows(outY, this.s, this.val, batch, y);
  }

  gradG(x: Vec, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void {
    this.probsCount = -1;
    this.gradientRows(outY, this.probs, this.train, batch, y);
    this.remember(y, batch);
    const w = this.weights(x);
    rowScaledAcc(outY, 2 * this.regScale, w, y, this.c);
    if (outX) rowDots(outX, this.regScale, w, y, y, this.c);
  }

  hvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    const ds = this.train;
    const n = this.count(batch, ds);
    const probs = this.trainProbabilities(y, batch);
    if (this.trainSparse) this.trainSparse.softmaxHvpRows(out, probs, this.rows(batch), n, v, this.c, 1 / n, this.scratch);
    else kernels().softmaxHvpRows(out, probs, ds.features, this.d, this.rows(batch), n, v, this.c, 1 / n, this.scratch);
    rowScaledAcc(out, 2 * this.regScale, this.weights(x), v, this.c);
  }

  /**
   * The SOBA oracles at up to PASS_POINTS points on the same batches
   * (AgentOracle.sobaPoints), over dense rows in two passes: one over the
   * validation rows for every point's ∇_y f, one over the training rows for
   * every point's ∇_y g and HVP (softmaxPassRows), each row read once per
   * pass; then the regularizer's terms and the JVP. Bit for bit the values of
   * the separate calls; afterwards the probability cache holds the last
   * point's, as after its separate gradG. Sparse rows take the separate calls.
   */
  sobaPoints(points: ReadonlyArray<SobaPoint>, upper: Batch, lower: Batch): void {
    const k = points.length;
    if (k === 0) return;
    if (k > PASS_POINTS || this.trainSparse || this.valSparse) {
      sobaPointsSeparately(this, points, upper, lower);
      return;
    }
    const { d, c } = this;
    const nU = this.count(upper, this.val);
    const nL = this.count(lower, this.train);
    const buf = passBuffers(passScratchLength(d, c), PASS_POINTS * Math.max(nU, nL) * c);
    const list = buf.lists[k - 1]!;
    // ∇_x f = 0; ∇_y f = (1/|ξ|) A_ξᵀ(S − onehot) at every point, one pass.
    for (let j = 0; j < k; j++) {
      const pt = list[j]!;
      const at = points[j]!;
      at.fx.fill(0);
      pt.y = at.y;
      pt.v = null;
      pt.grad = at.fy;
      pt.hvp = null;
      pt.probs = null;
    }
    kernels().softmaxPassRows(list, this.val.features, d, this.rows(upper), nU, this.val.labels, c, 1 / nU, buf.scratch, buf.probsScratch);
    // ∇_y g and ∇²_yy g z (data terms) at every point, one pass; the last point's probabilities fill the cache.
    for (let j = 0; j < k; j++) {
      const pt = list[j]!;
      const at = points[j]!;
      pt.y = at.y;
      pt.v = at.z;
      pt.grad = at.gy;
      pt.hvp = at.hz;
      pt.probs = j === k - 1 ? this.probs : null;
    }
    this.probsCount = -1;
    kernels().softmaxPassRows(list, this.train.features, d, this.rows(lower), nL, this.train.labels, c, 1 / nL, buf.scratch, buf.probsScratch);
    this.remember(points[k - 1]!.y, lower);
    // The regularizer's terms, as gradG, jvp and hvp add them.
    for (const at of points) {
      const w = this.weights(at.x);
      rowScaledAcc(at.gy, 2 * this.regScale, w, at.y, this.c);
      rowDots(at.jz, 2 * this.regScale, w, at.y, at.z, this.c);
      rowScaledAcc(at.hz, 2 * this.regScale, w, at.z, this.c);
    }
  }

  hessian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    hessianByColumns(this, x, y, batch, out);
  }

  jacobian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    jacobianByColumns(this, x, y, batch, out);
  }

  jvp(x: Vec, y: Vec, v: Vec, _batch: Batch, out: Vec): void {
    rowDots(out, 2 * this.regScale, this.weights(x), y, v, this.c);
  }
}

/** Accuracy of argmax(aᵀY) on a data set (allocates one logits block); over `sparse`, its CSR copy, when given. */
export function accuracy(ds: Dataset, y: Vec, sparse: SparseRows | null = null): number {
  if (ds.n === 0) return NaN;
  const logits = new Float64Array(ds.n * ds.classes);
  if (sparse) sparse.logitsRows(logits, ds.n, y, ds.classes);
  else {
    pinTable(ds.features);
    kernels().gatherGemm(logits, ds.features, ds.d, null, ds.n, y, ds.classes, new Float64Array(ds.d * ds.classes));
  }
  return countCorrect(logits, ds.n, ds.classes, ds.labels, null) / ds.n;
}

/** The problem over per-agent train/validation sets and a shared test set. */
export function logregHpoProblem(train: ReadonlyArray<Dataset>, val: ReadonlyArray<Dataset>, test: Dataset | null): BilevelProblem {
  const agents = train.map((t, i) => new LogregHpoOracle(t, val[i]!));
  const first = agents[0]!;
  return {
    type: 'logreg-hpo',
    problemClass: 'global',
    m: agents.length,
    dx: first.dx,
    dy: first.dy,
    agents,
    ...(test ? { testAccuracy: (_x: Vec, y: Vec) => accuracy(test, y) } : {}),
    trainAccuracy: (_x: Vec, y: Vec, agent: number) => agents[agent]!.trainAccuracy(y),
  };
}
