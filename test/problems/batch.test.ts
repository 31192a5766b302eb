import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeDataset, type Dataset } from '../../src/data/dataset.ts';
import { BatchSampler } from '../../src/problems/batch.ts';
import { CountingOracle, ORACLE_KINDS, addCounts, emptyCounts, type OracleKind } from '../../src/problems/counting.ts';
import { LogregHpoOracle } from '../../src/problems/logreg-hpo.ts';
import { quadraticProblem } from '../../src/problems/quadratic.ts';
import { parseQuadraticInstance } from '../../src/problems/quadratic-file.ts';
import { randomQuadraticInstance } from '../../src/problems/quadratic-generator.ts';
import { fullBatch, type AgentOracle, type Batch } from '../../src/problems/types.ts';
import { Rng } from '../../src/random/rng.ts';

function indicesOf(b: Batch): number[] {
  return Array.from(b.indices.subarray(0, b.size));
}

function assertDistinctInRange(b: Batch, n: number): void {
  const idx = indicesOf(b);
  assert.equal(new Set(idx).size, idx.length, `duplicates in ${idx}`);
  for (const i of idx) assert.ok(Number.isInteger(i) && i >= 0 && i < n, `index ${i} outside [0, ${n})`);
}

// ------------------------------------------------------------------ BatchSampler

test('BatchSampler draws `size` distinct indices in [0, n)', () => {
  const s = new BatchSampler(100, 10);
  const b = s.create();
  assert.equal(b.indices.length, 10);
  assert.equal(b.full, false);
  s.draw(b, new Rng(1));
  assert.equal(b.full, false);
  assert.equal(b.size, 10);
  assertDistinctInRange(b, 100);
});

test('BatchSampler: many draws stay distinct (marks are reset), cover the range, and vary', () => {
  for (const [n, size] of [[20, 19], [20, 10], [7, 1], [50, 49], [1000, 3]] as const) {
    const s = new BatchSampler(n, size);
    const b = s.create();
    const rng = new Rng(2, n, size);
    const freq = new Array<number>(n).fill(0);
    const seen = new Set<string>();
    const seeds = new Set<number>();
    const draws = 2000;
    for (let t = 0; t < draws; t++) {
      s.draw(b, rng);
      assert.equal(b.size, size);
      assert.equal(b.full, false);
      assertDistinctInRange(b, n);
      for (const i of indicesOf(b)) freq[i]!++;
      seen.add(indicesOf(b).slice().sort((a, c) => a - c).join(','));
      seeds.add(b.seed);
    }
    assert.ok(seen.size > 1, 'batches vary');
    assert.ok(seeds.size > draws * 0.99, 'batch seeds vary');
    if (n <= 50) {
      // Uniform inclusion: every index appears about draws·size/n times.
      const expected = (draws * size) / n;
      for (let i = 0; i < n; i++) assert.ok(Math.abs(freq[i]! - expected) < 0.25 * expected + 5 * Math.sqrt(expected), `index ${i}: ${freq[i]} vs ${expected}`);
    }
  }
});

test('BatchSampler is deterministic for a given Rng seed', () => {
  const run = (seed: number): Array<[number, number[]]> => {
    const s = new BatchSampler(60, 8);
    const b = s.create();
    const rng = new Rng(seed, 'batches');
    const out: Array<[number, number[]]> = [];
    for (let t = 0; t < 50; t++) {
      s.draw(b, rng);
      out.push([b.seed, indicesOf(b)]);
    }
    return out;
  };
  assert.deepEqual(run(9), run(9));
  assert.notDeepEqual(run(9), run(10));
  // Two samplers sharing nothing but the Rng state give the same draw.
  const r1 = new Rng(3);
  const r2 = Rng.fromState(r1.getState());
  const b1 = new BatchSampler(60, 8).create();
  const b2 = new BatchSampler(60, 8).create();
  new BatchSampler(60, 8).draw(b1, r1);
  new BatchSampler(60, 8).draw(b2, r2);
  assert.deepEqual([b1.seed, ...indicesOf(b1)], [b2.seed, ...indicesOf(b2)]);
});

