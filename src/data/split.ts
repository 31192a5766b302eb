/**
 * Splitting data: train/validation/test splits, partitions over agents (i.i.d.
 * or Dirichlet label skew), and feature scaling fitted on a training set.
 * Every random choice comes from a seeded Rng stream, so results are
 * deterministic for a seed.
 */
import { ConfigError } from '../errors.ts';
import { Rng } from '../random/rng.ts';
import { subset, type Dataset } from './dataset.ts';

export interface SplitOptions {
  /** Fraction of all rows held out for testing (SEED-000 §4.3: 0.1). */
  readonly testFraction?: number;
  /** Fraction of the remaining rows used for validation (SEED-000 §4.3: 0.3). */
  readonly valFraction?: number;
}

export interface TrainValTest {
  readonly train: Dataset;
  readonly val: Dataset;
  readonly test: Dataset;
}

function checkFraction(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v >= 1) {
    throw new ConfigError(field, `expected a number in [0, 1), got ${String(v)}`);
  }
  return v;
}

/**
 * Random train/validation/test split (SEED-000 §4.3: 10 % test, then 70/30
 * train/validation of the rest). One permutation from Rng(seed, 'split'):
 * its first round(testFraction·n) rows are the test set, the next
 * round(valFraction·(n − nTest)) the validation set, the rest the training
 * set; each keeps the permutation's order.
 */
export function trainValTestSplit(ds: Dataset, options: SplitOptions, seed: number): TrainValTest {
  const testFraction = checkFraction('split.testFraction', options.testFraction ?? 0.1);
  const valFraction = checkFraction('split.valFraction', options.valFraction ?? 0.3);
  const n = ds.n;
  const nTest = Math.round(testFraction * n);
  const nVal = Math.round(valFraction * (n - nTest));
  const nTrain = n - nTest - nVal;
  if (nTrain < 1) {
    throw new ConfigError('split', `${n} samples leave no training samples after ${nTest} test and ${nVal} validation samples`);
  }
  const perm = new Rng(seed, 'split').permutation(n);
  return {
    test: subset(ds, perm.subarray(0, nTest)),
    val: subset(ds, perm.subarray(nTest, nTest + nVal)),
    train: subset(ds, perm.subarray(nTest + nVal)),
  };
}

/** How rows are dealt to agents. */
export type Partition = { readonly type: 'iid' } | { readonly type: 'dirichlet'; readonly alpha: number };

/**
 * Splits a data set over `agents` agents. Random numbers come from
 * Rng(seed, 'partition', label), so different data sets (say train and
 * validation) partitioned with different labels get independent draws.
 *
 * - iid: a random permutation cut into `agents` contiguous parts whose sizes
 *   differ by at most 1 (the first n mod agents parts get the extra row).
 * - dirichlet: label skew. For each class in turn, its rows are shuffled and
 *   dealt to the agents in proportions drawn from Dirichlet(alpha, ..., alpha)
 *   (small alpha: each class goes mostly to a few agents; large alpha: close
 *   to i.i.d.). An agent left with no row then takes one from the currently
 *   largest agent. Each agent's rows are finally shuffled.
 */
