/**
 * Multi-agent meta-learning with an MLP (class P): SEED-001's and SEED-003's
 * experiments. Per agent i, an upper-level set F_i and a lower-level set G_i
 * (the same samples, or a disjoint split). The network s → h_1 → … → h_k → o
 * has ReLU hidden layers (x: shared) and a linear head o = h_k V + c (y_i:
 * personal, V stored k-width × classes, then c):
 *
 *   f_i(x, y) = mean_{F_i} ℓ,   g_i(x, y) = mean_{G_i} ℓ + (μ/2)(‖V‖² + ‖c‖²),   ℓ = −log softmax(o)_label.
 *
 * Oracles (means over the batch B, δo = p − e_label, docs/algorithms.md):
 *   ∇_y:  ∇_V = hᵀ δo / |B|, ∇_c = mean δo (+ μV, μc for g);
 *   ∇_x:  back-propagation of δh = δo Vᵀ through the ReLU layers;
 *   HVP:  r = h U + u, Jr = p ⊙ r − p (pᵀ r); HVP_V = hᵀ Jr / |B| + μU, HVP_c = mean Jr + μu;
 *   JVP:  ∇²_xy g · (U, u) = ∇_x mean[δoᵀ r]: back-propagation of
 *         g_h = δo Uᵀ + (J_p r) Vᵀ per sample through the ReLU layers (ReLU″ = 0).
 *
 * Feature caching: the hidden activations of a batch at a given x are kept
 * (a few slots per agent, keyed by the exact x, the level and the batch), so
 * every y-oracle at a fixed x costs O(|B| · d_y) after the first call — what
 * makes INTERACT's lower-level solves and the ground-truth Newton-CG cheap.
 *
 * Initialisation (problemInit): PyTorch's default U(±1/√fan_in) for every
 * weight and bias of x, y⁰ = 0, identical on all agents, from the run seed.
 */
import type { Dataset } from '../data/dataset.ts';
import { kernels, pinTable } from '../linalg/kernels.ts';
import { softmaxJacobianApply } from '../linalg/softmax.ts';
import type { Vec } from '../linalg/vector.ts';
import { Rng } from '../random/rng.ts';
import { hessianByColumns, jacobianByColumns } from './matrices.ts';
import { backpropagate, correctRows, LayerRange, layerForward, reluMask, softmaxRows, timesTransposed, type LayerParams } from './mlp.ts';
import type { AgentOracle, Batch, BilevelProblem } from './types.ts';

const SLOTS = 4;

interface FeatureSlot {
  valid: boolean;
  level: 0 | 1;
  full: boolean;
  size: number;
  readonly x: Float64Array;
  readonly indices: Int32Array;
  /** Hidden ReLU outputs, one block (rows × width) per hidden layer. */
  readonly acts: Float64Array[];
  stamp: number;
}

export interface MlpMetaOptions {
  /** Hidden layer widths, e.g. [20, 20]. */
  readonly hidden: ReadonlyArray<number>;
  /** Strong-convexity weight μ of the head regularizer. */
  readonly mu: number;
}

export class MlpMetaOracle implements AgentOracle {
  readonly dx: number;
  readonly dy: number;
  readonly upperSamples: number;
  readonly lowerSamples: number;
  readonly sizes: number[];
  readonly xLayers: LayerRange;
  private readonly headLayer: LayerRange;
  private readonly k: number;
  private readonly c: number;
  private readonly width: number;
  private readonly mu: number;
  private readonly slots: FeatureSlot[];
  private clock = 0;
  /** Forward passes through the hidden layers so far (cache misses); for tests of the cache. */
  featurePasses = 0;
  private readonly logits: Float64Array;
  private readonly losses: Float64Array;
  private readonly r: Float64Array;
  private readonly gh: Float64Array;
  private readonly ghTmp: Float64Array;
  private readonly deltas: Float64Array[];

