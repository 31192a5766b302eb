/**
 * Personalized hyperparameter optimization of binary logistic regression with
 * per-feature weights (L-PDBO's experiment, SEED-002 §IV; settings in
 * docs/decisions.md §C). Class P: each agent has its own θ_i; the hyperparameter λ is shared.
 *
 *   f_i(λ, θ) = R_f Σ_{val}   φ(b sᵀθ)
 *   g_i(λ, θ) = R_g Σ_{train} φ(b sᵀθ) + θᵀ diag(e^λ) θ,     φ(u) = log(1 + e^{−u}), b ∈ {±1}
 *
 * `reduction: sum` (the paper's choice: sums, not means) sets R = n/|B| for a
 * minibatch B of a set of n samples, an unbiased estimate of the full sum;
 * `mean` sets R = 1/|B|.
 *
 * Closed forms (derived by hand, checked by finite differences), with m = b sᵀθ and σ the logistic function:
 *   ∇_θ g = −R Σ b s σ(−m) + 2 e^λ ⊙ θ,   ∇_λ g = e^λ ⊙ θ ⊙ θ
 *   HVP   = R Σ σ(m)(1 − σ(m)) s (sᵀv) + 2 e^λ ⊙ v
 *   JVP   = ∇²_λθ g · v = 2 e^λ ⊙ θ ⊙ v
 *   ∇_λ f = 0,  ∇_θ f = −R_f Σ b s σ(−m)
 */
import type { Dataset } from '../data/dataset.ts';
import { gatherGemm, gatherGemmTAcc } from '../linalg/matrix.ts';
import { expInto, hadamard3, hadamardAcc, type Vec } from '../linalg/vector.ts';
import { hessianByColumns, jacobianByColumns } from './matrices.ts';
import type { AgentOracle, Batch, BilevelProblem } from './types.ts';

export type Reduction = 'sum' | 'mean';

function log1pExp(u: number): number {
  return u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u));
}

function sigmoid(u: number): number {
  return u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u));
}

export class BinaryLogregHpoOracle implements AgentOracle {
  readonly dx: number;
  readonly dy: number;
  readonly upperSamples: number;
  readonly lowerSamples: number;
  private readonly margins: Float64Array;
  private readonly weights: Float64Array;
  private readonly scratch: Float64Array;
  private readonly expX: Float64Array;

  constructor(
    readonly train: Dataset,
    readonly val: Dataset,
    readonly reduction: Reduction,
  ) {
    this.dx = train.d;
    this.dy = train.d;
    this.upperSamples = val.n;
    this.lowerSamples = train.n;
    const rows = Math.max(train.n, val.n);
    this.margins = new Float64Array(rows);
    this.weights = new Float64Array(rows);
    this.scratch = new Float64Array(train.d);
    this.expX = new Float64Array(train.d);
  }

  private count(batch: Batch, ds: Dataset): number {
    return batch.full ? ds.n : batch.size;
  }

  private factor(batch: Batch, ds: Dataset): number {
    const n = this.count(batch, ds);
    return this.reduction === 'sum' ? ds.n / n : 1 / n;
  }

  /** margins_b = b sᵀθ for the batch rows; returns the row count. */
  private computeMargins(ds: Dataset, theta: Vec, batch: Batch): number {
    const rows = batch.full ? null : batch.indices;
    const n = this.count(batch, ds);
    gatherGemm(this.margins, ds.features, ds.d, rows, n, theta, 1, this.scratch);
    for (let b = 0; b < n; b++) this.margins[b]! *= 2 * ds.labels[rows === null ? b : rows[b]!]! - 1;
    return n;
  }

  private loss(ds: Dataset, theta: Vec, batch: Batch): number {
    const n = this.computeMargins(ds, theta, batch);
    let s = 0;
    for (let b = 0; b < n; b++) s += log1pExp(-this.margins[b]!);
    return this.factor(batch, ds) * s;
  }

