/**
 * Dense row-major matrices over Float64Array and the small solvers built on
 * them: matrix–vector products, gathered-row products for minibatches,
 * conjugate gradients over a matvec closure, and a Jacobi eigen-solver for
 * small symmetric matrices (mixing matrices, Laplacians).
 */
import type { Vec } from './vector.ts';

export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major entries: entry (i, j) is data[i * cols + j]. */
  readonly data: Float64Array;
}

export function zeros(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

export function fromRows(rows: ReadonlyArray<ReadonlyArray<number>>): Matrix {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0]!.length;
  const m = zeros(r, c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) m.data[i * c + j] = rows[i]![j]!;
  return m;
}

export function identity(n: number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** out ← A x. */
export function gemv(out: Vec, a: Matrix, x: Vec): void {
  const { rows, cols, data } = a;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const off = i * cols;
    for (let j = 0; j < cols; j++) s += data[off + j]! * x[j]!;
    out[i] = s;
  }
}

/** out ← out + A x. */
export function gemvAcc(out: Vec, a: Matrix, x: Vec): void {
  const { rows, cols, data } = a;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const off = i * cols;
    for (let j = 0; j < cols; j++) s += data[off + j]! * x[j]!;
    out[i]! += s;
  }
}

/** out ← Aᵀ x. */
export function gemvT(out: Vec, a: Matrix, x: Vec): void {
  out.fill(0);
  gemvTAcc(out, a, x);
}

/** out ← out + Aᵀ x. */
export function gemvTAcc(out: Vec, a: Matrix, x: Vec): void {
  const { rows, cols, data } = a;
  for (let i = 0; i < rows; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const off = i * cols;
    for (let j = 0; j < cols; j++) out[j]! += data[off + j]! * xi;
  }
}

/** x ᵀ A x for square A. */
export function quadForm(a: Matrix, x: Vec): number {
  let s = 0;
  for (let i = 0; i < a.rows; i++) {
    let r = 0;
    const off = i * a.cols;
    for (let j = 0; j < a.cols; j++) r += a.data[off + j]! * x[j]!;
    s += x[i]! * r;
  }
  return s;
}

/** C ← A B (allocates; not for hot loops). */
export function matmul(a: Matrix, b: Matrix): Matrix {
  const c = zeros(a.rows, b.cols);
  for (let i = 0; i < a.rows; i++)
    for (let k = 0; k < a.cols; k++) {
      const aik = a.data[i * a.cols + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < b.cols; j++) c.data[i * b.cols + j]! += aik * b.data[k * b.cols + j]!;
    }
  return c;
}

export function transpose(a: Matrix): Matrix {
  const t = zeros(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j]!;
  return t;
}

/** Largest |a_ij − a_ji|. */
export function asymmetry(a: Matrix): number {
  let worst = 0;
  for (let i = 0; i < a.rows; i++)
    for (let j = i + 1; j < a.cols; j++) worst = Math.max(worst, Math.abs(a.data[i * a.cols + j]! - a.data[j * a.cols + i]!));
  return worst;
}

/**
 * Minibatch product: out (B × c) ← A[rows, :] · Y with A an n × d row-major
 * feature table and Y a d × c row-major matrix. `rows` null means the first
 * `count` rows. `scratch` (length ≥ c·d) holds Yᵀ so that every output entry
 * is a contiguous dot product.
 */
export function gatherGemm(out: Float64Array, a: Float64Array, d: number, rows: Int32Array | null, count: number, y: Float64Array, c: number, scratch: Float64Array): void {
  for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) scratch[p * d + q] = y[q * c + p]!;
  for (let b = 0; b < count; b++) {
    const aOff = (rows === null ? b : rows[b]!) * d;
    for (let p = 0; p < c; p++) {
      const yOff = p * d;
      let s0 = 0;
      let s1 = 0;
      let q = 0;
      for (; q + 1 < d; q += 2) {
        s0 += a[aOff + q]! * scratch[yOff + q]!;
        s1 += a[aOff + q + 1]! * scratch[yOff + q + 1]!;
      }
      if (q < d) s0 += a[aOff + q]! * scratch[yOff + q]!;
      out[b * c + p] = s0 + s1;
    }
  }
}

/**
 * Minibatch transposed product: out (d × c) ← out + s · A[rows, :]ᵀ · R with R
 * a B × c row-major matrix. `scratch` (length ≥ c·d) accumulates the
 * transpose so that the inner loop is a contiguous axpy over a row of A.
 */
