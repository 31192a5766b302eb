/**
 * Data hyper-cleaning with an MLP (class G): SEED-004's second experiment.
 * y = all weights of a ReLU network s → h_1 → … → o (784-300-10: d_y =
 * 238,510); x ∈ R^{N_tr} holds one weight per training sample of all agents
 * (agent i owns the coordinates offset_i … offset_i + n_i − 1; x is global):
 *
 *   g_i(x, y) = (1/|B|) Σ_{e∈B} σ(x_e) ℓ_e(y) + C‖y‖²   (B ⊂ agent i's training samples, labels possibly corrupted)
 *   f_i(x, y) = (1/|B|) Σ_{e∈B} ℓ_e(y)                  (B ⊂ agent i's clean validation samples)
 *
 * with ℓ the softmax cross-entropy and σ the logistic function. Oracles:
 *   ∇_y g: back-propagation with per-sample weights σ(x_e)/|B|, plus 2Cy;
 *   ∇_x g: coordinate e ∈ B gets σ′(x_e) ℓ_e / |B|;   ∇_x f = 0;
 *   HVP:   Pearlmutter's R-operator along v = (dW_j, db_j): an R-forward pass
 *          (R a_1 = s dW_1 + db_1, R h = 1[a > 0] ⊙ R a, R o = R h W + h dW + db)
 *          and an R-backward pass (R∇W = inᵀ R δ + R(in)ᵀ δ, R δh = R δ Wᵀ + δ dWᵀ,
 *          R δ_out = J_p R o weighted per sample), plus 2Cv — never a matrix;
 *   JVP:   coordinate e ∈ B gets σ′(x_e) ⟨∇_y ℓ_e, v⟩ / |B|, the directional
 *          derivative from the same R-forward pass: ⟨p_e − e_label, R o_e⟩.
 * Dense Hessians and Jacobians are refused (`denseMatrices: false`).
 * Batches are processed in chunks of CHUNK rows, so memory does not grow with
 * the full local set.
 */
import type { Dataset } from '../data/dataset.ts';
import { DboError } from '../errors.ts';
import { kernels, pinTable } from '../linalg/kernels.ts';
import { softmaxJacobianApply } from '../linalg/softmax.ts';
import type { Vec } from '../linalg/vector.ts';
import { Rng } from '../random/rng.ts';
import { accumulateLayerGradient, backpropagate, correctRows, LayerRange, layerForward, reluMask, softmaxRows, timesTransposed } from './mlp.ts';
import type { AgentOracle, Batch, BilevelProblem } from './types.ts';

const CHUNK = 128;

function sigmoid(u: number): number {
  return u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u));
}

export interface HyperCleaningOptions {
  readonly hidden: ReadonlyArray<number>;
  /** Weight of C‖y‖². */
  readonly C: number;
}

export class HyperCleaningOracle implements AgentOracle {
  readonly dx: number;
  readonly dy: number;
  readonly upperSamples: number;
  readonly lowerSamples: number;
  readonly sizes: number[];
  readonly layers: LayerRange;
  private readonly L: number;
  private readonly c: number;
  private readonly C: number;
  private readonly rows = new Int32Array(CHUNK);
  private readonly weights = new Float64Array(CHUNK);
  private readonly losses = new Float64Array(CHUNK);
  private readonly acts: Float64Array[];
  private readonly deltas: Float64Array[];
  private readonly racts: Float64Array[];
  private readonly rdeltas: Float64Array[];
  private readonly rtmp: Float64Array;

  constructor(
    readonly train: Dataset,
    readonly val: Dataset,
    /** Index of this agent's first training sample in the global x. */
    readonly offset: number,
    /** Length of the global x (all agents' training samples). */
    totalTrain: number,
    options: HyperCleaningOptions,
  ) {
    // The first layer reads minibatch rows straight from the feature tables: pinned, so that
    // the WebAssembly kernels keep them resident instead of copying them per call.
    pinTable(train.features);
    pinTable(val.features);
    this.c = train.classes;
    this.sizes = [train.d, ...options.hidden, this.c];
    this.L = this.sizes.length - 1;
    this.layers = new LayerRange(this.sizes, 0, this.L);
    this.dy = this.layers.size;
    this.dx = totalTrain;
    this.C = options.C;
    this.upperSamples = val.n;
    this.lowerSamples = train.n;
    const block = () => this.sizes.slice(1).map((w) => new Float64Array(CHUNK * w));
    this.acts = block();
    this.deltas = block();
    this.racts = block();
    this.rdeltas = block();
    this.rtmp = new Float64Array(CHUNK * Math.max(...this.sizes.slice(1)));
  }

