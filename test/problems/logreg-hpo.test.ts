/**
 * The fused oracle paths of the logistic-HPO problem: the HVP reuses the
 * probabilities of the preceding ∇_y g only when Y and the batch are the same
 * (by content), gives exactly what a fresh oracle gives, and every call is
 * still counted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeDataset } from '../../src/data/dataset.ts';
import { CountingOracle } from '../../src/problems/counting.ts';
import { accuracy, LogregHpoOracle } from '../../src/problems/logreg-hpo.ts';
import { fullBatch, type Batch } from '../../src/problems/types.ts';
import { Rng } from '../../src/random/rng.ts';

function setup(seed: number) {
  const rng = new Rng(seed, 'logreg-fused');
  const [n, d, c] = [50, 6, 3];
  const ds = () => makeDataset(n, d, c, Float64Array.from({ length: n * d }, () => rng.normal()), Int32Array.from({ length: n }, () => rng.int(c)));
  const train = ds();
  const val = ds();
  const x = Float64Array.from({ length: d }, () => 0.3 * rng.normal());
  const y = Float64Array.from({ length: d * c }, () => rng.normal());
  const v = Float64Array.from({ length: d * c }, () => rng.normal());
  return { train, val, x, y, v, d, c };
}

/** HVP of a brand-new oracle (empty cache). */
function freshHvp(s: ReturnType<typeof setup>, y: Float64Array, batch: Batch): Float64Array {
  const out = new Float64Array(s.d * s.c);
  new LogregHpoOracle(s.train, s.val).hvp(s.x, y, s.v, batch, out);
  return out;
}

test('logreg HPO: an HVP after ∇_y g at the same Y and batch equals a fresh HVP exactly', () => {
  const s = setup(1);
  const o = new LogregHpoOracle(s.train, s.val);
  const g = new Float64Array(s.d * s.c);
  const h = new Float64Array(s.d * s.c);
  for (const batch of [fullBatch(), { full: false, size: 5, indices: Int32Array.from([4, 9, 0, 33, 12, 7]), seed: 1 }]) {
    o.gradG(s.x, s.y, batch, null, g);
    o.hvp(s.x, s.y, s.v, batch, h);
    assert.deepEqual(h, freshHvp(s, s.y, batch));
    // A second HVP at the same point (as in CG solves) reuses the probabilities too.
    o.hvp(s.x, s.y, s.v, batch, h);
    assert.deepEqual(h, freshHvp(s, s.y, batch));
  }
});

test('logreg HPO: the HVP does not reuse probabilities after Y or the batch changed in place', () => {
  const s = setup(2);
  const o = new LogregHpoOracle(s.train, s.val);
  const g = new Float64Array(s.d * s.c);
  const h = new Float64Array(s.d * s.c);
  const batch: Batch = { full: false, size: 4, indices: Int32Array.from([1, 2, 3, 4]), seed: 0 };
  const y = Float64Array.from(s.y);
  o.gradG(s.x, y, batch, null, g);
  y[3]! += 0.5; // same array, new contents
  o.hvp(s.x, y, s.v, batch, h);
  assert.deepEqual(h, freshHvp(s, y, batch));
  assert.notDeepEqual(h, freshHvp(s, s.y, batch));

  o.gradG(s.x, y, batch, null, g);
  batch.indices[2] = 40; // same batch object, another sample
  o.hvp(s.x, y, s.v, batch, h);
  assert.deepEqual(h, freshHvp(s, y, batch));
  batch.size = 3; // a shorter batch
  o.hvp(s.x, y, s.v, batch, h);
  assert.deepEqual(h, freshHvp(s, y, batch));
  o.hvp(s.x, y, s.v, fullBatch(), h); // full after minibatch
  assert.deepEqual(h, freshHvp(s, y, fullBatch()));
});

test('logreg HPO: value and upper-level calls do not disturb the lower-level cache', () => {
  const s = setup(3);
  const o = new LogregHpoOracle(s.train, s.val);
  const g = new Float64Array(s.d * s.c);
  const h = new Float64Array(s.d * s.c);
  const gx = new Float64Array(s.d);
  const batch: Batch = { full: false, size: 6, indices: Int32Array.from([5, 6, 7, 8, 9, 10]), seed: 0 };
  o.gradG(s.x, s.y, batch, null, g);
  o.gradF(s.x, s.y, batch, gx, g);
  o.g(s.x, s.v, batch);
  o.lowerDataLoss(s.x, s.v, fullBatch());
  o.f(s.x, s.v, batch);
  o.hvp(s.x, s.y, s.v, batch, h);
  assert.deepEqual(h, freshHvp(s, s.y, batch));
});

