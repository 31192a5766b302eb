/**
 * Fused softmax cross-entropy kernels over gathered rows of a feature table:
 * each selected row a_b is read once per oracle (forward product, softmax,
 * and the rank-one update of the backward product while the row is in
 * cache), instead of one pass for A_B Y and another for A_Bᵀ R.
 *
 * These are the plain TypeScript reference implementations; the WebAssembly
 * kernels (src/linalg/wasm/) compute the same quantities and are tested
 * against these.
 *
 * Shapes: the table is n × d row-major; Y, V and outputs are d × c row-major
 * (entry (q, p) at q·c + p); probabilities are count × c. `rows` null means
 * the first `count` rows; the label of selected row b is labels[rows[b]].
 */

/** Σ_q a[aOff + q] · b[bOff + q] with four partial sums (independent add chains). */
function rowDot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let q = 0;
  for (; q + 3 < d; q += 4) {
    s0 += a[aOff + q]! * b[bOff + q]!;
    s1 += a[aOff + q + 1]! * b[bOff + q + 1]!;
    s2 += a[aOff + q + 2]! * b[bOff + q + 2]!;
    s3 += a[aOff + q + 3]! * b[bOff + q + 3]!;
  }
  for (; q < d; q++) s0 += a[aOff + q]! * b[bOff + q]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * Softmax of one row's logits probs[off … off + c) in place; returns the
 * row's cross-entropy for `label` in log-sum-exp form (0 unless `wantLoss`).
 * The largest logit's exponential is exp(0) = 1 exactly, so it is not
 * computed (the same values as computing it).
 */
export function softmaxRow(probs: Float64Array, off: number, c: number, label: number, wantLoss = true): number {
  let max = -Infinity;
  let arg = 0;
  for (let p = 0; p < c; p++)
    if (probs[off + p]! > max) {
      max = probs[off + p]!;
      arg = p;
    }
  const gap = probs[off + label]! - max;
  let sum = 0;
  for (let p = 0; p < c; p++) {
    const e = p === arg ? 1 : Math.exp(probs[off + p]! - max);
    probs[off + p] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let p = 0; p < c; p++) probs[off + p] = probs[off + p]! * inv;
  return wantLoss ? Math.log(sum) - gap : 0;
}

/** Scratch length (in float64s) the fused kernels need for d features and c classes. */
export function fusedScratchLength(d: number, c: number): number {
  return 2 * c * d + c;
}

/**
 * Gradient of the summed cross-entropy on the selected rows, one pass per row:
 *   probs_b ← softmax(a_bᵀ Y),  out ← scale · Σ_b a_b (probs_b − e_{label_b})ᵀ.
 * Returns Σ_b CE_b (log-sum-exp form). `out` is overwritten.
 */
export function softmaxGradientRows(
  out: Float64Array,
  probs: Float64Array,
  a: Float64Array,
  d: number,
  rows: Int32Array | null,
  count: number,
  labels: Int32Array,
  y: Float64Array,
  c: number,
  scale: number,
  scratch: Float64Array,
): number {
  const cd = c * d;
  // scratch: [0, cd) Yᵀ (c × d); [cd, 2cd) accumulator of the transposed output.
  for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) scratch[p * d + q] = y[q * c + p]!;
  scratch.fill(0, cd, 2 * cd);
  let loss = 0;
  for (let b = 0; b < count; b++) {
    const row = rows === null ? b : rows[b]!;
    const aOff = row * d;
    const off = b * c;
    for (let p = 0; p < c; p++) probs[off + p] = rowDot(a, aOff, scratch, p * d, d);
    const label = labels[row]!;
    loss += softmaxRow(probs, off, c, label);
    for (let p = 0; p < c; p++) {
      const sp = probs[off + p]!;
      const f = scale * (p === label ? sp - 1 : sp);
      const accOff = cd + p * d;
      for (let q = 0; q < d; q++) scratch[accOff + q]! += f * a[aOff + q]!;
    }
  }
  for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) out[q * c + p] = scratch[cd + p * d + q]!;
  return loss;
}

/**
 * Hessian–vector product of the summed cross-entropy on the selected rows,
 * given their probabilities S (from `softmaxGradientRows` or a forward pass),
 * one pass per row:
 *   u_b = a_bᵀ V,  r_b = S_b ⊙ (u_b − ⟨S_b, u_b⟩),  out ← scale · Σ_b a_b r_bᵀ.
 * `out` is overwritten.
 */
export function softmaxHvpRows(
  out: Float64Array,
  probs: Float64Array,
  a: Float64Array,
  d: number,
  rows: Int32Array | null,
  count: number,
  v: Float64Array,
  c: number,
  scale: number,
  scratch: Float64Array,
): void {
  const cd = c * d;
  const u = 2 * cd;
  for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) scratch[p * d + q] = v[q * c + p]!;
  scratch.fill(0, cd, 2 * cd);
  for (let b = 0; b < count; b++) {
    const aOff = (rows === null ? b : rows[b]!) * d;
    const off = b * c;
    let su = 0;
    for (let p = 0; p < c; p++) {
      const s = rowDot(a, aOff, scratch, p * d, d);
      scratch[u + p] = s;
      su += probs[off + p]! * s;
    }
    for (let p = 0; p < c; p++) {
      const f = scale * probs[off + p]! * (scratch[u + p]! - su);
      const accOff = cd + p * d;
      for (let q = 0; q < d; q++) scratch[accOff + q]! += f * a[aOff + q]!;
    }
  }
  for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) out[q * c + p] = scratch[cd + p * d + q]!;
}

