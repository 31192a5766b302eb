import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.ts';
import { Rng } from '../../src/random/rng.ts';
import { concat, labelCounts, makeDataset, subset, type Dataset } from '../../src/data/dataset.ts';
import { minMaxScale, partition, standardize, trainValTestSplit } from '../../src/data/split.ts';

/** n rows, d = 2: feature 0 is the row id, feature 1 the label; labels cycle or are random. */
function idData(n: number, classes: number, seed = 0): Dataset {
  const rng = new Rng(seed, 'test-data');
  const features = new Float64Array(n * 2);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = seed === 0 ? i % classes : rng.int(classes);
    features[2 * i] = i;
    features[2 * i + 1] = labels[i]!;
  }
  return makeDataset(n, 2, classes, features, labels);
}

function ids(ds: Dataset): number[] {
  const out: number[] = [];
  for (let i = 0; i < ds.n; i++) {
    assert.equal(ds.features[2 * i + 1], ds.labels[i], 'rows keep their label');
    out.push(ds.features[2 * i]!);
  }
  return out;
}

function assertCovers(parts: Dataset[], n: number): void {
  const all = parts.flatMap(ids).sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: n }, (_, i) => i));
}

test('subset, concat, makeDataset', () => {
  const ds = idData(10, 3);
  const s = subset(ds, [4, 1, 4]);
  assert.deepEqual(ids(s), [4, 1, 4]);
  assert.deepEqual(Array.from(s.labels), [1, 1, 1]);
  s.features[0] = 99;
  assert.equal(ds.features[8], 4, 'subset copies');
  const c = concat([subset(ds, [0, 1]), subset(ds, new Int32Array([9]))]);
  assert.equal(c.n, 3);
  assert.deepEqual(ids(c), [0, 1, 9]);
  assert.throws(() => subset(ds, [10]), RangeError);
  assert.throws(() => concat([]), RangeError);
  assert.throws(() => makeDataset(2, 2, 2, new Float64Array(4), new Int32Array([0, 2])), RangeError);
  assert.deepEqual(labelCounts(ds), [4, 3, 3]);
});

test('train/validation/test split: SEED-000 sizes, disjoint, deterministic', () => {
  const ds = idData(1000, 2);
  const a = trainValTestSplit(ds, { testFraction: 0.1, valFraction: 0.3 }, 11);
  assert.equal(a.test.n, 100);
  assert.equal(a.val.n, 270);
  assert.equal(a.train.n, 630);
  assertCovers([a.train, a.val, a.test], 1000);
  const b = trainValTestSplit(ds, {}, 11);
  assert.deepEqual(b, a, 'defaults are 0.1 / 0.3, and the split is deterministic');
  const c = trainValTestSplit(ds, {}, 12);
  assert.notDeepEqual(ids(c.test), ids(a.test));
  assert.throws(() => trainValTestSplit(ds, { testFraction: 1 }, 1), ConfigError);
  assert.throws(() => trainValTestSplit(ds, { valFraction: -0.1 }, 1), ConfigError);
  assert.throws(() => trainValTestSplit(idData(1, 2), { testFraction: 0.5, valFraction: 0.9 }, 1), ConfigError);
});

test('iid partition: sizes differ by at most one and cover every row once', () => {
  const ds = idData(103, 2);
  const parts = partition(ds, 8, { type: 'iid' }, 5, 'train');
  assert.deepEqual(
    parts.map((p) => p.n),
    [13, 13, 13, 13, 13, 13, 13, 12],
  );
  assertCovers(parts, 103);
  assert.deepEqual(partition(ds, 8, { type: 'iid' }, 5, 'train'), parts);
  assert.notDeepEqual(partition(ds, 8, { type: 'iid' }, 5, 'val').map(ids), parts.map(ids));
  assert.deepEqual(partition(ds, 1, { type: 'iid' }, 5, 'x')[0]!.n, 103);
});