test('logreg HPO: with the fused paths every oracle call and sample is still counted', () => {
  const s = setup(4);
  const o = new CountingOracle(new LogregHpoOracle(s.train, s.val));
  const g = new Float64Array(s.d * s.c);
  const gx = new Float64Array(s.d);
  const batch: Batch = { full: false, size: 7, indices: Int32Array.from([0, 1, 2, 3, 4, 5, 6]), seed: 0 };
  for (let k = 0; k < 3; k++) {
    o.gradF(s.x, s.y, batch, gx, g);
    o.gradG(s.x, s.y, batch, null, g);
    o.hvp(s.x, s.y, s.v, batch, g);
    o.jvp(s.x, s.y, s.v, batch, gx);
  }
  o.hvp(s.x, s.y, s.v, fullBatch(), g);
  assert.deepEqual(
    { gradF: o.counts.calls.gradF, gradG: o.counts.calls.gradG, hvp: o.counts.calls.hvp, jvp: o.counts.calls.jvp },
    { gradF: 3, gradG: 3, hvp: 4, jvp: 3 },
  );
  assert.deepEqual(
    { gradF: o.counts.samples.gradF, gradG: o.counts.samples.gradG, hvp: o.counts.samples.hvp, jvp: o.counts.samples.jvp },
    { gradF: 21, gradG: 21, hvp: 21 + 50, jvp: 21 },
  );
});

test('logreg HPO on sparse features: the CSR row passes give every oracle of the dense passes to 1e-12, and are chosen by density', () => {
  const rng = new Rng(5, 'logreg-sparse');
  const [n, d, c] = [40, 30, 2];
  const ds = () => makeDataset(n, d, c, Float64Array.from({ length: n * d }, () => (rng.uniform() < 0.1 ? rng.normal() : 0)), Int32Array.from({ length: n }, () => rng.int(c)));
  const [train, val] = [ds(), ds()];
  const sparse = new LogregHpoOracle(train, val);
  const dense = new LogregHpoOracle(train, val, { sparse: 'never' });
  assert.deepEqual(sparse.sparseRows, { train: true, val: true });
  assert.deepEqual(dense.sparseRows, { train: false, val: false });
  assert.deepEqual(new LogregHpoOracle(setup(1).train, setup(1).val).sparseRows, { train: false, val: false }, 'dense data stays on the dense kernels');
  const x = Float64Array.from({ length: d }, () => 0.3 * rng.normal());
  const y = Float64Array.from({ length: d * c }, () => rng.normal());
  const v = Float64Array.from({ length: d * c }, () => rng.normal());
  const close = (a: Float64Array | number, b: Float64Array | number, what: string) => {
    const [p, q] = [typeof a === 'number' ? [a] : Array.from(a), typeof b === 'number' ? [b] : Array.from(b)];
    const scale = Math.max(...q.map(Math.abs), 1e-300);
    const err = Math.max(...p.map((e, i) => Math.abs(e - q[i]!)));
    assert.ok(err <= 1e-12 * scale, `${what}: ${err} relative to ${scale}`);
  };
  assert.equal(sparse.trainAccuracy(y), accuracy(train, y), 'training accuracy over the CSR rows');
  for (const batch of [fullBatch(), { full: false, size: 6, indices: Int32Array.from([4, 9, 0, 33, 12, 7]), seed: 1 }] as Batch[]) {
    const out = () => [new Float64Array(d), new Float64Array(d * c)] as const;
    const [fx1, fy1] = out();
    const [fx2, fy2] = out();
    sparse.gradF(x, y, batch, fx1, fy1);
    dense.gradF(x, y, batch, fx2, fy2);
    close(fy1, fy2, '∇_y f');
    const [gx1, gy1] = out();
    const [gx2, gy2] = out();
    sparse.gradG(x, y, batch, gx1, gy1);
    dense.gradG(x, y, batch, gx2, gy2);
    close(gy1, gy2, '∇_y g');
    close(gx1, gx2, '∇_x g');
    const [h1, h2] = [new Float64Array(d * c), new Float64Array(d * c)];
    sparse.hvp(x, y, v, batch, h1);
    dense.hvp(x, y, v, batch, h2);
    close(h1, h2, 'HVP');
    close(sparse.f(x, y, batch), dense.f(x, y, batch), 'f');
    close(sparse.g(x, y, batch), dense.g(x, y, batch), 'g');
  }
});

test('logreg HPO: e^x is reused only while x is unchanged (in-place changes are seen)', () => {
  const s = setup(3);
  const o = new LogregHpoOracle(s.train, s.val);
  const x = Float64Array.from(s.x);
  const j = new Float64Array(s.d);
  o.jvp(x, s.y, s.v, fullBatch(), j);
  x[2]! += 0.25; // same array, new contents
  o.jvp(x, s.y, s.v, fullBatch(), j);
  const fresh = new Float64Array(s.d);
  new LogregHpoOracle(s.train, s.val).jvp(x, s.y, s.v, fullBatch(), fresh);
  assert.deepEqual(j, fresh);
});
