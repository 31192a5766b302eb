/**
 * Spectral quantities of a mixing matrix W that drive consensus rates:
 * λ = max(|λ2|, |λm|) and ρ = ‖W − 11ᵀ/m‖₂.
 */
import { asymmetry, symmetricEigen, zeros, type Matrix } from '../linalg/matrix.ts';

export interface Spectrum {
  /**
   * max(|λ2|, |λm|): the largest modulus among W's eigenvalues other than the
   * consensus eigenvalue (the one whose eigenvector is closest to 1/√m).
   * For a symmetric doubly stochastic W this equals rho.
   */
  readonly lambda: number;
  readonly lambdaSquared: number;
  /** ‖W − 11ᵀ/m‖₂, computed independently from W − J. */
  readonly rho: number;
  /** Eigenvalues of W, ascending. */
  readonly eigenvalues: Float64Array;
}

export function spectrum(w: Matrix): Spectrum {
  const m = w.rows;
  if (w.cols !== m) throw new RangeError(`spectrum needs a square matrix, got ${w.rows}×${w.cols}`);
  if (m <= 1) return { lambda: 0, lambdaSquared: 0, rho: 0, eigenvalues: Float64Array.from(w.data) };

  const { values, vectors } = symmetricEigen(w);
  // Consensus eigenvalue: the eigenvector with the largest overlap with 1/√m.
  let consensus = m - 1;
  let best = -1;
  for (let k = 0; k < m; k++) {
    let dot = 0;
    for (let i = 0; i < m; i++) dot += vectors.data[i * m + k]!;
    const overlap = Math.abs(dot);
    if (overlap > best + 1e-12) {
      best = overlap;
      consensus = k;
    }
  }
  let lambda = 0;
  for (let k = 0; k < m; k++) if (k !== consensus) lambda = Math.max(lambda, Math.abs(values[k]!));

  const inv = 1 / m;
  const d = zeros(m, m);
  for (let k = 0; k < m * m; k++) d.data[k] = w.data[k]! - inv;
  let rho: number;
  let scale = 1;
  for (let k = 0; k < m * m; k++) scale = Math.max(scale, Math.abs(d.data[k]!));
  if (asymmetry(d) <= 1e-12 * scale) {
    const ev = symmetricEigen(d).values;
    rho = Math.max(Math.abs(ev[0]!), Math.abs(ev[m - 1]!));
  } else {
    // General case: ‖D‖₂ = sqrt(λmax(DᵀD)).
    const g = zeros(m, m);
    for (let i = 0; i < m; i++)
      for (let j = i; j < m; j++) {
        let s = 0;
        for (let k = 0; k < m; k++) s += d.data[k * m + i]! * d.data[k * m + j]!;
        g.data[i * m + j] = s;
        g.data[j * m + i] = s;
      }
    const ev = symmetricEigen(g).values;
    rho = Math.sqrt(Math.max(0, ev[m - 1]!));
  }
  return { lambda, lambdaSquared: lambda * lambda, rho, eigenvalues: values };
}
