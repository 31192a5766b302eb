/**
 * The Hessian-inverse estimator comparison of SEED-003 §5, Fig. 1
 * (docs/decisions.md §4): Monte Carlo estimates of A⁻¹ for A = a·I
 * (dim × dim; the paper: a = 0.25, dim = 2, K = 10, 10,000 trials), each
 * factor using its own noisy draw A_s = A + E, E symmetric with independent
 * N(0, σ²) entries on and above the diagonal. The paper does not give σ.
 *
 * - conventional (eq. 4, §5):  K · Π_{p=1}^{k} (I − A_s^{(p)}),  k ~ U{0..K−1}
 * - literal (the §5 text):      Σ_{j=1}^{k} Π_{p=1}^{j} (I − A_s^{(p)}),  k ~ U{0..K−1},
 *   no identity term (heavily biased: mean ≈ 1.87 against 4 in the paper's example)
 * - recursive (eq. 5, fixed depth, docs/decisions.md §4): H₀ = I, H_j = I + (I − A_s^{(j)}) H_{j−1},
 *   j = 1..K−1, i.e. K terms including I
 *
 * The factors are independent with mean I − A, so every estimator's mean is
 * its noise-free value whatever σ: (1 − (1 − a)^K)/a for the conventional and
 * recursive ones, (1/K) Σ_{k<K} Σ_{j=1}^{k} (1 − a)^j for the literal one
 * (returned as `expectedMean`). The variances are what the figure compares.
 * Each estimator draws from its own stream of `seed`, so results are
 * reproducible per seed and one estimator's draws never shift another's.
 */
import { z } from 'zod';
import { identity, matmul, zeros, type Matrix } from '../linalg/matrix.ts';
import { axpy, scale } from '../linalg/vector.ts';
import { Rng } from '../random/rng.ts';
import { parseWith } from './zod-errors.ts';

export const estimatorVarianceSchema = z.strictObject({
  trials: z.number().int({ error: 'trials must be an integer' }).min(2, { error: 'trials must be ≥ 2' }).default(10000).describe('number of independent trials'),
  K: z.number().int({ error: 'K must be an integer' }).min(1, { error: 'K must be ≥ 1' }).default(10).describe('number of Neumann terms K'),
  sigma: z.number({ error: (issue) => (issue.input === undefined ? 'sigma is required (the paper does not give it; docs/decisions.md §4 uses 0.05)' : 'sigma must be a number') }).min(0, { error: 'sigma must be ≥ 0' }).describe('standard deviation σ of each entry of the symmetric noise E in A_s = A + E'),
  seed: z.number({ error: (issue) => (issue.input === undefined ? 'seed is required' : 'seed must be an integer') }).int({ error: 'seed must be an integer' }).min(0, { error: 'seed must be ≥ 0' }).describe('seed of the trials'),
  dim: z.number().int({ error: 'dim must be an integer' }).min(1, { error: 'dim must be ≥ 1' }).default(2).describe('dimension of A = a·I'),
  a: z.number({ error: 'a must be a number' }).positive({ error: 'a must be > 0' }).default(0.25).describe('diagonal of A = a·I (the paper: 0.25, so A⁻¹ = 4I)'),
});

export type EstimatorVarianceOptions = z.input<typeof estimatorVarianceSchema>;

export const ESTIMATORS = ['conventional', 'literal', 'recursive'] as const;
export type EstimatorName = (typeof ESTIMATORS)[number];

export interface EstimatorStats {
  readonly name: EstimatorName;
  readonly formula: string;
  /** Sample mean and (unbiased) variance of the (0, 0) entry. */
  readonly mean: number;
  readonly variance: number;
  /** The exact mean of every diagonal entry (see the module comment). */
  readonly expectedMean: number;
  /** Entrywise sample mean and variance (dim × dim, row-major rows). */
  readonly meanMatrix: number[][];
  readonly varianceMatrix: number[][];
  /** E‖Â − E Â‖_F², the sum of the entry variances. */
  readonly totalVariance: number;
  /** E‖Â − A⁻¹‖_F², the mean squared error against the true inverse. */
  readonly mse: number;
}

export interface EstimatorVarianceResult {
  readonly options: Required<z.output<typeof estimatorVarianceSchema>>;
  /** 1/a, each diagonal entry of A⁻¹. */
  readonly trueInverse: number;
  readonly estimators: Record<EstimatorName, EstimatorStats>;
}

const FORMULAS: Record<EstimatorName, string> = {
  conventional: 'K·Π_{p=1}^{k}(I − A_s), k ~ U{0..K−1}',
  literal: 'Σ_{j=1}^{k} Π_{p=1}^{j}(I − A_s), k ~ U{0..K−1}',
  recursive: 'H = I + (I − A_s)H, K terms incl. I',
};

