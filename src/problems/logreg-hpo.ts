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
import { gatherGemm, gatherGemmTAcc } from '../linalg/matrix.ts';
import { countCorrect, softmaxCrossEntropyInPlace, softmaxJacobianApply, subtractOneHot } from '../linalg/softmax.ts';
import { expInto, rowDots, rowScaledAcc, type Vec } from '../linalg/vector.ts';
import { hessianByColumns, jacobianByColumns } from './matrices.ts';
import type { AgentOracle, Batch, BilevelProblem } from './types.ts';

export class LogregHpoOracle implements AgentOracle {
  readonly dx: number;
  readonly dy: number;
  readonly upperSamples: number;
  readonly lowerSamples: number;
  private readonly d: number;
  private readonly c: number;
  private readonly regScale: number;
  /** Logits/probabilities workspace, large enough for a full batch of either level. */
  private readonly s: Float64Array;
  private readonly u: Float64Array;
  /**
   * Full-batch training probabilities S = softmax(A Y) at `cachedY`, reused by
   * consecutive full-batch HVPs at the same Y (as in the evaluators' CG solves).
   */
  private readonly trainProbs: Float64Array;
  private readonly cachedY: Float64Array;
  private cacheValid = false;
  /** e^x and a per-feature scratch vector. */
  private readonly expX: Float64Array;
  private readonly rowTmp: Float64Array;
  /** Transposed-parameter scratch for the gathered products (c × d). */
  private readonly scratch: Float64Array;

  constructor(
    readonly train: Dataset,
    readonly val: Dataset,
  ) {
    this.d = train.d;
    this.c = train.classes;
    this.dx = this.d;
    this.dy = this.d * this.c;
    this.upperSamples = val.n;
    this.lowerSamples = train.n;
    this.regScale = 1 / (this.c * this.d);
    const rows = Math.max(train.n, val.n);
    this.s = new Float64Array(rows * this.c);
    this.u = new Float64Array(rows * this.c);
    this.scratch = new Float64Array(this.dy);
    this.trainProbs = new Float64Array(train.n * this.c);
    this.cachedY = new Float64Array(this.dy);
    this.expX = new Float64Array(this.d);
    this.rowTmp = new Float64Array(this.d);
  }

  /** Probabilities of the training rows selected by `batch` at Y (cached for the full batch). */
  private trainProbabilities(y: Vec, batch: Batch): Float64Array {
    if (!batch.full) {
      this.crossEntropySum(this.train, y, batch);
      return this.s;
    }
    if (this.cacheValid) {
      let same = true;
      for (let k = 0; k < y.length; k++)
        if (y[k] !== this.cachedY[k]) {
          same = false;
          break;
        }
      if (same) return this.trainProbs;
    }
    gatherGemm(this.trainProbs, this.train.features, this.d, null, this.train.n, y, this.c, this.scratch);
    softmaxCrossEntropyInPlace(this.trainProbs, this.train.n, this.c, this.train.labels, null);
    this.cachedY.set(y);
    this.cacheValid = true;
    return this.trainProbs;
  }

  private rows(batch: Batch): Int32Array | null {
    return batch.full ? null : batch.indices;
  }

  private count(batch: Batch, ds: Dataset): number {
    return batch.full ? ds.n : batch.size;
  }

  /** Σ_batch CE at Y on `ds`, leaving probabilities in this.s. */
  private crossEntropySum(ds: Dataset, y: Vec, batch: Batch): number {
    const rows = this.rows(batch);
    const n = this.count(batch, ds);
    gatherGemm(this.s, ds.features, this.d, rows, n, y, this.c, this.scratch);
    return softmaxCrossEntropyInPlace(this.s, n, this.c, ds.labels, rows);
  }

  /** e^x into this.expX (the regularizer's per-feature weights). */
  private weights(x: Vec): Vec {
    expInto(this.expX, x);
    return this.expX;
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

  /** out ← (1/B) A_Bᵀ(S − onehot) on `ds` at Y. */
  private dataGradient(ds: Dataset, y: Vec, batch: Batch, out: Vec): void {
    const rows = this.rows(batch);
    const n = this.count(batch, ds);
    this.crossEntropySum(ds, y, batch);
    subtractOneHot(this.s, n, this.c, ds.labels, rows);
    out.fill(0);
    gatherGemmTAcc(out, ds.features, this.d, rows, n, this.s, this.c, 1 / n, this.scratch);
  }

  gradF(_x: Vec, y: Vec, batch: Batch, outX: Vec, outY: Vec): void {
    outX.fill(0);
    this.dataGradient(this.val, y, batch, outY);
  }

  gradG(x: Vec, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void {
    this.dataGradient(this.train, y, batch, outY);
    const w = this.weights(x);
    rowScaledAcc(outY, 2 * this.regScale, w, y, this.c);
    if (outX) rowDots(outX, this.regScale, w, y, y, this.c);
  }

  hvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    const ds = this.train;
    const rows = this.rows(batch);
    const n = this.count(batch, ds);
    const c = this.c;
    const probs = this.trainProbabilities(y, batch);
    gatherGemm(this.u, ds.features, this.d, rows, n, v, c, this.scratch);
    softmaxJacobianApply(this.u, probs, this.u, n, c);
    out.fill(0);
    gatherGemmTAcc(out, ds.features, this.d, rows, n, this.u, c, 1 / n, this.scratch);
    rowScaledAcc(out, 2 * this.regScale, this.weights(x), v, c);
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

/** Accuracy of argmax(aᵀY) on a data set (allocates one logits block). */
export function accuracy(ds: Dataset, y: Vec): number {
  if (ds.n === 0) return NaN;
  const logits = new Float64Array(ds.n * ds.classes);
  gatherGemm(logits, ds.features, ds.d, null, ds.n, y, ds.classes, new Float64Array(ds.d * ds.classes));
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
    trainAccuracy: (_x: Vec, y: Vec, agent: number) => accuracy(train[agent]!, y),
  };
}