/**
 * Forward pass only: probs_b ← softmax(a_bᵀ Y); returns Σ_b CE_b. Used when
 * only values or probabilities are needed.
 */
export function softmaxForwardRows(
  probs: Float64Array,
  a: Float64Array,
  d: number,
  rows: Int32Array | null,
  count: number,
  labels: Int32Array,
  y: Float64Array,
  c: number,
  scratch: Float64Array,
): number {
  for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) scratch[p * d + q] = y[q * c + p]!;
  let loss = 0;
  for (let b = 0; b < count; b++) {
    const row = rows === null ? b : rows[b]!;
    const aOff = row * d;
    const off = b * c;
    for (let p = 0; p < c; p++) probs[off + p] = rowDot(a, aOff, scratch, p * d, d);
    loss += softmaxRow(probs, off, c, labels[row]!);
  }
  return loss;
}

/** One parameter matrix of a fused pass (`softmaxPassRows`): its inputs and outputs. */
export interface PassPoint {
  /** Y (d × c). */
  y: Float64Array;
  /** V (d × c) of the HVP, or null for a gradient-only pass (the same for every point of a pass). */
  v: Float64Array | null;
  /** Out: the gradient scale · Σ_b a_b (probs_b − e_label_b)ᵀ (d × c). */
  grad: Float64Array;
  /** Out: the HVP (d × c), when v is given. */
  hvp: Float64Array | null;
  /** Out: softmax(a_bᵀ Y) (count × c), or null when not wanted (the kernels may still need it as scratch). */
  probs: Float64Array | null;
}

/** Most points one `softmaxPassRows` call takes. */
export const PASS_POINTS = 2;

/** Scratch length (in float64s) `softmaxPassRows` needs for d features and c classes. */
export function passScratchLength(d: number, c: number): number {
  return 8 * c * d + 16 * c;
}

/**
 * The gradient pass and, when the points carry V, the HVP pass of the summed
 * cross-entropy at up to PASS_POINTS parameter matrices over the same rows,
 * in one pass over the rows (each row read once for all of them): for every
 * point, exactly what `softmaxGradientRows` (its gradient and probabilities)
 * and then `softmaxHvpRows` (with those probabilities) give, bit for bit,
 * since every sum runs in the same order. `probsScratch` (count × c per
 * point, as one array of PASS_POINTS · count · c) holds the probabilities of
 * points whose `probs` is null.
 */
export function softmaxPassRows(
  points: ReadonlyArray<PassPoint>,
  a: Float64Array,
  d: number,
  rows: Int32Array | null,
  count: number,
  labels: Int32Array,
  c: number,
  scale: number,
  scratch: Float64Array,
  probsScratch: Float64Array,
): void {
  const k = points.length;
  if (k < 1 || k > PASS_POINTS) throw new Error(`softmaxPassRows takes 1 to ${PASS_POINTS} points, got ${k}`);
  const hvp = points[0]!.v !== null;
  const cd = c * d;
  // scratch per point j: [4cd·j, +cd) Yᵀ, [+cd, +2cd) Vᵀ, [+2cd, +3cd) gradient accumulator, [+3cd, +4cd) HVP accumulator; then u (c per point).
  const uBase = 4 * cd * PASS_POINTS;
  for (let j = 0; j < k; j++) {
    const pt = points[j]!;
    const base = 4 * cd * j;
    for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) scratch[base + p * d + q] = pt.y[q * c + p]!;
    scratch.fill(0, base + 2 * cd, base + 3 * cd);
    if (hvp) {
      for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) scratch[base + cd + p * d + q] = pt.v![q * c + p]!;
      scratch.fill(0, base + 3 * cd, base + 4 * cd);
    }
  }
  for (let b = 0; b < count; b++) {
    const row = rows === null ? b : rows[b]!;
    const aOff = row * d;
    const label = labels[row]!;
    for (let j = 0; j < k; j++) {
      const base = 4 * cd * j;
      const own = points[j]!.probs;
      const pr = own ?? probsScratch;
      const off = own ? b * c : (j * count + b) * c;
      // As softmaxGradientRows.
      for (let p = 0; p < c; p++) pr[off + p] = rowDot(a, aOff, scratch, base + p * d, d);
      softmaxRow(pr, off, c, label, false);
      for (let p = 0; p < c; p++) {
        const sp = pr[off + p]!;
        const f = scale * (p === label ? sp - 1 : sp);
        const accOff = base + 2 * cd + p * d;
        for (let q = 0; q < d; q++) scratch[accOff + q]! += f * a[aOff + q]!;
      }
      if (!hvp) continue;
      // As softmaxHvpRows.
      const u = uBase + j * c;
      let su = 0;
      for (let p = 0; p < c; p++) {
        const s = rowDot(a, aOff, scratch, base + cd + p * d, d);
        scratch[u + p] = s;
        su += pr[off + p]! * s;
      }
      for (let p = 0; p < c; p++) {
        const f = scale * pr[off + p]! * (scratch[u + p]! - su);
        const accOff = base + 3 * cd + p * d;
        for (let q = 0; q < d; q++) scratch[accOff + q]! += f * a[aOff + q]!;
      }
    }
  }
  for (let j = 0; j < k; j++) {
    const pt = points[j]!;
    const base = 4 * cd * j;
    for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) pt.grad[q * c + p] = scratch[base + 2 * cd + p * d + q]!;
    if (hvp) for (let q = 0; q < d; q++) for (let p = 0; p < c; p++) pt.hvp![q * c + p] = scratch[base + 3 * cd + p * d + q]!;
  }
}
