/**
 * Stochastic hypergradient estimators built on a truncated Neumann series of
 * the lower-level Hessian inverse, as named strategies over the matrix-free
 * HVP/JVP oracles (docs/algorithms.md, docs/decisions.md §4).
 *
 * - `neumann` (conventional; SEED-001 eq. 22, Ghadimi–Wang):
 *     ∇_x f(ξ⁰) − (K/L_g) · J(ζ⁰) · Π_{j=1}^{k} (I − H(ζ^j)/L_g) · ∇_y f(ξ⁰)
 *   with k ~ U{0, …, K−1}; unbiased for the K-term truncated series
 *   (1/L_g) Σ_{j<K} (I − H/L_g)^j, but the random depth adds variance.
 * - `neumann-recursive` (Prometheus eq. 5): h₀ = b, h_k = b + (I − H(ζ^k)/L_g) h_{k−1},
 *   estimate ∇_x f − J(ζ⁰) h_k / L_g with b = ∇_y f(ξ⁰). `depth: fixed` uses
 *   k = K − 1 (K terms including I: bias (1 − μ/L_g)^K, docs/decisions.md §4); `uniform` draws
 *   k ~ U{0, …, K−1} as the paper's text does.
 *
 * A `NeumannSample` fixes ξ⁰, ζ⁰, ζ¹…ζ^k and k, so evaluating it at two
 * points uses identical samples, as STORM and SPIDER differences require
 * (docs/decisions.md §10). Cost per evaluation: 1 ∇F, 1 JVP and k HVPs.
 */
import { z } from 'zod';
import { axpy, lincomb, norm2Sq, scale, sub, type Vec } from '../linalg/vector.ts';
import { BatchSampler } from '../problems/batch.ts';
import { fullBatch, type AgentOracle, type Batch } from '../problems/types.ts';
import type { Rng } from '../random/rng.ts';

export const neumannSchema = {
  estimator: z.enum(['neumann', 'neumann-recursive']).default('neumann').describe("Hessian-inverse estimator: 'neumann' (conventional, random depth) or 'neumann-recursive' (Prometheus eq. 5)"),
  depth: z.enum(['fixed', 'uniform']).default('fixed').describe("depth of 'neumann-recursive': fixed K−1 or uniform in {0..K−1}"),
  K: z.number().int({ error: 'K must be an integer' }).min(1, { error: 'K must be ≥ 1' }).default(10).describe('number of Neumann terms K'),
  Lg: z.number().positive({ error: 'Lg must be > 0' }).optional().describe('Neumann scale L_g ≥ ‖∇²_yy g‖ (default: 1.1 × a power-iteration estimate at the initial point)'),
};

export interface NeumannOptions {
  readonly estimator: 'neumann' | 'neumann-recursive';
  readonly depth: 'fixed' | 'uniform';
  readonly K: number;
}

/** The samples of one estimator evaluation. */
export class NeumannSample {
  depth = 0;
  readonly upper: Batch;
  /** lower[0] = ζ⁰ for the JVP; lower[1..depth] for the HVPs. */
  readonly lower: Batch[];
  private readonly upperSampler: BatchSampler;
  private readonly lowerSampler: BatchSampler;

  constructor(
    oracle: AgentOracle,
    sizes: { readonly upper: number | 'full'; readonly lower: number | 'full' },
    readonly options: NeumannOptions,
  ) {
    this.upperSampler = new BatchSampler(oracle.upperSamples, sizes.upper);
    this.lowerSampler = new BatchSampler(oracle.lowerSamples, sizes.lower);
    this.upper = this.upperSampler.create();
    this.lower = Array.from({ length: options.K }, () => this.lowerSampler.create());
  }

  /** Draws k, then ξ⁰, then ζ⁰…ζ^k (a fixed order, for determinism). */
  draw(rng: Rng): void {
    const { estimator, depth, K } = this.options;
    this.drawWithDepth(rng, estimator === 'neumann-recursive' && depth === 'fixed' ? K - 1 : rng.int(K));
  }

  /** Draws ξ⁰ and ζ⁰…ζ^depth for a depth chosen by the caller (depth < K). */
  drawWithDepth(rng: Rng, depth: number): void {
    if (!(depth >= 0 && depth < this.lower.length)) throw new RangeError(`Neumann depth ${depth} outside 0..${this.lower.length - 1}`);
    this.depth = depth;
    this.upperSampler.draw(this.upper, rng);
    for (let j = 0; j <= this.depth; j++) this.lowerSampler.draw(this.lower[j]!, rng);
  }
}

export interface NeumannScratch {
  readonly fx: Vec;
  readonly b: Vec;
  readonly h: Vec;
  readonly hv: Vec;
  readonly jv: Vec;
}

export function neumannScratch(dx: number, dy: number): NeumannScratch {
  return { fx: new Float64Array(dx), b: new Float64Array(dy), h: new Float64Array(dy), hv: new Float64Array(dy), jv: new Float64Array(dx) };
}

/** out ← the estimator at (x, y) on `sample` (see the module comment). */
export function neumannHypergradient(o: AgentOracle, x: Vec, y: Vec, sample: NeumannSample, lg: number, ws: NeumannScratch, out: Vec): void {
  o.gradF(x, y, sample.upper, ws.fx, ws.b);
  const k = sample.depth;
  if (sample.options.estimator === 'neumann') {
    // h ← Π_{j=1}^{k}(I − H_j/L) b, then out = ∇_x f − (K/L) J h.
    ws.h.set(ws.b);
    for (let j = 1; j <= k; j++) {
      o.hvp(x, y, ws.h, sample.lower[j]!, ws.hv);
      axpy(-1 / lg, ws.hv, ws.h);
    }
    o.jvp(x, y, ws.h, sample.lower[0]!, ws.jv);
    lincomb(out, 1, ws.fx, -sample.options.K / lg, ws.jv);
    return;
  }
  // h_0 = b; h_j = b + h_{j−1} − H_j h_{j−1}/L; out = ∇_x f − J h_k / L.
  ws.h.set(ws.b);
  for (let j = 1; j <= k; j++) {
    o.hvp(x, y, ws.h, sample.lower[j]!, ws.hv);
    axpy(-1 / lg, ws.hv, ws.h);
    axpy(1, ws.b, ws.h);
  }
  o.jvp(x, y, ws.h, sample.lower[0]!, ws.jv);
  lincomb(out, 1, ws.fx, -1 / lg, ws.jv);
}

/**
 * 1.1 × the largest eigenvalue of the local full-batch ∇²_yy g at (x, y), by
 * power iteration (the HVPs go through the agent's counted oracle).
 */
export function estimateLg(o: AgentOracle, x: Vec, y: Vec, iterations = 30): number {
  const full = fullBatch();
  const v = new Float64Array(o.dy);
  for (let i = 0; i < v.length; i++) v[i] = 1 + 0.01 * Math.sin(i + 1);
  scale(1 / Math.sqrt(norm2Sq(v)), v);
  const hv = new Float64Array(o.dy);
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    o.hvp(x, y, v, full, hv);
    const n = Math.sqrt(norm2Sq(hv));
    if (n === 0) break;
    lambda = n;
    sub(v, v, v);
    axpy(1 / n, hv, v);
  }
  if (!(lambda > 0)) throw new Error('estimateLg: the lower-level Hessian is zero at the initial point; give Lg explicitly');
  return 1.1 * lambda;
}
