/**
 * Extreme eigenvalues of a large sparse symmetric operator by the Lanczos
 * method (Golub & Van Loan, Matrix Computations, 4th ed., §10.1): the
 * three-term recurrence builds the tridiagonal T_k = Vₖᵀ A Vₖ, whose extreme
 * eigenvalues (found by Sturm-sequence bisection) converge to A's. A Ritz
 * value θ with eigenvector s of T_k has residual ‖A y − θ y‖ = β_k |s_k| for
 * y = V_k s, an error bound that needs no stored Lanczos vectors; s_k comes
 * from inverse iteration on T_k. No reorthogonalization: loss of
 * orthogonality only adds spurious copies of converged Ritz values, never
 * moves the extreme ones, so memory stays O(n) and each step is one product.
 *
 * With `deflateOnes`, every vector is kept orthogonal to the all-ones vector,
 * i.e. the method runs on A restricted to 1⊥ (for a symmetric doubly
 * stochastic W that is W − 11ᵀ/m without ever forming it).
 */
import { Rng } from '../random/rng.ts';

export interface ExtremeEigenvalues {
  /** Smallest and largest eigenvalue (Ritz value) found. */
  readonly min: number;
  readonly max: number;
  /** Residual bounds ‖A y − θ y‖ of the two Ritz pairs: each eigenvalue estimate is within this distance of an eigenvalue of A. */
  readonly minResidual: number;
  readonly maxResidual: number;
  readonly iterations: number;
  /** Both residuals fell below the tolerance (or the Krylov space was exhausted, making the values exact). */
  readonly converged: boolean;
}

export interface LanczosOptions {
  /** Restrict to the complement of the all-ones vector. */
  readonly deflateOnes?: boolean;
  /** Stop when both residuals are ≤ tol · max(1, |θ|). Default 1e-10. */
  readonly tol?: number;
  readonly maxIterations?: number;
  /** Seed of the (deterministic) start vector. */
  readonly seed?: number;
}

/** Number of eigenvalues of the symmetric tridiagonal (alpha, beta) below x (Sturm sequence count). */
function sturmCount(alpha: Float64Array, beta: Float64Array, k: number, x: number): number {
  let count = 0;
  let d = alpha[0]! - x;
  if (d < 0) count++;
  for (let i = 1; i < k; i++) {
    if (d === 0) d = 1e-300;
    d = alpha[i]! - x - (beta[i - 1]! * beta[i - 1]!) / d;
    if (d < 0) count++;
  }
  return count;
}

/** Eigenvalue number `index` (0 = smallest) of the tridiagonal T_k, by bisection to full precision. */
function tridiagEigenvalue(alpha: Float64Array, beta: Float64Array, k: number, index: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < k; i++) {
    const r = (i > 0 ? Math.abs(beta[i - 1]!) : 0) + (i < k - 1 ? Math.abs(beta[i]!) : 0);
    lo = Math.min(lo, alpha[i]! - r);
    hi = Math.max(hi, alpha[i]! + r);
  }
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (sturmCount(alpha, beta, k, mid) > index) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * |last component| of the unit eigenvector of T_k for eigenvalue θ, by two
 * steps of inverse iteration with a pivoted tridiagonal solve.
 */
function lastComponent(alpha: Float64Array, beta: Float64Array, k: number, theta: number): number {
  if (k === 1) return 1;
  let y = new Float64Array(k).fill(1);
  let scale = 0;
  for (let i = 0; i < k; i++) scale = Math.max(scale, Math.abs(alpha[i]!) + (i < k - 1 ? Math.abs(beta[i]!) : 0));
  const tiny = Math.max(scale, 1e-300) * 1e-15;
  const d = new Float64Array(k);
  const du = new Float64Array(k);
  const dl = new Float64Array(k);
  for (let rep = 0; rep < 3; rep++) {
    for (let i = 0; i < k; i++) d[i] = alpha[i]! - theta;
    for (let i = 0; i < k - 1; i++) {
      du[i] = beta[i]!;
      dl[i] = beta[i]!;
    }
    // Gaussian elimination with partial pivoting on the tridiagonal; dl becomes the second superdiagonal.
    for (let i = 0; i < k - 1; i++) {
      if (Math.abs(d[i]!) >= Math.abs(dl[i]!)) {
        if (d[i] === 0) d[i] = tiny;
        const f = dl[i]! / d[i]!;
        d[i + 1]! -= f * du[i]!;
        y[i + 1]! -= f * y[i]!;
        dl[i] = 0;
      } else {
        const f = d[i]! / dl[i]!;
        d[i] = dl[i]!;
        const t = d[i + 1]!;
        d[i + 1] = du[i]! - f * t;
        if (i < k - 2) {
          dl[i] = du[i + 1]!;
          du[i + 1] = -f * dl[i]!;
        } else dl[i] = 0;
        du[i] = t;
        const b = y[i]!;
        y[i] = y[i + 1]!;
        y[i + 1] = b - f * y[i + 1]!;
      }
    }
    if (d[k - 1] === 0) d[k - 1] = tiny;
    y[k - 1]! /= d[k - 1]!;
    y[k - 2] = (y[k - 2]! - du[k - 2]! * y[k - 1]!) / d[k - 2]!;
    for (let j = k - 3; j >= 0; j--) y[j] = (y[j]! - du[j]! * y[j + 1]! - dl[j]! * y[j + 2]!) / d[j]!;
    let norm = 0;
    for (let i = 0; i < k; i++) norm += y[i]! * y[i]!;
    norm = Math.sqrt(norm);
    if (!(norm > 0) || !Number.isFinite(norm)) return 1;
    y = y.map((v) => v / norm);
  }
  return Math.abs(y[k - 1]!);
}