  constructor(
    readonly upper: Dataset,
    readonly lower: Dataset,
    options: MlpMetaOptions,
  ) {
    const d = upper.d;
    // The first layer reads minibatch rows straight from the feature tables: pinned, so that
    // the WebAssembly kernels keep them resident instead of copying them per call.
    pinTable(upper.features);
    pinTable(lower.features);
    this.c = upper.classes;
    this.sizes = [d, ...options.hidden, this.c];
    this.k = options.hidden.length;
    this.width = options.hidden[this.k - 1]!;
    this.mu = options.mu;
    this.xLayers = new LayerRange(this.sizes, 0, this.k);
    this.headLayer = new LayerRange(this.sizes, this.k, this.k + 1);
    this.dx = this.xLayers.size;
    this.dy = this.width * this.c + this.c;
    this.upperSamples = upper.n;
    this.lowerSamples = lower.n;
    const rows = Math.max(upper.n, lower.n);
    this.slots = Array.from({ length: SLOTS }, () => ({
      valid: false,
      level: 0 as 0 | 1,
      full: false,
      size: 0,
      x: new Float64Array(this.dx),
      indices: new Int32Array(rows),
      acts: options.hidden.map((h) => new Float64Array(rows * h)),
      stamp: 0,
    }));
    this.logits = new Float64Array(rows * this.c);
    this.losses = new Float64Array(rows);
    this.r = new Float64Array(rows * this.c);
    this.gh = new Float64Array(rows * this.width);
    this.ghTmp = new Float64Array(rows * this.width);
    this.deltas = options.hidden.map((h) => new Float64Array(rows * h));
  }

  private data(level: 0 | 1): Dataset {
    return level === 0 ? this.upper : this.lower;
  }

  private static count(batch: Batch, ds: Dataset): number {
    return batch.full ? ds.n : batch.size;
  }

  /** The hidden activations of `batch` at x on a level (0 = F, 1 = G), from the cache or computed. */
  private features(x: Vec, level: 0 | 1, batch: Batch): FeatureSlot {
    const n = MlpMetaOracle.count(batch, this.data(level));
    let victim = this.slots[0]!;
    for (const s of this.slots) {
      if (s.valid && s.level === level && s.full === batch.full && s.size === n && sameBatch(s, batch, n) && sameVector(s.x, x)) {
        s.stamp = ++this.clock;
        return s;
      }
      if (!s.valid || s.stamp < victim.stamp) victim = s;
    }
    const s = victim;
    this.featurePasses++;
    const ds = this.data(level);
    const rows = batch.full ? null : batch.indices;
    const params = this.xLayers.views(x);
    for (let j = 0; j < this.k; j++) {
      if (j === 0) layerForward(s.acts[0]!, ds.features, this.sizes[0]!, rows, n, params[0]!, this.sizes[1]!, true);
      else layerForward(s.acts[j]!, s.acts[j - 1]!, this.sizes[j]!, null, n, params[j]!, this.sizes[j + 1]!, true);
    }
    s.valid = true;
    s.level = level;
    s.full = batch.full;
    s.size = n;
    s.x.set(x);
    if (!batch.full) s.indices.set(batch.indices.subarray(0, n));
    s.stamp = ++this.clock;
    return s;
  }

  /** Head logits → probabilities in this.logits and per-row losses; returns the row count. */
  private head(s: FeatureSlot, y: Vec, batch: Batch): number {
    const n = s.size;
    const top = s.acts[this.k - 1]!;
    layerForward(this.logits, top, this.width, null, n, this.headLayer.views(y)[0]!, this.c, false);
    softmaxRows(this.logits, n, this.c, this.data(s.level).labels, batch.full ? null : batch.indices, this.losses);
    return n;
  }

  private meanLoss(x: Vec, y: Vec, level: 0 | 1, batch: Batch): number {
    const n = this.head(this.features(x, level, batch), y, batch);
    let s = 0;
    for (let r = 0; r < n; r++) s += this.losses[r]!;
    return s / n;
  }

