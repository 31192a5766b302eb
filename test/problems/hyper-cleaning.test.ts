import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeDataset, type Dataset } from '../../src/data/dataset.ts';
import { cleaningQuality, HyperCleaningOracle, hyperCleaningProblem } from '../../src/problems/hyper-cleaning.ts';
import { fullBatch, type Batch } from '../../src/problems/types.ts';
import { Rng } from '../../src/random/rng.ts';
import { checkOracles, fdDirectional, randomVec, relErr } from './oracle-check.ts';

function data(rng: Rng, n: number, d: number, c: number): Dataset {
  return makeDataset(n, d, c, Float64Array.from({ length: n * d }, () => rng.uniform()), Int32Array.from({ length: n }, () => rng.int(c)));
}

function batchOf(indices: number[]): Batch {
  return { full: false, size: indices.length, indices: Int32Array.from(indices), seed: 0 };
}

test('hyper-cleaning: every oracle (∇F, ∇G, R-operator HVP, per-sample JVP) matches finite differences on small networks', () => {
  const rng = new Rng(8, 'hc-fd');
  for (const hidden of [[5], [4, 3]]) {
    // Agent 1 of 2: its x-coordinates start after agent 0's 6 samples; the full batch spans two chunks (150 > 128 rows).
    const train = data(rng, 150, 5, 3);
    const o = new HyperCleaningOracle(train, data(rng, 8, 5, 3), 6, 156, { hidden, C: 0.05 });
    const x = randomVec(rng, o.dx);
    const y = new Float64Array(o.dy);
    o.layers.initialise(y, rng);
    checkOracles(`[${hidden}] minibatch`, o, x, y, batchOf([3, 7, 0, 5]), rng);
    checkOracles(`[${hidden}] full`, o, x, y, fullBatch(), rng);
    // Only the agent's own x-coordinates move g.
    const gx = new Float64Array(o.dx);
    o.gradG(x, y, fullBatch(), gx, new Float64Array(o.dy));
    assert.ok(gx.subarray(0, 6).every((v) => v === 0));
    assert.ok(gx.subarray(6).some((v) => v !== 0));
  }
});

test('hyper-cleaning: the R-operator HVP matches finite differences of ∇_y g at d_y = 238,510 (784-300-10) on a batch', () => {
  const rng = new Rng(9, 'hc-big');
  const o = new HyperCleaningOracle(data(rng, 40, 784, 10), data(rng, 4, 784, 10), 0, 40, { hidden: [300], C: 1e-3 });
  assert.equal(o.dy, 238510);
  const x = randomVec(rng, 40);
  const y = new Float64Array(o.dy);
  o.layers.initialise(y, rng);
  const v = randomVec(rng, o.dy, 0.05);
  const batch = batchOf([0, 5, 11, 17, 23, 31, 39, 2]);
  const hv = new Float64Array(o.dy);
  o.hvp(x, y, v, batch, hv);
  const fd = fdDirectional((out) => o.gradG(x, y, batch, null, out), y, v, o.dy);
  const e = relErr(hv, fd);
  assert.ok(e <= 1e-6, `relative error ${e}`);
});

test('hyper-cleaning: problem wiring (global x over agents, no dense matrices, seeded init, cleaning precision/recall)', () => {
  const rng = new Rng(10);
  const train = [data(rng, 4, 3, 2), data(rng, 5, 3, 2)];
  const mask = Uint8Array.from([1, 0, 0, 1, 0, 0, 1, 0, 0]);
  const p = hyperCleaningProblem(train, [data(rng, 2, 3, 2), data(rng, 2, 3, 2)], data(rng, 6, 3, 2), mask, { hidden: [4], C: 1e-3 });
  assert.equal(p.dx, 9);
  assert.equal(p.dy, 3 * 4 + 4 + 4 * 2 + 2);
  assert.equal(p.denseMatrices, false);
  assert.equal(p.groundTruth, false);
  assert.throws(() => p.agents[0]!.hessian(new Float64Array(9), new Float64Array(p.dy), fullBatch(), new Float64Array(0)), /never formed/);
  const a = p.initialPoint!(3);
  assert.deepEqual(Array.from(a.y!), Array.from(p.initialPoint!(3).y!));
  assert.ok(a.x!.every((v) => v === 0));
  assert.ok(a.y!.every((v, i) => Math.abs(v) <= 1 / Math.sqrt(i < 16 ? 3 : 4)));
  // flagged = x < 0 at coordinates 0, 1, 6 → 2 of 3 flagged are corrupted; 2 of the 3 corrupted are flagged.
  const x = Float64Array.from([-1, -1, 1, 1, 1, 1, -2, 1, 1]);
  assert.deepEqual(cleaningQuality(x, mask), { cleaningPrecision: 2 / 3, cleaningRecall: 2 / 3 });
  assert.ok(Number.isNaN(cleaningQuality(new Float64Array(9), mask).cleaningPrecision));
  assert.deepEqual(p.extraMetrics!(x, a.y!), { cleaningPrecision: 2 / 3, cleaningRecall: 2 / 3 });
});
