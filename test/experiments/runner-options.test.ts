/**
 * Runner options and columns: the IFO column, trainAccuracy, the seeded random
 * start (`init: {y: {type: normal, std}}`) and the lazy ring (`selfWeight`).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { ConfigError } from '../../src/errors.ts';
import { makeDataset } from '../../src/data/dataset.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import { prepareRun, runConfig } from '../../src/experiments/runner.ts';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import { binaryAccuracy, binaryLogregHpoProblem } from '../../src/problems/binary-logreg-hpo.ts';
import { Rng } from '../../src/random/rng.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-runner-options-');
after(() => rmSync(root, { recursive: true, force: true }));
const instance = writeQuadratic(root, { agents: 4, dx: 3, dy: 50, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 3);
const base = { seed: 2, iterations: 6, evalEvery: 2, problem: { type: 'quadratic', file: instance, batch: 3 }, topology: { type: 'ring', agents: 4 }, algorithm: { name: 'd-soba' } };

test('ifo = (gradFSamples + gradGSamples) / m on every row, growing by the batch per agent-iteration', async () => {
  const { rows } = await runConfig(resolveConfig(base));
  assert.equal(rows.length, 4);
  for (const r of rows) assert.equal(r.ifo, (r.gradFSamples + r.gradGSamples) / 4);
  assert.equal(rows[0]!.ifo, 0);
  // D-SOBA: one ∇f and one ∇g per agent-iteration, batch 3 each.
  assert.equal(rows.at(-1)!.ifo, 6 * (3 + 3));
});

test('init {type: normal, std, mean} is seeded, identical for a seed, different across seeds; bad std names the field', () => {
  const a = prepareRun(resolveConfig({ ...base, init: { y: { type: 'normal', std: 2, mean: 1 } } })).init.y;
  const b = prepareRun(resolveConfig({ ...base, init: { y: { type: 'normal', std: 2, mean: 1 } } })).init.y;
  const c = prepareRun(resolveConfig({ ...base, seed: 3, init: { y: { type: 'normal', std: 2, mean: 1 } } })).init.y;
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.notDeepEqual(Array.from(a), Array.from(c));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / (a.length - 1));
  assert.ok(Math.abs(mean - 1) < 0.7 && sd > 1.4 && sd < 2.6, `mean ${mean}, sd ${sd}`);
  assert.deepEqual(Array.from(prepareRun(resolveConfig(base)).init.y), new Array(50).fill(0));
  assert.throws(() => resolveConfig({ ...base, init: { y: { type: 'normal', std: 0 } } }), (e: unknown) => e instanceof ConfigError && /init\.y/.test(e.message));
});

test("trainAccuracy (class P) is the mean over agents of y_i's accuracy on the agent's own training set", () => {
  const rng = new Rng(7);
  const data = (n: number) => {
    const f = new Float64Array(n * 3).map(() => rng.normal());
    const l = new Int32Array(n).map((_, i) => (f[3 * i]! + 0.3 * f[3 * i + 1]! > 0 ? 1 : 0));
    return makeDataset(n, 3, 2, f, l);
  };
  const train = [data(40), data(30)];
  const problem = binaryLogregHpoProblem(train, [data(10), data(10)], null, 'sum');
  const ys = [Float64Array.from([1, 0, 0]), Float64Array.from([-1, 2, 0.5])];
  const views = ys.map((y) => ({ x: new Float64Array(3), y }));
  const row = new Evaluator(problem, { groundTruth: false }).evaluateRow(views);
  const expected = (binaryAccuracy(train[0]!, ys[0]!) + binaryAccuracy(train[1]!, ys[1]!)) / 2;
  assert.equal(row.trainAccuracy, expected);
  assert.ok(binaryAccuracy(train[0]!, ys[0]!) > 0.8 && binaryAccuracy(train[1]!, ys[1]!) < 0.8);
});

test('lazy ring: selfWeight 0.5 gives w_ii = 1/2, w_i,i±1 = 1/4 and ρ = ½ + ½cos(2π/m); only ring, not with mixing', () => {
  for (const m of [6, 10]) {
    const t = prepareRun(resolveConfig({ ...base, problem: { type: 'quadratic', file: writeQuadratic(root, { agents: m, dx: 2, dy: 2, problemClass: 'global', heterogeneity: 0.3 }, m) }, topology: { type: 'ring', agents: m, selfWeight: 0.5 } })).topology;
    assert.equal(t.graph.edges.length, m);
    assert.equal(t.weights.data[0], 0.5);
    assert.equal(t.weights.data[1], 0.25);
    assert.equal(t.weights.data[m - 1], 0.25);
    assert.ok(Math.abs(t.spectrum.rho - (0.5 + 0.5 * Math.cos((2 * Math.PI) / m))) < 1e-9, `m = ${m}: rho ${t.spectrum.rho}`);
  }
  const bad = (topology: Record<string, unknown>, field: RegExp) => assert.throws(() => resolveConfig({ ...base, topology }), (e: unknown) => e instanceof ConfigError && field.test(e.message));
  bad({ type: 'complete', agents: 4, selfWeight: 0.5 }, /topology\.selfWeight/);
  bad({ type: 'ring', agents: 4, selfWeight: 0.5, mixing: 'metropolis' }, /topology\.mixing/);
  bad({ type: 'ring', agents: 4, selfWeight: 1 }, /topology\.selfWeight/);
});