export function gatherGemmTAcc(out: Float64Array, a: Float64Array, d: number, rows: Int32Array | null, count: number, r: Float64Array, c: number, s: number, scratch: Float64Array): void {
  scratch.fill(0, 0, c * d);
  for (let b = 0; b < count; b++) {
    const aOff = (rows === null ? b : rows[b]!) * d;
    for (let p = 0; p < c; p++) {
      const f = s * r[b * c + p]!;
      if (f === 0) continue;
      const oOff = p * d;
      for (let q = 0; q < d; q++) scratch[oOff + q]! += f * a[aOff + q]!;
    }
  }
  for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) out[q * c + p]! += scratch[p * d + q]!;
}

export interface CgResult {
  readonly iterations: number;
  readonly residualNorm: number;
  readonly converged: boolean;
}

/** Reusable buffers for `conjugateGradient`. */
export interface CgWorkspace {
  readonly r: Vec;
  readonly p: Vec;
  readonly ap: Vec;
}

export function cgWorkspace(n: number): CgWorkspace {
  return { r: new Float64Array(n), p: new Float64Array(n), ap: new Float64Array(n) };
}

/**
 * Solves A x = b for symmetric positive definite A given as `matvec(out, v)`,
 * starting from the x passed in (warm start). Stops when ‖r‖ ≤ tol·max(‖b‖, tiny)
 * or after maxIter iterations.
 */
export function conjugateGradient(
  matvec: (out: Vec, v: Vec) => void,
  b: Vec,
  x: Vec,
  options: { tol?: number; maxIter?: number; workspace?: CgWorkspace } = {},
): CgResult {
  const n = b.length;
  const tol = options.tol ?? 1e-12;
  const maxIter = options.maxIter ?? Math.max(10 * n, 100);
  const { r, p, ap } = options.workspace ?? cgWorkspace(n);
  matvec(ap, x);
  let rr = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    r[i] = b[i]! - ap[i]!;
    p[i] = r[i]!;
    rr += r[i]! * r[i]!;
    bb += b[i]! * b[i]!;
  }
  const target = tol * Math.max(Math.sqrt(bb), 1e-300);
  let it = 0;
  while (Math.sqrt(rr) > target && it < maxIter) {
    matvec(ap, p);
    let pap = 0;
    for (let i = 0; i < n; i++) pap += p[i]! * ap[i]!;
    if (!(pap > 0)) break;
    const alpha = rr / pap;
    let rrNew = 0;
    for (let i = 0; i < n; i++) {
      x[i]! += alpha * p[i]!;
      r[i]! -= alpha * ap[i]!;
      rrNew += r[i]! * r[i]!;
    }
    const beta = rrNew / rr;
    for (let i = 0; i < n; i++) p[i] = r[i]! + beta * p[i]!;
    rr = rrNew;
    it++;
  }
  return { iterations: it, residualNorm: Math.sqrt(rr), converged: Math.sqrt(rr) <= target };
}

/**
 * Eigenvalues (ascending) and eigenvectors (columns of `vectors`) of a small
 * symmetric matrix by cyclic Jacobi rotations. O(n³) per sweep; meant for
 * n up to a few hundred.
 */
export function symmetricEigen(a: Matrix): { values: Float64Array; vectors: Matrix } {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`symmetricEigen needs a square matrix, got ${a.rows}×${a.cols}`);
  const m = Float64Array.from(a.data);
  const v = identity(n).data;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += m[i * n + i]! * m[i * n + i]!;
      for (let j = i + 1; j < n; j++) off += m[i * n + j]! * m[i * n + j]!;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p]!;
        const aqq = m[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p]!;
          const mkq = m[k * n + q]!;
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k]!;
          const mqk = m[q * n + k]!;
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[i * n + i]! - m[j * n + j]!);
  const values = new Float64Array(n);
  const vectors = zeros(n, n);
  order.forEach((src, dst) => {
    values[dst] = m[src * n + src]!;
    for (let k = 0; k < n; k++) vectors.data[k * n + dst] = v[k * n + src]!;
  });
  return { values, vectors };
}

/** Solves the SPD system A x = b by Cholesky (allocates; small n only). Throws if A is not SPD. */
export function choleskySolve(a: Matrix, b: Vec): Float64Array {
  const n = a.rows;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = a.data[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new RangeError('matrix is not positive definite');
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j]!;
    }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}
