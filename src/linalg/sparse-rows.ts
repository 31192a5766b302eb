/**
 * A feature table in compressed sparse row (CSR) form, with the fused softmax
 * cross-entropy kernels of src/linalg/fused.ts over its rows. LIBSVM data
 * such as a9a is mostly zeros (a9a: 14 of 123 features per row on average),
 * so a row pass over its nonzeros reads and multiplies a small fraction of
 * what a dense pass does. The results are those of the dense kernels up to
 * rounding (test/linalg/sparse-rows.test.ts: 1e-12 relative): terms with a
 * zero feature contribute exactly 0 to every sum, and the remaining terms are
 * added in the same order of rows.
 *
 * Shapes as in fused.ts: Y, V and outputs are d × c row-major (entry (q, p) at
 * q·c + p); probabilities are count × c; `rows` null means the first `count`
 * rows; the label of selected row b is labels[rows[b]].
 */
import { softmaxRow } from './fused.ts';

/**
 * Tables made one after another (say every agent's, in agent order) are laid
 * out one after another in shared chunks of memory, so that a pass over all
 * agents reads them as one stream rather than from scattered allocations.
 */
class Arena {
  private chunk = new ArrayBuffer(0);
  private used = 0;
  private static readonly CHUNK = 1 << 22;

  private take(bytes: number): [ArrayBuffer, number] {
    const aligned = Math.ceil(bytes / 8) * 8;
    if (this.used + aligned > this.chunk.byteLength) {
      this.chunk = new ArrayBuffer(Math.max(Arena.CHUNK, aligned));
      this.used = 0;
    }
    const at = this.used;
    this.used += aligned;
    return [this.chunk, at];
  }

  int32(n: number): Int32Array {
    const [buf, at] = this.take(4 * n);
    return new Int32Array(buf, at, n);
  }

  float64(n: number): Float64Array {
    const [buf, at] = this.take(8 * n);
    return new Float64Array(buf, at, n);
  }
}

const arena = new Arena();

export class SparseRows {
  private constructor(
    /** Number of rows. */
    readonly n: number,
    /** Number of features (columns). */
    readonly d: number,
    /** Row i's entries are positions rowPtr[i] … rowPtr[i+1]−1 of cols/vals. */
    readonly rowPtr: Int32Array,
    readonly cols: Int32Array,
    readonly vals: Float64Array,
  ) {}