  /**
   * Calls `body(start, count)` per chunk of the batch on `ds`, with the chunk's
   * local sample indices in this.rows; returns the batch size.
   */
  private chunks(ds: Dataset, batch: Batch, body: (count: number, n: number) => void): number {
    const n = batch.full ? ds.n : batch.size;
    for (let start = 0; start < n; start += CHUNK) {
      const count = Math.min(CHUNK, n - start);
      for (let r = 0; r < count; r++) this.rows[r] = batch.full ? start + r : batch.indices[start + r]!;
      body(count, n);
    }
    return n;
  }

  /** Forward pass of the chunk; probabilities in acts[L−1], per-row losses in this.losses. */
  private forward(ds: Dataset, y: Vec, count: number): void {
    const p = this.layers.views(y);
    for (let j = 0; j < this.L; j++) {
      const input = j === 0 ? ds.features : this.acts[j - 1]!;
      layerForward(this.acts[j]!, input, this.sizes[j]!, j === 0 ? this.rows : null, count, p[j]!, this.sizes[j + 1]!, j < this.L - 1);
    }
    softmaxRows(this.acts[this.L - 1]!, count, this.c, ds.labels, this.rows, this.losses);
  }

  /** Per-row weights: σ(x_e)/n on the training set (lower level), 1/n on the validation set. */
  private setWeights(x: Vec | null, count: number, n: number): void {
    for (let r = 0; r < count; r++) this.weights[r] = x === null ? 1 / n : sigmoid(x[this.offset + this.rows[r]!]!) / n;
  }

  /** δ_out = w (p − e_label) into deltas[L−1]. */
  private outputDelta(ds: Dataset, count: number): void {
    const c = this.c;
    const p = this.acts[this.L - 1]!;
    const d = this.deltas[this.L - 1]!;
    for (let r = 0; r < count; r++) {
      const w = this.weights[r]!;
      for (let k = 0; k < c; k++) d[r * c + k] = w * p[r * c + k]!;
      d[r * c + ds.labels[this.rows[r]!]!]! -= w;
    }
  }

  private weightedLoss(ds: Dataset, x: Vec | null, y: Vec, batch: Batch): number {
    let s = 0;
    this.chunks(ds, batch, (count, n) => {
      this.forward(ds, y, count);
      this.setWeights(x, count, n);
      for (let r = 0; r < count; r++) s += this.weights[r]! * this.losses[r]!;
    });
    return s;
  }

  private sqNorm(y: Vec): number {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * y[i]!;
    return s;
  }

  f(_x: Vec, y: Vec, batch: Batch): number {
    return this.weightedLoss(this.val, null, y, batch);
  }

  lowerDataLoss(x: Vec, y: Vec, batch: Batch): number {
    return this.weightedLoss(this.train, x, y, batch);
  }

  g(x: Vec, y: Vec, batch: Batch): number {
    return this.weightedLoss(this.train, x, y, batch) + this.C * this.sqNorm(y);
  }