  private regularizer(y: Vec): number {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * y[i]!;
    return 0.5 * this.mu * s;
  }

  f(x: Vec, y: Vec, batch: Batch): number {
    return this.meanLoss(x, y, 0, batch);
  }

  lowerDataLoss(x: Vec, y: Vec, batch: Batch): number {
    return this.meanLoss(x, y, 1, batch);
  }

  g(x: Vec, y: Vec, batch: Batch): number {
    return this.meanLoss(x, y, 1, batch) + this.regularizer(y);
  }

  /** out (d_y) ← [topᵀ R / n ; colsum(R) / n] for a count × c block R. */
  private headProduct(out: Vec, top: Float64Array, n: number, rblock: Float64Array): void {
    out.fill(0);
    const wc = this.width * this.c;
    kernels().gemmTNAcc(out, top, this.width, null, n, rblock, this.c);
    for (let r = 0; r < n; r++) for (let p = 0; p < this.c; p++) out[wc + p]! += rblock[r * this.c + p]!;
    const inv = 1 / n;
    for (let i = 0; i < wc + this.c; i++) out[i]! *= inv;
  }

  /** δo = (p − e)/… in this.logits (probabilities − one-hot). */
  private subtractLabels(level: 0 | 1, batch: Batch, n: number): void {
    const labels = this.data(level).labels;
    for (let r = 0; r < n; r++) this.logits[r * this.c + labels[batch.full ? r : batch.indices[r]!]!]! -= 1;
  }

  /** ∇_x of (1/n) Σ_rows ⟨gh_row, h_k,row⟩-type terms: back-propagates gh (∂/∂h_k per row, unscaled) into outX. */
  private backToX(s: FeatureSlot, x: Vec, batch: Batch, gh: Float64Array, outX: Vec): void {
    const n = s.size;
    const top = this.deltas[this.k - 1]!;
    const inv = 1 / n;
    for (let i = 0; i < n * this.width; i++) top[i] = gh[i]! * inv;
    reluMask(top, s.acts[this.k - 1]!, n * this.width);
    outX.fill(0);
    backpropagate(this.sizes, this.xLayers.views(x), this.xLayers.views(outX), this.data(s.level).features, batch.full ? null : batch.indices, n, s.acts, this.deltas, this.k - 1);
  }

  private gradient(x: Vec, y: Vec, level: 0 | 1, batch: Batch, outX: Vec | null, outY: Vec): void {
    const s = this.features(x, level, batch);
    const n = this.head(s, y, batch);
    this.subtractLabels(level, batch, n);
    const top = s.acts[this.k - 1]!;
    this.headProduct(outY, top, n, this.logits);
    if (outX) {
      // δh = δo Vᵀ
      timesTransposed(this.gh, this.logits, n, this.headLayer.views(y)[0]!.w, this.width, this.c);
      this.backToX(s, x, batch, this.gh, outX);
    }
  }

  gradF(x: Vec, y: Vec, batch: Batch, outX: Vec, outY: Vec): void {
    this.gradient(x, y, 0, batch, outX, outY);
  }

  gradG(x: Vec, y: Vec, batch: Batch, outX: Vec | null, outY: Vec): void {
    this.gradient(x, y, 1, batch, outX, outY);
    for (let i = 0; i < y.length; i++) outY[i]! += this.mu * y[i]!;
  }

  /** r = h U + u into this.r, then J_p r in place (this.logits holds p). */
  private jacobianDirection(top: Float64Array, n: number, v: Vec): void {
    layerForward(this.r, top, this.width, null, n, this.headLayer.views(v)[0]!, this.c, false);
    softmaxJacobianApply(this.r, this.logits, this.r, n, this.c);
  }

  hvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    const s = this.features(x, 1, batch);
    const n = this.head(s, y, batch);
    const top = s.acts[this.k - 1]!;
    this.jacobianDirection(top, n, v);
    this.headProduct(out, top, n, this.r);
    for (let i = 0; i < v.length; i++) out[i]! += this.mu * v[i]!;
  }

  jvp(x: Vec, y: Vec, v: Vec, batch: Batch, out: Vec): void {
    const s = this.features(x, 1, batch);
    const n = this.head(s, y, batch);
    const top = s.acts[this.k - 1]!;
    this.jacobianDirection(top, n, v);
    this.subtractLabels(1, batch, n);
    // g_h = δo Uᵀ + (J_p r) Vᵀ
    timesTransposed(this.gh, this.logits, n, this.headLayer.views(v)[0]!.w, this.width, this.c);
    timesTransposed(this.ghTmp, this.r, n, this.headLayer.views(y)[0]!.w, this.width, this.c);
    for (let i = 0; i < n * this.width; i++) this.gh[i]! += this.ghTmp[i]!;
    this.backToX(s, x, batch, this.gh, out);
  }

  hessian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    hessianByColumns(this, x, y, batch, out);
  }

  jacobian(x: Vec, y: Vec, batch: Batch, out: Vec): void {
    jacobianByColumns(this, x, y, batch, out);
  }

  /** Accuracy of the head y at x on a data set (allocates; for evaluations). */
  accuracy(x: Vec, y: Vec, ds: Dataset): number {
    if (ds.n === 0) return NaN;
    pinTable(ds.features);
    const params = this.xLayers.views(x);
    const chunk = 1000;
    const acts = this.sizes.slice(1, this.k + 1).map((h) => new Float64Array(chunk * h));
    const logits = new Float64Array(chunk * this.c);
    const wc = this.width * this.c;
    const head: LayerParams = { w: y.subarray(0, wc), b: y.subarray(wc) };
    const rows = new Int32Array(chunk);
    let correct = 0;
    for (let start = 0; start < ds.n; start += chunk) {
      const n = Math.min(chunk, ds.n - start);
      for (let r = 0; r < n; r++) rows[r] = start + r;
      for (let j = 0; j < this.k; j++) {
        if (j === 0) layerForward(acts[0]!, ds.features, this.sizes[0]!, rows, n, params[0]!, this.sizes[1]!, true);
        else layerForward(acts[j]!, acts[j - 1]!, this.sizes[j]!, null, n, params[j]!, this.sizes[j + 1]!, true);
      }
      layerForward(logits, acts[this.k - 1]!, this.width, null, n, head, this.c, false);
      correct += correctRows(logits, n, this.c, ds.labels, start);
    }
    return correct / ds.n;
  }
}

function sameVector(a: Float64Array, b: Vec): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameBatch(s: FeatureSlot, batch: Batch, n: number): boolean {
  if (batch.full) return true;
  const idx = batch.indices;
  for (let i = 0; i < n; i++) if (s.indices[i] !== idx[i]) return false;
  return true;
}

/** The meta-learning problem over per-agent (F_i, G_i) and a shared test set. */
export function mlpMetaProblem(upper: ReadonlyArray<Dataset>, lower: ReadonlyArray<Dataset>, test: Dataset | null, options: MlpMetaOptions): BilevelProblem {
  const agents = upper.map((u, i) => new MlpMetaOracle(u, lower[i]!, options));
  const first = agents[0]!;
  return {
    type: 'mlp-meta',
    problemClass: 'personalized',
    m: agents.length,
    dx: first.dx,
    dy: first.dy,
    agents,
    ...(test ? { testAccuracy: (x: Vec, y: Vec) => first.accuracy(x, y, test) } : {}),
    trainAccuracy: (x: Vec, y: Vec, agent: number) => agents[agent]!.accuracy(x, y, agents[agent]!.lower),
    initialPoint: (seed: number) => {
      const x = new Float64Array(first.dx);
      first.xLayers.initialise(x, new Rng(seed, 'mlp-meta', 'init'));
      return { x, y: new Float64Array(first.dy) };
    },
  };
}