  /** The nonzeros of a dense row-major n × d table. */
  static fromDense(a: Float64Array, n: number, d: number): SparseRows {
    let nnz = 0;
    for (let k = 0; k < n * d; k++) if (a[k] !== 0) nnz++;
    const rowPtr = arena.int32(n + 1);
    const cols = arena.int32(nnz);
    const vals = arena.float64(nnz);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const off = i * d;
      for (let q = 0; q < d; q++) {
        const v = a[off + q]!;
        if (v !== 0) {
          cols[at] = q;
          vals[at++] = v;
        }
      }
      rowPtr[i + 1] = at;
    }
    return new SparseRows(n, d, rowPtr, cols, vals);
  }

  /** Fraction of nonzero entries of a dense n × d table (0 for an empty one). */
  static density(a: Float64Array, n: number, d: number): number {
    if (n * d === 0) return 0;
    let nnz = 0;
    for (let k = 0; k < n * d; k++) if (a[k] !== 0) nnz++;
    return nnz / (n * d);
  }

  /** probs_b ← a_bᵀ Y (logits) for selected row b = rows[b] (or b). */
  private logits(probs: Float64Array, off: number, row: number, y: Float64Array, c: number): void {
    const { rowPtr, cols, vals } = this;
    for (let p = 0; p < c; p++) probs[off + p] = 0;
    const end = rowPtr[row + 1]!;
    if (c === 2) {
      let s0 = 0;
      let s1 = 0;
      for (let k = rowPtr[row]!; k < end; k++) {
        const v = vals[k]!;
        const base = cols[k]! * 2;
        s0 += v * y[base]!;
        s1 += v * y[base + 1]!;
      }
      probs[off] = s0;
      probs[off + 1] = s1;
      return;
    }
    for (let k = rowPtr[row]!; k < end; k++) {
      const v = vals[k]!;
      const base = cols[k]! * c;
      for (let p = 0; p < c; p++) probs[off + p]! += v * y[base + p]!;
    }
  }

  /** out (d × c) ← out + a_row f_rowᵀ, f = scratch[fOff … fOff + c). */
  private accumulate(out: Float64Array, row: number, f: Float64Array, fOff: number, c: number): void {
    const { rowPtr, cols, vals } = this;
    const end = rowPtr[row + 1]!;
    if (c === 2) {
      const f0 = f[fOff]!;
      const f1 = f[fOff + 1]!;
      for (let k = rowPtr[row]!; k < end; k++) {
        const v = vals[k]!;
        const base = cols[k]! * 2;
        out[base]! += f0 * v;
        out[base + 1]! += f1 * v;
      }
      return;
    }
    for (let k = rowPtr[row]!; k < end; k++) {
      const v = vals[k]!;
      const base = cols[k]! * c;
      for (let p = 0; p < c; p++) out[base + p]! += f[fOff + p]! * v;
    }
  }

  /** The first `count` rows' logits a_bᵀ Y into `out` (count × c). */
  logitsRows(out: Float64Array, count: number, y: Float64Array, c: number): void {
    for (let b = 0; b < count; b++) this.logits(out, b * c, b, y, c);
  }

  /** As fused.ts softmaxForwardRows: probs_b ← softmax(a_bᵀ Y); returns Σ_b CE_b. */
  softmaxForwardRows(probs: Float64Array, rows: Int32Array | null, count: number, labels: Int32Array, y: Float64Array, c: number): number {
    let loss = 0;
    for (let b = 0; b < count; b++) {
      const row = rows === null ? b : rows[b]!;
      this.logits(probs, b * c, row, y, c);
      loss += softmaxRow(probs, b * c, c, labels[row]!, true);
    }
    return loss;
  }

  /**
   * As fused.ts softmaxGradientRows: probs_b ← softmax(a_bᵀ Y),
   * out ← scale · Σ_b a_b (probs_b − e_{label_b})ᵀ; returns Σ_b CE_b when
   * `wantLoss` (else 0, and no logarithm is taken). `scratch` holds at least c
   * entries.
   */
  softmaxGradientRows(out: Float64Array, probs: Float64Array, rows: Int32Array | null, count: number, labels: Int32Array, y: Float64Array, c: number, scale: number, scratch: Float64Array, wantLoss = true): number {
    out.fill(0, 0, this.d * c);
    let loss = 0;
    for (let b = 0; b < count; b++) {
      const row = rows === null ? b : rows[b]!;
      const off = b * c;
      this.logits(probs, off, row, y, c);
      const label = labels[row]!;
      loss += softmaxRow(probs, off, c, label, wantLoss);
      for (let p = 0; p < c; p++) {
        const sp = probs[off + p]!;
        scratch[p] = scale * (p === label ? sp - 1 : sp);
      }
      this.accumulate(out, row, scratch, 0, c);
    }
    return loss;
  }

  /**
   * As fused.ts softmaxHvpRows: u_b = a_bᵀ V, r_b = S_b ⊙ (u_b − ⟨S_b, u_b⟩),
   * out ← scale · Σ_b a_b r_bᵀ. `scratch` holds at least 2c entries.
   */
  softmaxHvpRows(out: Float64Array, probs: Float64Array, rows: Int32Array | null, count: number, v: Float64Array, c: number, scale: number, scratch: Float64Array): void {
    out.fill(0, 0, this.d * c);
    for (let b = 0; b < count; b++) {
      const row = rows === null ? b : rows[b]!;
      const off = b * c;
      this.logits(scratch, c, row, v, c);
      let su = 0;
      for (let p = 0; p < c; p++) su += probs[off + p]! * scratch[c + p]!;
      for (let p = 0; p < c; p++) scratch[p] = scale * probs[off + p]! * (scratch[c + p]! - su);
      this.accumulate(out, row, scratch, 0, c);
    }
  }
}