  /** out ← −R Σ b s σ(−m). */
  private lossGradient(ds: Dataset, theta: Vec, batch: Batch, out: Vec): void {
    const rows = batch.full ? null : batch.indices;
    const n = this.computeMargins(ds, theta, batch);
    for (let b = 0; b < n; b++) this.weights[b] = -(2 * ds.labels[rows === null ? b : rows[b]!]! - 1) * sigmoid(-this.margins[b]!);
    out.fill(0);
    gatherGemmTAcc(out, ds.features, ds.d, rows, n, this.weights, 1, this.factor(batch, ds), this.scratch);
  }

  private regularizer(x: Vec, y: Vec): number {
    expInto(this.expX, x);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += this.expX[i]! * y[i]! * y[i]!;
    return s;
  }

  f(_x: Vec, y: Vec, batch: Batch): number {
    return this.loss(this.val, y, batch);
  }

  lowerDataLoss(_x: Vec, y: Vec, batch: Batch): number {
    return this.loss(this.train, y, batch);
  }

  g(x: Vec, y: Vec, batch: Batch): number {
    return this.loss(this.train, y, batch) + this.regularizer(x, y);
  }

  gradF(_x: Vec, y: Vec, batch: Batch, outX: Vec, outY: Vec): void {
    outX.fill(0);
    this.lossGradient(this.val, y, batch, outY);
  }

  gradG(x: Vec, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void {
    this.lossGradient(this.train, y, batch, outY);
    expInto(this.expX, x);
    hadamardAcc(outY, 2, this.expX, y);
    if (outX) hadamard3(outX, 1, this.expX, y, y);
  }

  hvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    const ds = this.train;
    const rows = batch.full ? null : batch.indices;
    const n = this.computeMargins(ds, y, batch);
    gatherGemm(this.weights, ds.features, ds.d, rows, n, v, 1, this.scratch);
    for (let b = 0; b < n; b++) {
      const s = sigmoid(this.margins[b]!);
      this.weights[b]! *= s * (1 - s);
    }
    out.fill(0);
    gatherGemmTAcc(out, ds.features, ds.d, rows, n, this.weights, 1, this.factor(batch, ds), this.scratch);
    expInto(this.expX, x);
    hadamardAcc(out, 2, this.expX, v);
  }

  jvp(x: Vec, y: Vec, v: Vec, _batch: Batch, out: Vec): void {
    expInto(this.expX, x);
    hadamard3(out, 2, this.expX, y, v);
  }

  hessian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    hessianByColumns(this, x, y, batch, out);
  }

  jacobian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    jacobianByColumns(this, x, y, batch, out);
  }
}

/** Accuracy of sign(sᵀθ) on a binary data set (labels 0/1 ↔ b = ∓1). */
export function binaryAccuracy(ds: Dataset, theta: Vec): number {
  const logits = new Float64Array(ds.n);
  gatherGemm(logits, ds.features, ds.d, null, ds.n, theta, 1, new Float64Array(ds.d));
  let correct = 0;
  for (let i = 0; i < ds.n; i++) if ((logits[i]! > 0 ? 1 : 0) === ds.labels[i]) correct++;
  return correct / ds.n;
}

export function binaryLogregHpoProblem(train: ReadonlyArray<Dataset>, val: ReadonlyArray<Dataset>, test: Dataset | null, reduction: Reduction): BilevelProblem {
  const agents = train.map((t, i) => new BinaryLogregHpoOracle(t, val[i]!, reduction));
  return {
    type: 'binary-logreg-hpo',
    problemClass: 'personalized',
    m: agents.length,
    dx: agents[0]!.dx,
    dy: agents[0]!.dy,
    agents,
    ...(test ? { testAccuracy: (_x: Vec, y: Vec) => binaryAccuracy(test, y) } : {}),
    trainAccuracy: (_x: Vec, y: Vec, agent: number) => binaryAccuracy(train[agent]!, y),
  };
}
