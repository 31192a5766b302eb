/**
 * A small bilevel quadratic with explicit matrices, and dense reference
 * formulas written independently of src/linalg, for the hypergradient tests.
 *
 *   f(x, y) = pᵀx + ½ xᵀx + qᵀy + ½ yᵀy,
 *   g(x, y) = ½ yᵀ H y + xᵀ J y      (H SPD, d_y × d_y; J d_x × d_y),
 * so ∇_x f = p + x, ∇_y f = q + y, HVP(v) = H v, JVP(v) = J v and
 * ∇Φ = ∇_x f − J H⁻¹ ∇_y f at y = y*(x).
 */
import type { AgentOracle, Batch } from '../../src/problems/types.ts';
import type { Vec } from '../../src/linalg/vector.ts';
import { Rng } from '../../src/random/rng.ts';

export interface DenseQuadratic {
  readonly dx: number;
  readonly dy: number;
  readonly H: number[][];
  readonly J: number[][];
  readonly p: number[];
  readonly q: number[];
}

/** A random instance with eigenvalues of H spread in [mu, L]. */
export function denseQuadratic(dx: number, dy: number, seed: number, mu = 0.5, L = 4): DenseQuadratic {
  const rng = new Rng(seed, 'dense-quadratic');
  const u = () => 2 * rng.uniform() - 1;
  // H = Qᵀ diag(λ) Q with Q from Gram–Schmidt of a random matrix.
  const cols: number[][] = [];
  for (let j = 0; j < dy; j++) {
    const v = Array.from({ length: dy }, u);
    for (const c of cols) {
      const d = v.reduce((s, vi, i) => s + vi * c[i]!, 0);
      for (let i = 0; i < dy; i++) v[i]! -= d * c[i]!;
    }
    const n = Math.hypot(...v);
    cols.push(v.map((vi) => vi / n));
  }
  const lambda = Array.from({ length: dy }, (_, j) => (dy === 1 ? L : mu + ((L - mu) * j) / (dy - 1)));
  const H = Array.from({ length: dy }, (_, i) => Array.from({ length: dy }, (_, k) => cols.reduce((s, c, j) => s + lambda[j]! * c[i]! * c[k]!, 0)));
  const J = Array.from({ length: dx }, () => Array.from({ length: dy }, u));
  return { dx, dy, H, J, p: Array.from({ length: dx }, u), q: Array.from({ length: dy }, u) };
}

export function matVec(a: number[][], v: ArrayLike<number>): number[] {
  return a.map((row) => row.reduce((s, aij, j) => s + aij * v[j]!, 0));
}

/** Solves a x = b by Gaussian elimination with partial pivoting. */
export function denseSolve(a: number[][], b: ArrayLike<number>): number[] {
  const n = a.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[piv]![c]!)) piv = r;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= m[r]![k]! * x[k]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}

/** The oracle of `DenseQuadratic` (batches are ignored: every oracle is exact). */
export function denseOracle(d: DenseQuadratic): AgentOracle & { hvps: number; jvps: number } {
  const notUsed = (): never => {
    throw new Error('not used by the hypergradient estimators');
  };
  const o = {
    dx: d.dx,
    dy: d.dy,
    upperSamples: Infinity,
    lowerSamples: Infinity,
    hvps: 0,
    jvps: 0,
    f: notUsed,
    g: notUsed,
    lowerDataLoss: notUsed,
    hessian: notUsed,
    jacobian: notUsed,
    gradG: notUsed,
    gradF(x: Vec, y: Vec, _b: Batch, outX: Vec, outY: Vec): void {
      for (let i = 0; i < d.dx; i++) outX[i] = d.p[i]! + x[i]!;
      for (let i = 0; i < d.dy; i++) outY[i] = d.q[i]! + y[i]!;
    },
    hvp(_x: Vec, _y: Vec, v: Vec, _b: Batch, out: Vec): void {
      o.hvps++;
      out.set(matVec(d.H, v));
    },
    jvp(_x: Vec, _y: Vec, v: Vec, _b: Batch, out: Vec): void {
      o.jvps++;
      out.set(matVec(d.J, v));
    },
  };
  return o;
}