test('BatchSampler: size ≥ n and "full" give the full batch (with a fresh seed)', () => {
  for (const size of [30, 31, 1000, 'full'] as const) {
    const s = new BatchSampler(30, size);
    const b = s.create();
    const rng = new Rng(4);
    s.draw(b, rng);
    assert.equal(b.full, true, `size ${size}`);
    assert.equal(b.size, 30);
    const seed1 = b.seed;
    s.draw(b, rng);
    assert.notEqual(b.seed, seed1, 'each draw takes a new seed');
  }
  assert.equal(new BatchSampler(30, 'full').create().full, true);
  // A batch object that was a minibatch becomes full and back again correctly.
  const b: Batch = { full: false, size: 0, indices: new Int32Array(5), seed: 0 };
  new BatchSampler(10, 'full').draw(b, new Rng(5));
  assert.equal(b.full, true);
  new BatchSampler(10, 5).draw(b, new Rng(5));
  assert.equal(b.full, false);
  assert.equal(b.size, 5);
  assertDistinctInRange(b, 10);
});

test('BatchSampler: an Infinity population gives `size` with a seed (no indices)', () => {
  const s = new BatchSampler(Infinity, 16);
  const b = s.create();
  assert.equal(b.indices.length, 0);
  const rng = new Rng(6);
  const seeds = new Set<number>();
  for (let t = 0; t < 100; t++) {
    s.draw(b, rng);
    assert.equal(b.full, false);
    assert.equal(b.size, 16);
    assert.ok(Number.isInteger(b.seed) && b.seed >= 0 && b.seed < 2 ** 32);
    seeds.add(b.seed);
  }
  assert.equal(seeds.size, 100);
  const f = new BatchSampler(Infinity, 'full');
  const fb = f.create();
  f.draw(fb, rng);
  assert.equal(fb.full, true);
  assert.equal(fb.size, 0);
});

test('BatchSampler: a draw consumes a deterministic amount of randomness (same Rng stream afterwards)', () => {
  const r1 = new Rng(11);
  const r2 = new Rng(11);
  const s = new BatchSampler(40, 6);
  const b = s.create();
  s.draw(b, r1);
  s.draw(s.create(), r2);
  assert.equal(r1.nextUint32(), r2.nextUint32());
});

// ------------------------------------------------------------------ CountingOracle

function randomDataset(rng: Rng, n: number, d: number, classes: number): Dataset {
  const features = Float64Array.from({ length: n * d }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, () => rng.int(classes));
  return makeDataset(n, d, classes, features, labels);
}

/** Calls every oracle once on `batch` through `c`, and checks each result equals the inner oracle's. */
function callAll(c: CountingOracle, inner: AgentOracle, batch: Batch): void {
  const x = Float64Array.from({ length: c.dx }, (_, i) => 0.1 * i - 0.2);
  const y = Float64Array.from({ length: c.dy }, (_, i) => Math.sin(i + 1));
  const v = Float64Array.from({ length: c.dy }, (_, i) => Math.cos(i));
  assert.equal(c.f(x, y, batch), inner.f(x, y, batch));
  assert.equal(c.g(x, y, batch), inner.g(x, y, batch));
  assert.equal(c.lowerDataLoss(x, y, batch), inner.lowerDataLoss(x, y, batch));
  const a = [new Float64Array(c.dx), new Float64Array(c.dy)] as const;
  const b = [new Float64Array(c.dx), new Float64Array(c.dy)] as const;
  c.gradF(x, y, batch, a[0], a[1]);
  inner.gradF(x, y, batch, b[0], b[1]);
  assert.deepEqual([...a[0], ...a[1]], [...b[0], ...b[1]]);
  c.gradG(x, y, batch, a[0], a[1]);
  inner.gradG(x, y, batch, b[0], b[1]);
  assert.deepEqual([...a[0], ...a[1]], [...b[0], ...b[1]]);
  c.gradG(x, y, batch, null, a[1]);
  c.hvp(x, y, v, batch, a[1]);
  inner.hvp(x, y, v, batch, b[1]);
  assert.deepEqual([...a[1]], [...b[1]]);
  c.jvp(x, y, v, batch, a[0]);
  inner.jvp(x, y, v, batch, b[0]);
  assert.deepEqual([...a[0]], [...b[0]]);
  const hc = new Float64Array(c.dy * c.dy);
  const hi = new Float64Array(c.dy * c.dy);
  c.hessian(x, y, batch, hc);
  inner.hessian(x, y, batch, hi);
  assert.deepEqual([...hc], [...hi]);
  const jc = new Float64Array(c.dx * c.dy);
  const ji = new Float64Array(c.dx * c.dy);
  c.jacobian(x, y, batch, jc);
  inner.jacobian(x, y, batch, ji);
  assert.deepEqual([...jc], [...ji]);
}

