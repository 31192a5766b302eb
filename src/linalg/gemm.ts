/**
 * The general matrix products of the MLP layers (src/problems/mlp.ts), in
 * plain TypeScript: the reference the WebAssembly SIMD kernels
 * (assembly/kernels.ts: gemm, gemmNT, gemmTNAcc) are tested against
 * (test/linalg/gemm.test.ts, equal to 1e-12 relative) and the kernels of the
 * TypeScript kernel set (DBO_KERNELS=ts). All matrices are row-major
 * Float64Arrays; `rows` selects rows of a table (null: its first `count`
 * rows), so the first layer reads the minibatch straight from the data
 * table. Nothing is transposed in memory and nothing is allocated.
 */

/**
 * out (count × n) ← A[rows] · W, with A row-major of k columns and W k × n;
 * then, in this order, + bias (n entries) on every row, ReLU (v > 0 ? v : 0)
 * when `relu`, and out ⊙ 1[mask > 0] for a count × n `mask` (the ReLU
 * derivative of a layer's outputs).
 */
export function gemm(out: Float64Array, a: Float64Array, k: number, rows: Int32Array | null, count: number, w: Float64Array, n: number, bias: Float64Array | null = null, relu = false, mask: Float64Array | null = null): void {
  out.fill(0, 0, count * n);
  for (let b = 0; b < count; b++) {
    const aOff = (rows === null ? b : rows[b]!) * k;
    const oOff = b * n;
    for (let p = 0; p < k; p++) {
      const f = a[aOff + p]!;
      const wOff = p * n;
      for (let j = 0; j < n; j++) out[oOff + j]! += f * w[wOff + j]!;
    }
  }
  epilogue(out, count, n, bias, relu, mask);
}

/** out (count × k) ← D · Wᵀ, with D count × n and W k × n; then out ⊙ 1[mask > 0] for a count × k `mask`. */
export function gemmNT(out: Float64Array, d: Float64Array, count: number, n: number, w: Float64Array, k: number, mask: Float64Array | null = null): void {
  for (let b = 0; b < count; b++) {
    const dOff = b * n;
    for (let i = 0; i < k; i++) {
      const wOff = i * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += d[dOff + j]! * w[wOff + j]!;
      out[b * k + i] = s;
    }
  }
  epilogue(out, count, k, null, false, mask);
}

/** c (rows × cols) ← c + 1·biasᵀ, then ReLU, then c ⊙ 1[mask > 0]: each only when given. */
function epilogue(c: Float64Array, rows: number, cols: number, bias: Float64Array | null, relu: boolean, mask: Float64Array | null): void {
  if (bias)
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      if (relu)
        for (let j = 0; j < cols; j++) {
          const v = c[off + j]! + bias[j]!;
          c[off + j] = v > 0 ? v : 0;
        }
      else for (let j = 0; j < cols; j++) c[off + j]! += bias[j]!;
    }
  else if (relu) for (let i = 0; i < rows * cols; i++) c[i] = c[i]! > 0 ? c[i]! : 0;
  if (mask) for (let i = 0; i < rows * cols; i++) if (!(mask[i]! > 0)) c[i] = 0;
}

/** G (k × n) += A[rows]ᵀ · D, with A row-major of k columns and D count × n. */
export function gemmTNAcc(g: Float64Array, a: Float64Array, k: number, rows: Int32Array | null, count: number, d: Float64Array, n: number): void {
  // Row i of G stays in cache while the batch streams past it; each entry sums over b in order.
  for (let i = 0; i < k; i++) {
    const gOff = i * n;
    for (let b = 0; b < count; b++) {
      const f = a[(rows === null ? b : rows[b]!) * k + i]!;
      const dOff = b * n;
      for (let j = 0; j < n; j++) g[gOff + j]! += f * d[dOff + j]!;
    }
  }
}