  /** Weighted back-propagation into outY; when outX is given, ∇_x of the weighted loss. */
  private gradient(ds: Dataset, x: Vec | null, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void {
    outY.fill(0);
    if (outX) outX.fill(0);
    const params = this.layers.views(y);
    const grads = this.layers.views(outY);
    this.chunks(ds, batch, (count, n) => {
      this.forward(ds, y, count);
      this.setWeights(x, count, n);
      if (outX && x)
        for (let r = 0; r < count; r++) {
          const e = this.offset + this.rows[r]!;
          const s = sigmoid(x[e]!);
          outX[e]! += (s * (1 - s) * this.losses[r]!) / n;
        }
      this.outputDelta(ds, count);
      backpropagate(this.sizes, params, grads, ds.features, this.rows, count, this.acts, this.deltas, this.L - 1);
    });
  }

  gradF(_x: Vec, y: Vec, batch: Batch, outX: Vec, outY: Vec): void {
    outX.fill(0);
    this.gradient(this.val, null, y, batch, null, outY);
  }

  gradG(x: Vec, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void {
    this.gradient(this.train, x, y, batch, outX, outY);
    for (let i = 0; i < y.length; i++) outY[i]! += 2 * this.C * y[i]!;
  }

  /** R-forward along v: racts[j] = R(output of layer j) for the chunk (needs acts from forward). */
  private rForward(ds: Dataset, y: Vec, v: Vec, count: number): void {
    const p = this.layers.views(y);
    const dv = this.layers.views(v);
    for (let j = 0; j < this.L; j++) {
      const nIn = this.sizes[j]!;
      const nOut = this.sizes[j + 1]!;
      const out = this.racts[j]!;
      // in · dW_j + db_j (then ReLU′ at once on the first layer, which has no R(in) term)
      const hidden = j < this.L - 1;
      layerForward(out, j === 0 ? ds.features : this.acts[j - 1]!, nIn, j === 0 ? this.rows : null, count, dv[j]!, nOut, false, j === 0 && hidden ? this.acts[0]! : null);
      if (j > 0) {
        // + R(in) · W_j
        kernels().gemm(this.rtmp, this.racts[j - 1]!, nIn, null, count, p[j]!.w, nOut);
        for (let i = 0; i < count * nOut; i++) out[i]! += this.rtmp[i]!;
        if (hidden) reluMask(out, this.acts[j]!, count * nOut);
      }
    }
  }

  hvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    const ds = this.train;
    const L = this.L;
    const c = this.c;
    out.fill(0);
    const p = this.layers.views(y);
    const dv = this.layers.views(v);
    const rg = this.layers.views(out);
    this.chunks(ds, batch, (count, n) => {
      this.forward(ds, y, count);
      this.setWeights(x, count, n);
      this.outputDelta(ds, count);
      for (let j = L - 1; j >= 1; j--) {
        timesTransposed(this.deltas[j - 1]!, this.deltas[j]!, count, p[j]!.w, this.sizes[j]!, this.sizes[j + 1]!, this.acts[j - 1]!);
      }
      this.rForward(ds, y, v, count);
      // R δ_out = w J_p R o
      const rd = this.rdeltas[L - 1]!;
      softmaxJacobianApply(rd, this.acts[L - 1]!, this.racts[L - 1]!, count, c);
      for (let r = 0; r < count; r++) {
        const w = this.weights[r]!;
        for (let k = 0; k < c; k++) rd[r * c + k]! *= w;
      }
      for (let j = L - 1; j >= 0; j--) {
        const nIn = this.sizes[j]!;
        const nOut = this.sizes[j + 1]!;
        accumulateLayerGradient(rg[j]!, j === 0 ? ds.features : this.acts[j - 1]!, nIn, j === 0 ? this.rows : null, count, this.rdeltas[j]!, nOut);
        if (j === 0) break;
        kernels().gemmTNAcc(rg[j]!.w, this.racts[j - 1]!, nIn, null, count, this.deltas[j]!, nOut);
        // R δh = (R δ Wᵀ + δ dWᵀ) ⊙ 1[h > 0], masked term by term (the same values: both terms vanish where h ≤ 0)
        timesTransposed(this.rdeltas[j - 1]!, this.rdeltas[j]!, count, p[j]!.w, nIn, nOut, this.acts[j - 1]!);
        timesTransposed(this.rtmp, this.deltas[j]!, count, dv[j]!.w, nIn, nOut, this.acts[j - 1]!);
        const rdh = this.rdeltas[j - 1]!;
        for (let i = 0; i < count * nIn; i++) rdh[i]! += this.rtmp[i]!;
      }
    });
    for (let i = 0; i < v.length; i++) out[i]! += 2 * this.C * v[i]!;
  }

  jvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    const ds = this.train;
    const c = this.c;
    out.fill(0);
    this.chunks(ds, batch, (count, n) => {
      this.forward(ds, y, count);
      this.rForward(ds, y, v, count);
      const prob = this.acts[this.L - 1]!;
      const ro = this.racts[this.L - 1]!;
      for (let r = 0; r < count; r++) {
        let dot = 0;
        for (let k = 0; k < c; k++) dot += prob[r * c + k]! * ro[r * c + k]!;
        dot -= ro[r * c + ds.labels[this.rows[r]!]!]!;
        const e = this.offset + this.rows[r]!;
        const s = sigmoid(x[e]!);
        out[e]! += (s * (1 - s) * dot) / n;
      }
    });
  }