const counts = (r: Record<OracleKind, number>): number[] => ORACLE_KINDS.map((k) => r[k]);

test('CountingOracle counts calls and samples by kind (logreg: full batch counts the local sample count)', () => {
  const rng = new Rng(12);
  const train = randomDataset(rng, 30, 4, 3);
  const val = randomDataset(rng, 12, 4, 3);
  const inner = new LogregHpoOracle(train, val);
  const c = new CountingOracle(inner);
  assert.equal(c.dx, 4);
  assert.equal(c.dy, 12);
  assert.equal(c.upperSamples, 12);
  assert.equal(c.lowerSamples, 30);
  assert.deepEqual(c.counts, emptyCounts());
  // ORACLE_KINDS order: gradF, gradG, hvp, jvp, valueF, valueG, hessian, jacobian.
  assert.deepEqual([...ORACLE_KINDS], ['gradF', 'gradG', 'hvp', 'jvp', 'valueF', 'valueG', 'hessian', 'jacobian']);
  callAll(c, inner, fullBatch());
  // valueG counts g and lowerDataLoss; gradG was called twice.
  assert.deepEqual(counts(c.counts.calls), [1, 2, 1, 1, 1, 2, 1, 1]);
  assert.deepEqual(counts(c.counts.samples), [12, 60, 30, 30, 12, 60, 30, 30]);
  const mb: Batch = { full: false, size: 7, indices: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]), seed: 1 };
  callAll(c, inner, mb);
  assert.deepEqual(counts(c.counts.calls), [2, 4, 2, 2, 2, 4, 2, 2]);
  assert.deepEqual(counts(c.counts.samples), [19, 74, 37, 37, 19, 74, 37, 37]);
});

test('CountingOracle on a population oracle: a full batch counts 1, a minibatch its size', () => {
  const json = randomQuadraticInstance({ agents: 2, dx: 3, dy: 2, problemClass: 'global', heterogeneity: 0.5, noise: 0.2 }, 1);
  const parsed = parseQuadraticInstance(json, 'q.json');
  const inner = quadraticProblem(parsed.problemClass, parsed.agents, parsed.noise).agents[0]!;
  const c = new CountingOracle(inner);
  assert.equal(c.upperSamples, Infinity);
  assert.equal(c.lowerSamples, Infinity);
  callAll(c, inner, fullBatch());
  assert.deepEqual(counts(c.counts.samples), [1, 2, 1, 1, 1, 2, 1, 1]);
  callAll(c, inner, { full: false, size: 5, indices: new Int32Array(0), seed: 3 });
  assert.deepEqual(counts(c.counts.calls), [2, 4, 2, 2, 2, 4, 2, 2]);
  assert.deepEqual(counts(c.counts.samples), [6, 12, 6, 6, 6, 12, 6, 6]);
});

test('addCounts sums calls and samples of every kind', () => {
  const a = emptyCounts();
  const b = emptyCounts();
  ORACLE_KINDS.forEach((k, i) => {
    a.calls[k] = i;
    a.samples[k] = 10 * i;
    b.calls[k] = 1;
    b.samples[k] = 100;
  });
  addCounts(a, b);
  addCounts(a, b);
  assert.deepEqual(counts(a.calls), [2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(counts(a.samples), [200, 210, 220, 230, 240, 250, 260, 270]);
  assert.deepEqual(counts(b.calls), [1, 1, 1, 1, 1, 1, 1, 1], 'source unchanged');
  // emptyCounts returns fresh objects.
  const e1 = emptyCounts();
  e1.calls.hvp = 5;
  assert.equal(emptyCounts().calls.hvp, 0);
});