test('partition needs at least one sample per agent', () => {
  assert.throws(
    () => partition(idData(5, 2), 6, { type: 'iid' }, 1, 'train'),
    (e: unknown) => e instanceof ConfigError && /^partition: .*needs at least one sample per agent/.test(e.message),
  );
  assert.throws(() => partition(idData(5, 2), 0, { type: 'iid' }, 1, 'train'), ConfigError);
  assert.throws(() => partition(idData(5, 2), 2, { type: 'dirichlet', alpha: 0 }, 1, 'train'), ConfigError);
});

/** Average over agents of the largest class share of the agent's rows. */
function maxClassShare(parts: Dataset[]): number {
  let s = 0;
  for (const p of parts) s += Math.max(...labelCounts(p)) / p.n;
  return s / parts.length;
}

test('dirichlet partition: deterministic, covers every row, skew grows as alpha shrinks', () => {
  const ds = idData(5000, 10, 3);
  const skewed = partition(ds, 10, { type: 'dirichlet', alpha: 0.1 }, 9, 'train');
  assert.deepEqual(partition(ds, 10, { type: 'dirichlet', alpha: 0.1 }, 9, 'train'), skewed);
  assert.notDeepEqual(partition(ds, 10, { type: 'dirichlet', alpha: 0.1 }, 10, 'train').map(ids), skewed.map(ids));
  assertCovers(skewed, 5000);
  for (const p of skewed) assert.ok(p.n >= 1);
  const flat = partition(ds, 10, { type: 'dirichlet', alpha: 100 }, 9, 'train');
  assertCovers(flat, 5000);
  const sSkewed = maxClassShare(skewed);
  const sFlat = maxClassShare(flat);
  assert.ok(sSkewed > 0.5, `alpha 0.1: average max class share ${sSkewed}`);
  assert.ok(sFlat < 0.2, `alpha 100: average max class share ${sFlat}`);
  // Near-uniform sizes for large alpha.
  for (const p of flat) assert.ok(Math.abs(p.n - 500) < 100, `alpha 100: agent size ${p.n}`);
});

test('dirichlet partition gives every agent a row even when alpha is tiny', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const parts = partition(idData(20, 2), 20, { type: 'dirichlet', alpha: 0.01 }, seed, 'train');
    assert.deepEqual(
      parts.map((p) => p.n),
      new Array(20).fill(1),
    );
    assertCovers(parts, 20);
    const few = partition(idData(50, 3), 12, { type: 'dirichlet', alpha: 0.01 }, seed, 'val');
    for (const p of few) assert.ok(p.n >= 1);
    assertCovers(few, 50);
  }
});

test('standardize and minMaxScale use the training statistics', () => {
  // d = 2: feature 0 varies, feature 1 is constant 5.
  const train = makeDataset(4, 2, 2, new Float64Array([1, 5, 2, 5, 3, 5, 4, 5]), new Int32Array([0, 1, 0, 1]));
  const other = makeDataset(1, 2, 2, new Float64Array([2.5, 7]), new Int32Array([1]));
  const [st, so] = standardize(train, other);
  const sd = Math.sqrt(1.25);
  assert.deepEqual(
    Array.from(st!.features).map((v) => +v.toFixed(12)),
    [-1.5 / sd, 0, -0.5 / sd, 0, 0.5 / sd, 0, 1.5 / sd, 0].map((v) => +v.toFixed(12)),
  );
  assert.deepEqual(Array.from(so!.features), [0, 2]);
  assert.deepEqual(Array.from(so!.labels), [1]);
  assert.equal(train.features[0], 1, 'inputs are not modified');
  const [mt, mo] = minMaxScale(train, other);
  assert.deepEqual(Array.from(mt!.features), [0, 0, 1 / 3, 0, 2 / 3, 0, 1, 0]);
  assert.deepEqual(Array.from(mo!.features), [0.5, 2]);
});