  hessian(): void {
    throw new DboError(`hyper-cleaning: the ${this.dy} × ${this.dy} Hessian ∇²_yy g is never formed (use Hessian-vector products)`);
  }

  jacobian(): void {
    throw new DboError(`hyper-cleaning: the ${this.dx} × ${this.dy} Jacobian ∇²_xy g is never formed (use Jacobian-vector products)`);
  }

  /** Argmax accuracy of the network y on a data set. */
  accuracy(y: Vec, ds: Dataset): number {
    if (ds.n === 0) return NaN;
    pinTable(ds.features);
    let correct = 0;
    const full: Batch = { full: true, size: 0, indices: new Int32Array(0), seed: 0 };
    this.chunks(ds, full, (count) => {
      this.forward(ds, y, count);
      correct += correctRows(this.acts[this.L - 1]!, count, this.c, ds.labels, this.rows[0]!);
    });
    return correct / ds.n;
  }
}

/**
 * Precision and recall of the flag σ(x_e) < 0.5 (x_e < 0) against the
 * corruption mask (1 = corrupted). Precision is NaN when nothing is flagged,
 * recall when nothing is corrupted.
 */
export function cleaningQuality(x: Vec, mask: Uint8Array): { cleaningPrecision: number; cleaningRecall: number } {
  let flagged = 0;
  let hit = 0;
  let corrupted = 0;
  for (let e = 0; e < mask.length; e++) {
    const f = x[e]! < 0;
    if (f) flagged++;
    if (mask[e]) {
      corrupted++;
      if (f) hit++;
    }
  }
  return { cleaningPrecision: flagged ? hit / flagged : NaN, cleaningRecall: corrupted ? hit / corrupted : NaN };
}

/**
 * The hyper-cleaning problem: per-agent training sets (labels as corrupted),
 * clean validation sets, a shared test set, and the corruption mask over the
 * global x (agents' training samples in agent order).
 */
export function hyperCleaningProblem(train: ReadonlyArray<Dataset>, val: ReadonlyArray<Dataset>, test: Dataset | null, mask: Uint8Array, options: HyperCleaningOptions): BilevelProblem {
  const total = train.reduce((s, t) => s + t.n, 0);
  if (mask.length !== total) throw new RangeError(`hyper-cleaning: corruption mask has ${mask.length} entries, expected ${total}`);
  let offset = 0;
  const agents = train.map((t, i) => {
    const o = new HyperCleaningOracle(t, val[i]!, offset, total, options);
    offset += t.n;
    return o;
  });
  const first = agents[0]!;
  return {
    type: 'hyper-cleaning',
    problemClass: 'global',
    m: agents.length,
    dx: total,
    dy: first.dy,
    agents,
    groundTruth: false,
    denseMatrices: false,
    ...(test ? { testAccuracy: (_x: Vec, y: Vec) => first.accuracy(y, test) } : {}),
    extraMetrics: (xBar: Vec) => cleaningQuality(xBar, mask),
    /** On the agent's training samples with their labels as used (corrupted ones included). */
    trainAccuracy: (_x: Vec, y: Vec, agent: number) => agents[agent]!.accuracy(y, agents[agent]!.train),
    initialPoint: (seed: number) => {
      const y = new Float64Array(first.dy);
      first.layers.initialise(y, new Rng(seed, 'hyper-cleaning', 'init'));
      return { x: new Float64Array(total), y };
    },
  };
}
