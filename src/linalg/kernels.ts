/**
 * The kernel set that problems call for their per-row work (gathered
 * products and fused softmax cross-entropy passes). `kernels()` returns the
 * active set: the WebAssembly SIMD kernels (src/linalg/wasm/) where the
 * runtime supports them, else the plain TypeScript set, which is the
 * reference every other set is tested against. The environment variable
 * DBO_KERNELS=ts|wasm chooses explicitly.
 */
import { softmaxForwardRows, softmaxGradientRows, softmaxHvpRows, softmaxPassRows } from './fused.ts';
import { gemm, gemmNT, gemmTNAcc } from './gemm.ts';
import { gatherGemm, gatherGemmTAcc, gemv } from './matrix.ts';
import { wasmKernels } from './wasm/index.ts';

// Pinning lives in its own module so that the WebAssembly set can read it without importing this one (whose initialisation calls into it).
export { isPinned, pinTable } from './pinned.ts';

export interface RowKernels {
  /** 'ts' (plain TypeScript reference) or 'wasm' (WebAssembly SIMD). */
  readonly name: string;
  readonly gatherGemm: typeof gatherGemm;
  readonly gatherGemmTAcc: typeof gatherGemmTAcc;
  readonly softmaxForwardRows: typeof softmaxForwardRows;
  readonly softmaxGradientRows: typeof softmaxGradientRows;
  readonly softmaxHvpRows: typeof softmaxHvpRows;
  /** Gradient (and HVP) passes at up to two parameter matrices over the same rows, bit-identical to the separate passes. */
  readonly softmaxPassRows: typeof softmaxPassRows;
  /** out ← A x for a row-major rows × cols matrix (entries in `a`). */
  readonly gemv: (out: Float64Array, a: Float64Array, rows: number, cols: number, x: Float64Array) => void;
  /** out (count × n) ← A[rows] · W (A row-major with k columns, W k × n), then + bias, ReLU, ⊙ 1[mask > 0] where given: the MLP layers' products (src/linalg/gemm.ts). */
  readonly gemm: typeof gemm;
  /** out (count × k) ← D · Wᵀ (D count × n, W k × n), then ⊙ 1[mask > 0] where given. */
  readonly gemmNT: typeof gemmNT;
  /** G (k × n) += A[rows]ᵀ · D (A row-major with k columns, D count × n). */
  readonly gemmTNAcc: typeof gemmTNAcc;
}

export const tsKernels: RowKernels = {
  name: 'ts',
  gatherGemm,
  gatherGemmTAcc,
  softmaxForwardRows,
  softmaxGradientRows,
  softmaxHvpRows,
  softmaxPassRows,
  gemv: (out, a, rows, cols, x) => gemv(out, { rows, cols, data: a }, x),
  gemm,
  gemmNT,
  gemmTNAcc,
};

function initial(): RowKernels {
  const want = process.env.DBO_KERNELS;
  if (want !== undefined && want !== 'ts' && want !== 'wasm') throw new Error(`DBO_KERNELS must be 'ts' or 'wasm', got '${want}'`);
  if (want === 'ts') return tsKernels;
  const wasm = wasmKernels();
  if (wasm) return wasm;
  if (want === 'wasm') throw new Error('DBO_KERNELS=wasm, but this runtime cannot compile the WebAssembly SIMD kernels');
  return tsKernels;
}

let active: RowKernels = initial();

/** The active kernel set. */
export function kernels(): RowKernels {
  return active;
}

/** Replaces the active kernel set (for tests and benchmarks); returns the previous one. */
export function setKernels(k: RowKernels): RowKernels {
  const previous = active;
  active = k;
  return previous;
}
