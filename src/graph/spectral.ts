/**
 * Spectral quantities of a mixing matrix W that drive consensus rates:
 * λ = max(|λ2|, |λm|) and ρ = ‖W − 11ᵀ/m‖₂.
 *
 * Three methods: the dense Jacobi solver (small m; every eigenvalue, and ρ
 * computed independently of λ), closed forms for structured graphs whose W is
 * I − cL (every eigenvalue in O(m · degree)), and Lanczos on W restricted to
 * 1⊥ (= W − 11ᵀ/m for a symmetric doubly stochastic W) for the rest.
 */
import { asymmetry, symmetricEigen, zeros, type Matrix } from '../linalg/matrix.ts';
import { laplacianEigenvalues, type GraphStructure } from './closed-form.ts';
import { lanczosExtremes } from './lanczos.ts';
import { DENSE_EIGEN_MAX } from './mixing.ts';
import { sparseApply, sparseToDense, uniformEdgeWeight, type SparseMixing } from './sparse.ts';

export type SpectrumMethod = 'dense' | 'closed-form' | 'lanczos';

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
  /** Eigenvalues of W, ascending (dense and closed-form methods only). */
  readonly eigenvalues?: Float64Array;
  readonly method: SpectrumMethod;
  /** Lanczos only: every reported eigenvalue is within this distance of one of W's (residual bound). */
  readonly errorBound?: number;
}

export type DenseSpectrum = Spectrum & { readonly eigenvalues: Float64Array };

/** Spectrum of a dense W by the Jacobi eigensolver (O(m³) per sweep: small m and reference checks). */
export function spectrum(w: Matrix): DenseSpectrum {
  const m = w.rows;
  if (w.cols !== m) throw new RangeError(`spectrum needs a square matrix, got ${w.rows}×${w.cols}`);
  if (m <= 1) return { lambda: 0, lambdaSquared: 0, rho: 0, eigenvalues: Float64Array.from(w.data), method: 'dense' };

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
  return { lambda, lambdaSquared: lambda * lambda, rho, eigenvalues: values, method: 'dense' };
}

/**
 * Spectrum of a symmetric doubly stochastic sparse W: closed form when
 * `structure` is known and W = I − cL (every off-diagonal weight equal, as
 * Metropolis weights on regular graphs, paths and stars, and the Laplacian
 * and uniform rules give), the dense solver up to DENSE_EIGEN_MAX agents,
 * Lanczos on 1⊥ otherwise.
 */
export function sparseSpectrum(w: SparseMixing, structure: GraphStructure | null = null): Spectrum {
  const { m } = w;
  if (m <= 1) return { lambda: 0, lambdaSquared: 0, rho: 0, eigenvalues: Float64Array.from(w.self), method: 'closed-form' };
  const c = structure !== null ? uniformEdgeWeight(w) : null;
  if (structure !== null && c !== null) {
    const mu = laplacianEigenvalues(structure);
    const values = new Float64Array(m);
    let lambda = 0;
    for (let k = 0; k < m; k++) {
      values[k] = 1 - c * mu[k]!;
      if (k > 0) lambda = Math.max(lambda, Math.abs(values[k]!));
    }
    values.sort();
    return { lambda, lambdaSquared: lambda * lambda, rho: lambda, eigenvalues: values, method: 'closed-form' };
  }
  if (m <= DENSE_EIGEN_MAX) return spectrum(sparseToDense(w));
  const e = lanczosExtremes((x, out) => sparseApply(w, x, out), m, { deflateOnes: true });
  const lambda = Math.max(Math.abs(e.min), Math.abs(e.max));
  return { lambda, lambdaSquared: lambda * lambda, rho: lambda, method: 'lanczos', errorBound: Math.max(e.minResidual, e.maxResidual) };
}
