/**
 * Dense Float64Array vector kernels. Every dense operation of algorithms and
 * problems goes through this layer so that faster kernels can replace it
 * without touching their code. Kernels write into caller-provided outputs and
 * allocate nothing.
 */

export type Vec = Float64Array;

export function dot(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm2Sq(a: Vec): number {
  return dot(a, a);
}

/** ‖a − b‖². */
export function distSq(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

/** y ← y + alpha·x. */
export function axpy(alpha: number, x: Vec, y: Vec): void {
  for (let i = 0; i < y.length; i++) y[i]! += alpha * x[i]!;
}

/** out ← a·x + b·y (out may alias x or y). */
export function lincomb(out: Vec, a: number, x: Vec, b: number, y: Vec): void {
  for (let i = 0; i < out.length; i++) out[i] = a * x[i]! + b * y[i]!;
}

/** x ← alpha·x. */
export function scale(alpha: number, x: Vec): void {
  for (let i = 0; i < x.length; i++) x[i]! *= alpha;
}

/** out ← a − b. */
export function sub(out: Vec, a: Vec, b: Vec): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! - b[i]!;
}

/** out ← a + b. */
export function add(out: Vec, a: Vec, b: Vec): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + b[i]!;
}

/** True when every entry is finite. */
export function allFinite(x: Vec): boolean {
  // x·0 is 0 for a finite x and NaN for ±∞ or NaN: one branch-free pass.
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * 0;
  return s === 0;
}

/** out ← mean of the given vectors. */
export function meanInto(out: Vec, xs: ReadonlyArray<Vec>): void {
  out.fill(0);
  for (const x of xs) axpy(1, x, out);
  scale(1 / xs.length, out);
}

/** (1/m) Σ_i ‖x_i − mean‖². */
export function consensusError(xs: ReadonlyArray<Vec>, mean: Vec): number {
  let s = 0;
  for (const x of xs) s += distSq(x, mean);
  return s / xs.length;
}

/** out ← exp(x) entrywise. */
export function expInto(out: Vec, x: Vec): void {
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(x[i]!);
}

/**
 * For a row-major d × c matrix Y: out ← out + s · diag(w) Y, i.e. row q of Y
 * scaled by s·w_q (per-feature regularizers on a weight matrix).
 */
export function rowScaledAcc(out: Vec, s: number, w: Vec, y: Vec, c: number): void {
  for (let q = 0; q < w.length; q++) {
    const f = s * w[q]!;
    const off = q * c;
    for (let p = 0; p < c; p++) out[off + p]! += f * y[off + p]!;
  }
}

/** For row-major d × c matrices A, B: out_q ← s · w_q · Σ_p A_qp B_qp (w null means 1). */
export function rowDots(out: Vec, s: number, w: Vec | null, a: Vec, b: Vec, c: number): void {
  for (let q = 0; q < out.length; q++) {
    const off = q * c;
    let acc = 0;
    for (let p = 0; p < c; p++) acc += a[off + p]! * b[off + p]!;
    out[q] = s * (w === null ? 1 : w[q]!) * acc;
  }
}

/** Euclidean projection onto the ball ‖v‖ ≤ radius, in place (radius = Infinity is a no-op). */
export function projectBall(v: Vec, radius: number): void {
  if (!Number.isFinite(radius)) return;
  const n = Math.sqrt(norm2Sq(v));
  if (n > radius) scale(radius / n, v);
}

/** out ← s · a ⊙ b ⊙ c (out may alias an input). */
export function hadamard3(out: Vec, s: number, a: Vec, b: Vec, c: Vec): void {
  for (let i = 0; i < out.length; i++) out[i] = s * a[i]! * b[i]! * c[i]!;
}

/** out ← out + s · a ⊙ b. */
export function hadamardAcc(out: Vec, s: number, a: Vec, b: Vec): void {
  for (let i = 0; i < out.length; i++) out[i]! += s * a[i]! * b[i]!;
}
