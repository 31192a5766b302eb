/**
 * A fully connected ReLU network s → h_1 → … → h_{L−1} → o (logits) with
 * softmax cross-entropy, over Float64Array parameters, and the building blocks
 * of its hand-written derivatives (forward pass, back-propagation with
 * per-sample weights). Shared by the meta-learning and hyper-cleaning problems.
 *
 * Parameter layout. Layer j (0-based) maps n_j inputs to n_{j+1} outputs and
 * stores W_j as an n_j × n_{j+1} row-major block (input-major, so a layer is
 * `out = in · W + b` over row-major batches), followed by its bias b_j
 * (n_{j+1}). A parameter vector holds a contiguous range of layers in order.
 *
 * All products go through the GEMM kernels of the active kernel set
 * (`kernels()` of src/linalg/kernels.ts: the WebAssembly SIMD kernels, or the
 * TypeScript reference of src/linalg/gemm.ts): `gemm` for `in · W` (the
 * first layer reads the selected rows of the data table directly), `gemmNT`
 * for `δ · Wᵀ` (W is never transposed in memory) and `gemmTNAcc` for the
 * weight gradients `inᵀ δ`. Nothing is allocated per call: views of
 * parameter vectors are cached per vector object.
 */
import { kernels } from '../linalg/kernels.ts';
import type { Vec } from '../linalg/vector.ts';
import type { Rng } from '../random/rng.ts';

export interface LayerParams {
  /** n_in × n_out, row-major. */
  readonly w: Float64Array;
  /** n_out. */
  readonly b: Float64Array;
}

/** Sizes and offsets of a range of layers [first, last) of an MLP with layer widths `sizes`. */
export class LayerRange {
  readonly count: number;
  /** Parameters in the range. */
  readonly size: number;
  private readonly offsets: number[] = [];
  /** Views of the last few vectors seen (state vectors, outputs), most recent first. */
  private readonly seen: Vec[] = [];
  private readonly seenViews: LayerParams[][] = [];

  constructor(
    readonly sizes: ReadonlyArray<number>,
    readonly first: number,
    readonly last: number,
  ) {
    this.count = last - first;
    let off = 0;
    for (let j = first; j < last; j++) {
      this.offsets.push(off);
      off += sizes[j]! * sizes[j + 1]! + sizes[j + 1]!;
    }
    this.size = off;
  }

  /** Views of each layer's W and b inside `vec` (cached for the last 6 vectors seen). */
  views(vec: Vec): LayerParams[] {
    for (let k = 0; k < this.seen.length; k++) if (this.seen[k] === vec) return this.seenViews[k]!;
    const views: LayerParams[] = [];
    for (let k = 0; k < this.count; k++) {
      const j = this.first + k;
      const nIn = this.sizes[j]!;
      const nOut = this.sizes[j + 1]!;
      const o = this.offsets[k]!;
      views.push({ w: vec.subarray(o, o + nIn * nOut), b: vec.subarray(o + nIn * nOut, o + nIn * nOut + nOut) });
    }
    this.seen.unshift(vec);
    this.seenViews.unshift(views);
    if (this.seen.length > 6) {
      this.seen.pop();
      this.seenViews.pop();
    }
    return views;
  }

  /**
   * PyTorch's default initialisation of nn.Linear: every weight and bias of a
   * layer with fan-in n_in drawn from U(−1/√n_in, 1/√n_in).
   */
  initialise(out: Vec, rng: Rng): void {
    const views = this.views(out);
    for (let k = 0; k < this.count; k++) {
      const bound = 1 / Math.sqrt(this.sizes[this.first + k]!);
      const { w, b } = views[k]!;
      for (let i = 0; i < w.length; i++) w[i] = bound * (2 * rng.uniform() - 1);
      for (let i = 0; i < b.length; i++) b[i] = bound * (2 * rng.uniform() - 1);
    }
  }
}

/** out (count × nOut) ← in[rows] · W + b, then ReLU when `relu`; then ⊙ 1[mask > 0] when a mask (count × nOut) is given. `rows` null: the first `count` rows of `input`. */
export function layerForward(out: Float64Array, input: Float64Array, nIn: number, rows: Int32Array | null, count: number, p: LayerParams, nOut: number, relu: boolean, mask: Float64Array | null = null): void {
  kernels().gemm(out, input, nIn, rows, count, p.w, nOut, p.b, relu, mask);
}

