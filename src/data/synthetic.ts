/**
 * The synthetic heterogeneous data set of SEED-000 (CD-BSVRGD), its §4 experiments.
 *
 * On worker k (0-based) each sample has features a ∈ R^d and a label
 * y = sign(wᵀa + noise·b), stored as class 1 when wᵀa + noise·b > 0 and class 0
 * otherwise. w ∈ R^d is standard Gaussian and shared by all workers; b is a
 * standard Gaussian drawn per sample. Training and validation features are
 * i.i.d. N(0, 1) on even workers and i.i.d. χ²(k) on odd workers (k degrees of
 * freedom: 1, 3, 5, 7 for k = 1, 3, 5, 7), which makes the workers'
 * distributions differ. Test features are N(0, 1) on every worker. (As χ²
 * entries are positive, wᵀa has mean k·Σw on odd workers, so their labels can
 * be strongly imbalanced, for small d even a single class; that is a property
 * of the construction.)
 *
 * Random streams: w from Rng(seed, 'synthetic', 'w'); worker k's split s from
 * Rng(seed, 'synthetic', 'agent', k, s) with s ∈ {'train', 'val', 'test'}, so a
 * worker's data does not depend on how many workers there are or on the
 * sizes of the other splits. Per sample, the d feature entries are drawn
 * first, then b. Normals use Marsaglia's polar method and χ²(k) = 2·Gamma(k/2)
 * (Marsaglia–Tsang; z² for k = 1), driven by Rng.uniform.
 */
import { ConfigError } from '../errors.ts';
import { Rng } from '../random/rng.ts';
import type { Dataset } from './dataset.ts';

export interface Seed000SyntheticOptions {
  /** Number of workers (the paper uses 8). */
  readonly agents: number;
  /** Training samples per worker (paper: 6250). */
  readonly trainPerAgent: number;
  /** Validation samples per worker (paper: 6250). */
  readonly valPerAgent: number;
  /** Test samples per worker (paper: 1000). */
  readonly testPerAgent: number;
  /** Feature dimension d (paper: 200). */
  readonly features: number;
  /** Scale of the label noise b (paper: 0.1). */
  readonly noise?: number;
}

export interface SyntheticSplits {
  readonly train: Dataset[];
  readonly val: Dataset[];
  readonly test: Dataset[];
}

/** The paper's sizes: 8 workers, d = 200, 6250 / 6250 / 1000 samples per worker. */
export const SEED000_SYNTHETIC_DEFAULTS: Readonly<Required<Seed000SyntheticOptions>> = Object.freeze({
  agents: 8,
  trainPerAgent: 6250,
  valPerAgent: 6250,
  testPerAgent: 1000,
  features: 200,
  noise: 0.1,
});

/**
 * Fast standard normals and chi-squares from an Rng. Normals come from
 * Marsaglia's polar method, two per accepted pair of uniforms (no
 * trigonometry); χ²(1) is z²; χ²(k) for k ≥ 2 is 2·Gamma(k/2) by
 * Marsaglia–Tsang with these normals (about one normal and one uniform per
 * draw, instead of k normals for a sum of squares). Same distributions as
 * Rng.normal / Rng.chiSquare, a few times faster for the paper-size data.
 */
class FastSampler {
  private spare = 0;
  private hasSpare = false;
  constructor(readonly rng: Rng) {}

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.rng.uniform() - 1;
      v = 2 * this.rng.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    this.hasSpare = true;
    return u * f;
  }

  /** χ² with df ≥ 1 degrees of freedom. */
  chiSquare(df: number): number {
    if (df === 1) {
      const z = this.normal();
      return z * z;
    }
    // Gamma(shape = df/2 ≥ 1), Marsaglia–Tsang.
    const d = df / 2 - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.rng.uniform();
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return 2 * d * v;
    }
  }
}

function checkCount(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new ConfigError(field, `expected an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}

/**
 * Generates one worker's split. `chiDf` = 0 draws N(0,1) features; otherwise
 * χ²(chiDf) features.
 */
function generate(w: Float64Array, n: number, chiDf: number, noise: number, rng: Rng): Dataset {
  const d = w.length;
  const features = new Float64Array(n * d);
  const labels = new Int32Array(n);
  const sampler = new FastSampler(rng);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    let margin = 0;
    for (let j = 0; j < d; j++) {
      const a = chiDf === 0 ? sampler.normal() : sampler.chiSquare(chiDf);
      features[base + j] = a;
      margin += w[j]! * a;
    }
    margin += noise * sampler.normal();
    labels[i] = margin > 0 ? 1 : 0;
  }
  return { n, d, classes: 2, features, labels };
}

/**
 * SEED-000's synthetic heterogeneous data: per worker a train, validation and
 * test Dataset with 2 classes. Deterministic for a seed.
 */
export function seed000Synthetic(options: Seed000SyntheticOptions, seed: number): SyntheticSplits {
  const agents = checkCount('synthetic.agents', options.agents, 1);
  const nTrain = checkCount('synthetic.trainPerAgent', options.trainPerAgent, 0);
  const nVal = checkCount('synthetic.valPerAgent', options.valPerAgent, 0);
  const nTest = checkCount('synthetic.testPerAgent', options.testPerAgent, 0);
  const d = checkCount('synthetic.features', options.features, 1);
  const noise = options.noise ?? 0.1;
  if (typeof noise !== 'number' || !Number.isFinite(noise) || noise < 0) {
    throw new ConfigError('synthetic.noise', `expected a finite number >= 0, got ${String(noise)}`);
  }
  const w = new Float64Array(d);
  const wSource = new FastSampler(new Rng(seed, 'synthetic', 'w'));
  for (let j = 0; j < d; j++) w[j] = wSource.normal();

  const train: Dataset[] = [];
  const val: Dataset[] = [];
  const test: Dataset[] = [];
  for (let k = 0; k < agents; k++) {
    const df = k % 2 === 0 ? 0 : k;
    train.push(generate(w, nTrain, df, noise, new Rng(seed, 'synthetic', 'agent', k, 'train')));
    val.push(generate(w, nVal, df, noise, new Rng(seed, 'synthetic', 'agent', k, 'val')));
    test.push(generate(w, nTest, 0, noise, new Rng(seed, 'synthetic', 'agent', k, 'test')));
  }
  return { train, val, test };
}