export function partition(ds: Dataset, agents: number, p: Partition, seed: number, label: string): Dataset[] {
  if (!Number.isInteger(agents) || agents < 1) {
    throw new ConfigError('partition.agents', `expected an integer >= 1, got ${String(agents)}`);
  }
  if (agents > ds.n) {
    throw new ConfigError('partition', `splitting ${ds.n} samples over ${agents} agents needs at least one sample per agent`);
  }
  const rng = new Rng(seed, 'partition', label);
  if (p.type === 'iid') {
    const perm = rng.permutation(ds.n);
    const base = Math.floor(ds.n / agents);
    const extra = ds.n % agents;
    const out: Dataset[] = [];
    let start = 0;
    for (let a = 0; a < agents; a++) {
      const size = base + (a < extra ? 1 : 0);
      out.push(subset(ds, perm.subarray(start, start + size)));
      start += size;
    }
    return out;
  }
  if (p.type !== 'dirichlet') {
    throw new ConfigError('partition.type', `expected 'iid' or 'dirichlet', got ${JSON.stringify((p as { type: unknown }).type)}`);
  }
  const alpha = p.alpha;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 0) {
    throw new ConfigError('partition.alpha', `expected a finite number > 0, got ${String(alpha)}`);
  }
  // Rows of each class, in data set order.
  const byClass: number[][] = Array.from({ length: ds.classes }, () => []);
  for (let i = 0; i < ds.n; i++) byClass[ds.labels[i]!]!.push(i);
  const parts: number[][] = Array.from({ length: agents }, () => []);
  for (const rows of byClass) {
    if (rows.length === 0) continue;
    rng.shuffle(rows);
    const props = rng.dirichlet(agents, alpha);
    let cum = 0;
    let start = 0;
    for (let a = 0; a < agents; a++) {
      cum += props[a]!;
      const end = a === agents - 1 ? rows.length : Math.min(rows.length, Math.round(cum * rows.length));
      for (let k = start; k < end; k++) parts[a]!.push(rows[k]!);
      if (end > start) start = end;
    }
  }
  for (let a = 0; a < agents; a++) {
    if (parts[a]!.length > 0) continue;
    let largest = 0;
    for (let b = 1; b < agents; b++) if (parts[b]!.length > parts[largest]!.length) largest = b;
    parts[a]!.push(parts[largest]!.pop()!);
  }
  return parts.map((rows) => subset(ds, rng.shuffle(rows)));
}

export interface FeatureScaling {
  /** Per-feature offset subtracted. */
  readonly shift: Float64Array;
  /** Per-feature divisor (never 0). */
  readonly scale: Float64Array;
}

function applyScaling(ds: Dataset, s: FeatureScaling): Dataset {
  const d = ds.d;
  if (s.shift.length !== d) throw new RangeError(`scaling: dataset has d = ${ds.d}, expected ${s.shift.length}`);
  const features = new Float64Array(ds.features.length);
  for (let i = 0; i < ds.n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) features[base + j] = (ds.features[base + j]! - s.shift[j]!) / s.scale[j]!;
  }
  return { n: ds.n, d, classes: ds.classes, features, labels: ds.labels.slice() };
}

/** Per-feature mean and standard deviation (population) of a data set; a zero deviation becomes 1. */
export function standardScaling(train: Dataset): FeatureScaling {
  const { n, d } = train;
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) mean[j]! += train.features[base + j]!;
  }
  for (let j = 0; j < d; j++) mean[j] = n > 0 ? mean[j]! / n : 0;
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) {
      const t = train.features[base + j]! - mean[j]!;
      m2[j]! += t * t;
    }
  }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const s = n > 0 ? Math.sqrt(m2[j]! / n) : 0;
    std[j] = s > 1e-12 * Math.max(1, Math.abs(mean[j]!)) ? s : 1;
  }
  return { shift: mean, scale: std };
}

/**
 * Standardizes features with the training set's per-feature mean and standard
 * deviation (a constant feature is only centred). Returns new data sets:
 * [train, ...others], in the order given.
 */
export function standardize(train: Dataset, ...others: Dataset[]): Dataset[] {
  const s = standardScaling(train);
  return [train, ...others].map((ds) => applyScaling(ds, s));
}

/**
 * Min–max scales features to [0, 1] with the training set's per-feature range
 * (as LIBSVM's svm-scale, e.g. covtype.binary.scale); a constant feature is
 * only shifted. Returns new data sets: [train, ...others].
 */
export function minMaxScale(train: Dataset, ...others: Dataset[]): Dataset[] {
  const { n, d } = train;
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) {
      const v = train.features[base + j]!;
      if (v < lo[j]!) lo[j] = v;
      if (v > hi[j]!) hi[j] = v;
    }
  }
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    if (n === 0) lo[j] = 0;
    const r = n > 0 ? hi[j]! - lo[j]! : 0;
    scale[j] = r > 0 ? r : 1;
  }
  return [train, ...others].map((ds) => applyScaling(ds, { shift: lo, scale }));
}
