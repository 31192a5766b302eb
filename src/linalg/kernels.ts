/**
 * The kernel set that problems call for their per-row work (gathered
 * products and fused softmax cross-entropy passes). `kernels()` returns the
 * active set; the plain TypeScript set is the reference every other set is
 * tested against.
 */
import { softmaxForwardRows, softmaxGradientRows, softmaxHvpRows } from './fused.ts';
import { gatherGemm, gatherGemmTAcc } from './matrix.ts';

export interface RowKernels {
  /** 'ts' (plain TypeScript reference) or 'wasm' (WebAssembly SIMD). */
  readonly name: string;
  readonly gatherGemm: typeof gatherGemm;
  readonly gatherGemmTAcc: typeof gatherGemmTAcc;
  readonly softmaxForwardRows: typeof softmaxForwardRows;
  readonly softmaxGradientRows: typeof softmaxGradientRows;
  readonly softmaxHvpRows: typeof softmaxHvpRows;
}

export const tsKernels: RowKernels = { name: 'ts', gatherGemm, gatherGemmTAcc, softmaxForwardRows, softmaxGradientRows, softmaxHvpRows };

let active: RowKernels = tsKernels;

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
