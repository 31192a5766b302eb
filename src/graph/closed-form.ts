/**
 * Closed-form Laplacian spectra of the structured topologies, so that their
 * mixing spectra cost O(m · degree) instead of an eigensolver:
 *
 * - circulant graphs (ring, exponential): vertex i linked to i ± s (mod m) for
 *   s in a connection set S; L is circulant with eigenvalues
 *   μ_k = Σ_{s ∈ S} (1 − cos(2π k s / m)), k = 0 … m − 1 (S counted with both
 *   signs, duplicates merged);
 * - the 2-D torus C_r □ C_c: μ_{a,b} = μ_a(C_r) + μ_b(C_c) (Cartesian product);
 * - complete K_m: 0 and m (m − 1 times); path P_m: 2 − 2 cos(π k / m);
 *   star S_m: 0, 1 (m − 2 times), m.
 *
 * (Brouwer & Haemers, Spectra of Graphs, §1.4.) In every case entry 0 is the
 * eigenvalue 0 of the constant vector.
 */

export type GraphStructure =
  | { readonly kind: 'circulant'; readonly m: number; readonly offsets: ReadonlyArray<number> }
  | { readonly kind: 'torus'; readonly rows: number; readonly cols: number }
  | { readonly kind: 'complete'; readonly m: number }
  | { readonly kind: 'path'; readonly m: number }
  | { readonly kind: 'star'; readonly m: number };

/** The connection set S ⊂ {1 … m − 1} of a circulant graph with the given offsets (both signs, duplicates merged). */
export function circulantConnectionSet(m: number, offsets: ReadonlyArray<number>): number[] {
  const set = new Set<number>();
  for (const o of offsets) {
    const a = ((o % m) + m) % m;
    if (a !== 0) {
      set.add(a);
      set.add(m - a);
    }
  }
  return Array.from(set).sort((a, b) => a - b);
}

function circulant(m: number, offsets: ReadonlyArray<number>): Float64Array {
  const s = circulantConnectionSet(m, offsets);
  const out = new Float64Array(m);
  const cos = new Float64Array(m);
  for (let r = 0; r < m; r++) cos[r] = Math.cos((2 * Math.PI * r) / m);
  for (let k = 1; k < m; k++) {
    let mu = 0;
    for (const x of s) mu += 1 - cos[(k * x) % m]!;
    out[k] = mu;
  }
  return out;
}

/** Laplacian eigenvalues of a structured graph (unsorted; entry 0 is the constant vector's 0). */
export function laplacianEigenvalues(s: GraphStructure): Float64Array {
  switch (s.kind) {
    case 'circulant':
      return circulant(s.m, s.offsets);
    case 'torus': {
      const a = circulant(s.rows, [1]);
      const b = circulant(s.cols, [1]);
      const out = new Float64Array(s.rows * s.cols);
      for (let i = 0; i < s.rows; i++) for (let j = 0; j < s.cols; j++) out[i * s.cols + j] = a[i]! + b[j]!;
      return out;
    }
    case 'complete': {
      const out = new Float64Array(s.m).fill(s.m);
      out[0] = 0;
      return out;
    }
    case 'path': {
      const out = new Float64Array(s.m);
      for (let k = 1; k < s.m; k++) out[k] = 2 - 2 * Math.cos((Math.PI * k) / s.m);
      return out;
    }
    case 'star': {
      const out = new Float64Array(s.m).fill(1);
      out[0] = 0;
      if (s.m >= 2) out[s.m - 1] = s.m;
      return out;
    }
  }
}