/** out ← I − A − E with E symmetric, entries N(0, σ²) on and above the diagonal. */
function drawFactor(rng: Rng, a: number, sigma: number, out: Matrix): void {
  const n = out.rows;
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      const e = sigma * rng.normal();
      out.data[i * n + j] = (i === j ? 1 - a : 0) - e;
      out.data[j * n + i] = out.data[i * n + j]!;
    }
}

/** One draw of the named estimator. */
function draw(name: EstimatorName, rng: Rng, K: number, a: number, sigma: number, factor: Matrix, eye: Matrix): Matrix {
  const n = eye.rows;
  if (name === 'recursive') {
    let h = identity(n);
    for (let j = 1; j < K; j++) {
      drawFactor(rng, a, sigma, factor);
      h = matmul(factor, h);
      axpy(1, eye.data, h.data);
    }
    return h;
  }
  const k = rng.int(K);
  let product = identity(n);
  const sum = zeros(n, n);
  for (let p = 1; p <= k; p++) {
    drawFactor(rng, a, sigma, factor);
    product = matmul(factor, product);
    axpy(1, product.data, sum.data);
  }
  if (name === 'literal') return sum;
  scale(K, product.data);
  return product;
}

function expectedMean(name: EstimatorName, K: number, a: number): number {
  const r = 1 - a;
  if (name !== 'literal') {
    let s = 0;
    for (let j = 0; j < K; j++) s += r ** j;
    return s;
  }
  let total = 0;
  for (let k = 0; k < K; k++) for (let j = 1; j <= k; j++) total += r ** j;
  return total / K;
}

/** Runs the Monte Carlo comparison (SEED-003 Fig. 1). Options are validated; errors name the field. */
export function estimatorVariance(options: EstimatorVarianceOptions): EstimatorVarianceResult {
  const o = parseWith(estimatorVarianceSchema, options);
  const n = o.dim;
  const cells = n * n;
  const eye = identity(n);
  const factor = zeros(n, n);
  const inv = 1 / o.a;
  const run = (name: EstimatorName): EstimatorStats => {
    const rng = new Rng(o.seed, 'estimator-variance', name);
    const samples = new Float64Array(o.trials * cells);
    for (let t = 0; t < o.trials; t++) samples.set(draw(name, rng, o.K, o.a, o.sigma, factor, eye).data, t * cells);
    const mean = new Float64Array(cells);
    const variance = new Float64Array(cells);
    for (let t = 0; t < o.trials; t++) axpy(1 / o.trials, samples.subarray(t * cells, (t + 1) * cells), mean);
    let mse = 0;
    for (let t = 0; t < o.trials; t++)
      for (let c = 0; c < cells; c++) {
        const v = samples[t * cells + c]!;
        const d = v - mean[c]!;
        variance[c]! += (d * d) / (o.trials - 1);
        const e = v - (c % (n + 1) === 0 ? inv : 0);
        mse += (e * e) / o.trials;
      }
    const rows = (v: Float64Array) => Array.from({ length: n }, (_, i) => Array.from(v.subarray(i * n, (i + 1) * n)));
    return {
      name,
      formula: FORMULAS[name],
      mean: mean[0]!,
      variance: variance[0]!,
      expectedMean: expectedMean(name, o.K, o.a),
      meanMatrix: rows(mean),
      varianceMatrix: rows(variance),
      totalVariance: variance.reduce((s, v) => s + v, 0),
      mse,
    };
  };
  return {
    options: o,
    trueInverse: inv,
    estimators: { conventional: run('conventional'), literal: run('literal'), recursive: run('recursive') },
  };
}

/** A plain-text table of the result (one row per estimator, entry (0, 0)). */
export function formatEstimatorVariance(result: EstimatorVarianceResult): string {
  const { options: o } = result;
  const head = ['estimator', 'formula', 'mean', 'exact mean', 'variance', 'total var', 'MSE vs A⁻¹'];
  const rows = ESTIMATORS.map((name) => {
    const s = result.estimators[name];
    return [name, s.formula, s.mean.toFixed(4), s.expectedMean.toFixed(4), s.variance.toFixed(4), s.totalVariance.toFixed(4), s.mse.toFixed(4)];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ').trimEnd();
  return [
    `Hessian-inverse estimators (SEED-003 Fig. 1): A = ${o.a}·I (${o.dim}×${o.dim}), A⁻¹ = ${result.trueInverse}·I, K = ${o.K}, σ = ${o.sigma}, ${o.trials} trials, seed ${o.seed}`,
    'mean and variance of the (0, 0) entry',
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n');
}
