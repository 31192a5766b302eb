/**
 * Row-wise softmax kernels for multinomial logistic models. Logits are a
 * B × c row-major block; all functions work in place or into caller buffers.
 */

/**
 * Turns each row of logits into softmax probabilities in place and returns
 * Σ_rows cross-entropy against `labels` (label of row b is labels[rows[b]]
 * or labels[b] when rows is null).
 */
export function softmaxCrossEntropyInPlace(logits: Float64Array, count: number, c: number, labels: Int32Array, rows: Int32Array | null): number {
  let loss = 0;
  for (let b = 0; b < count; b++) {
    const off = b * c;
    let max = -Infinity;
    for (let p = 0; p < c; p++) if (logits[off + p]! > max) max = logits[off + p]!;
    const label = labels[rows === null ? b : rows[b]!]!;
    const gap = logits[off + label]! - max;
    let sum = 0;
    for (let p = 0; p < c; p++) {
      const e = Math.exp(logits[off + p]! - max);
      logits[off + p] = e;
      sum += e;
    }
    // log-sum-exp form: exact even when the label's probability underflows.
    loss += Math.log(sum) - gap;
    const inv = 1 / sum;
    for (let p = 0; p < c; p++) logits[off + p]! *= inv;
  }
  return loss;
}

/** In place: probabilities S ← S − onehot(labels). */
export function subtractOneHot(s: Float64Array, count: number, c: number, labels: Int32Array, rows: Int32Array | null): void {
  for (let b = 0; b < count; b++) s[b * c + labels[rows === null ? b : rows[b]!]!]! -= 1;
}

/**
 * Softmax Jacobian applied row-wise: out ← S ⊙ U − S ⊙ rowsum(S ⊙ U)
 * (the Hessian-vector kernel of softmax cross-entropy). out may alias U.
 */
export function softmaxJacobianApply(out: Float64Array, s: Float64Array, u: Float64Array, count: number, c: number): void {
  for (let b = 0; b < count; b++) {
    const off = b * c;
    let dotSU = 0;
    for (let p = 0; p < c; p++) dotSU += s[off + p]! * u[off + p]!;
    for (let p = 0; p < c; p++) out[off + p] = s[off + p]! * (u[off + p]! - dotSU);
  }
}

/** Number of rows whose argmax equals the label. */
export function countCorrect(logits: Float64Array, count: number, c: number, labels: Int32Array, rows: Int32Array | null): number {
  let correct = 0;
  for (let b = 0; b < count; b++) {
    const off = b * c;
    let best = 0;
    for (let p = 1; p < c; p++) if (logits[off + p]! > logits[off + best]!) best = p;
    if (best === labels[rows === null ? b : rows[b]!]) correct++;
  }
  return correct;
}