function deflate(v: Float64Array): void {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  const mean = s / v.length;
  for (let i = 0; i < v.length; i++) v[i]! -= mean;
}

/**
 * Smallest and largest eigenvalues of the symmetric operator `apply`
 * (out ← A x, out never aliases x) on Rⁿ, or on 1⊥ with `deflateOnes`.
 */
export function lanczosExtremes(apply: (x: Float64Array, out: Float64Array) => void, n: number, options: LanczosOptions = {}): ExtremeEigenvalues {
  const dim = options.deflateOnes ? n - 1 : n;
  if (dim <= 0) return { min: 0, max: 0, minResidual: 0, maxResidual: 0, iterations: 0, converged: true };
  const tol = options.tol ?? 1e-10;
  const maxIt = Math.max(1, options.maxIterations ?? Math.min(3000, Math.max(50, 4 * n)));
  const rng = new Rng(options.seed ?? 1, 'lanczos');
  let v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform() - 0.5;
  if (options.deflateOnes) deflate(v);
  let norm0 = 0;
  for (let i = 0; i < n; i++) norm0 += v[i]! * v[i]!;
  const norm = Math.sqrt(norm0);
  for (let i = 0; i < n; i++) v[i]! /= norm;
  let vPrev = new Float64Array(n);
  let w = new Float64Array(n);
  const alpha = new Float64Array(maxIt);
  const beta = new Float64Array(maxIt);
  let k = 0;
  let lastBeta = 0;
  let exhausted = false;
  let result: ExtremeEigenvalues | null = null;
  const check = (final: boolean): ExtremeEigenvalues | null => {
    const lo = tridiagEigenvalue(alpha, beta, k, 0);
    const hi = tridiagEigenvalue(alpha, beta, k, k - 1);
    const rLo = exhausted ? 0 : lastBeta * lastComponent(alpha, beta, k, lo);
    const rHi = exhausted ? 0 : lastBeta * lastComponent(alpha, beta, k, hi);
    const ok = rLo <= tol * Math.max(1, Math.abs(lo)) && rHi <= tol * Math.max(1, Math.abs(hi));
    if (ok || final) return { min: lo, max: hi, minResidual: rLo, maxResidual: rHi, iterations: k, converged: ok };
    return null;
  };
  for (let it = 0; it < maxIt; it++) {
    apply(v, w);
    if (options.deflateOnes) deflate(w);
    let a = 0;
    for (let i = 0; i < n; i++) a += w[i]! * v[i]!;
    const bPrev = it > 0 ? beta[it - 1]! : 0;
    for (let i = 0; i < n; i++) w[i] = w[i]! - a * v[i]! - bPrev * vPrev[i]!;
    // One step of local reorthogonalization against v keeps alpha accurate.
    let a2 = 0;
    for (let i = 0; i < n; i++) a2 += w[i]! * v[i]!;
    for (let i = 0; i < n; i++) w[i]! -= a2 * v[i]!;
    alpha[it] = a + a2;
    let b = 0;
    for (let i = 0; i < n; i++) b += w[i]! * w[i]!;
    b = Math.sqrt(b);
    k = it + 1;
    lastBeta = b;
    if (b <= 1e-13 * Math.max(1, Math.abs(alpha[it]!)) || k >= dim * 4 + 8) {
      // Krylov space exhausted: T_k's eigenvalues are exact eigenvalues of A.
      exhausted = b <= 1e-13 * Math.max(1, Math.abs(alpha[it]!));
      result = check(true);
      break;
    }
    beta[it] = b;
    const tmp = vPrev;
    vPrev = v;
    v = w;
    w = tmp;
    for (let i = 0; i < n; i++) v[i]! /= b;
    if (k % 10 === 0 || k === maxIt) {
      result = check(k === maxIt);
      if (result) break;
    }
  }
  return result ?? check(true)!;
}