/** out (count × nIn) ← d (count × nOut) · Wᵀ, for W stored nIn × nOut; then ⊙ 1[mask > 0] (ReLU′ of the layer below) when a mask (count × nIn) is given. */
export function timesTransposed(out: Float64Array, d: Float64Array, count: number, w: Float64Array, nIn: number, nOut: number, mask: Float64Array | null = null): void {
  kernels().gemmNT(out, d, count, nOut, w, nIn, mask);
}

/** Keeps entries of `d` where the ReLU output `h` is positive (ReLU′ = 1[a > 0] = 1[h > 0]). */
export function reluMask(d: Float64Array, h: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) if (!(h[i]! > 0)) d[i] = 0;
}

/** grad.W += inᵀ δ (in = input rows), grad.b += column sums of δ (count × nOut). */
export function accumulateLayerGradient(grad: LayerParams, input: Float64Array, nIn: number, rows: Int32Array | null, count: number, delta: Float64Array, nOut: number): void {
  kernels().gemmTNAcc(grad.w, input, nIn, rows, count, delta, nOut);
  const gb = grad.b;
  for (let r = 0; r < count; r++) {
    const off = r * nOut;
    for (let k = 0; k < nOut; k++) gb[k]! += delta[off + k]!;
  }
}

/**
 * Back-propagation through layers j = top … 0 of `params` (a range starting
 * at the data layer). `acts[j]` is layer j's output for the batch (ReLU
 * outputs for hidden layers); `deltas[top]` holds ∂L/∂(pre-activation of
 * layer top) on entry. Accumulates into `grads` and overwrites deltas[0..top−1].
 */
export function backpropagate(
  sizes: ReadonlyArray<number>,
  params: ReadonlyArray<LayerParams>,
  grads: ReadonlyArray<LayerParams>,
  table: Float64Array,
  rows: Int32Array | null,
  count: number,
  acts: ReadonlyArray<Float64Array>,
  deltas: ReadonlyArray<Float64Array>,
  top: number,
): void {
  for (let j = top; j >= 0; j--) {
    const nIn = sizes[j]!;
    const nOut = sizes[j + 1]!;
    if (j === 0) accumulateLayerGradient(grads[0]!, table, nIn, rows, count, deltas[0]!, nOut);
    else {
      accumulateLayerGradient(grads[j]!, acts[j - 1]!, nIn, null, count, deltas[j]!, nOut);
      // δ_{j−1} = (δ_j W_jᵀ) ⊙ 1[h_{j−1} > 0]
      timesTransposed(deltas[j - 1]!, deltas[j]!, count, params[j]!.w, nIn, nOut, acts[j - 1]!);
    }
  }
}

/**
 * Logits (count × c) → softmax probabilities in place; per-row cross-entropy
 * −log p_label into `losses` (log-sum-exp form, exact when p underflows).
 * The label of row r is labels[rows[r]] (labels[r] when rows is null).
 */
export function softmaxRows(logits: Float64Array, count: number, c: number, labels: Int32Array, rows: Int32Array | null, losses: Float64Array): void {
  for (let r = 0; r < count; r++) {
    const off = r * c;
    let max = -Infinity;
    for (let k = 0; k < c; k++) if (logits[off + k]! > max) max = logits[off + k]!;
    const label = labels[rows === null ? r : rows[r]!]!;
    const gap = logits[off + label]! - max;
    let sum = 0;
    for (let k = 0; k < c; k++) {
      const e = Math.exp(logits[off + k]! - max);
      logits[off + k] = e;
      sum += e;
    }
    losses[r] = Math.log(sum) - gap;
    const inv = 1 / sum;
    for (let k = 0; k < c; k++) logits[off + k]! *= inv;
  }
}

/** Argmax accuracy counts of logits against labels. */
export function correctRows(logits: Float64Array, count: number, c: number, labels: Int32Array, start: number): number {
  let correct = 0;
  for (let r = 0; r < count; r++) {
    const off = r * c;
    let best = 0;
    for (let k = 1; k < c; k++) if (logits[off + k]! > logits[off + best]!) best = k;
    if (best === labels[start + r]) correct++;
  }
  return correct;
}
