/** SPDB's Neumann-depth log base (`depth: ln | log10`), SEED-002 leaving the base unstated. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { logDepth, logDepthIn, spdb } from '../../src/algorithms/spdb.ts';
import { harness, randomQuadratic, topology } from '../helpers.ts';

test('logDepthIn: ln matches logDepth; log10 gives 1 for every 1 ≤ k ≤ 9,999 and 2 from k = 10,000', () => {
  for (const k of [0, 1, 2, 53, 54, 2979, 2980, 10000]) assert.equal(logDepthIn(k, 'ln'), logDepth(k));
  assert.deepEqual([0, 1, 2, 100, 9999, 10000].map((k) => logDepthIn(k, 'log10')), [0, 1, 1, 1, 1, 2]);
});

test("spdb with depth 'log10' makes n_k = ⌈¼ log₁₀(k+1)⌉ HVPs at iteration k; 'ln' is the same as 'log'", async () => {
  const problem = randomQuadratic({ agents: 4, dx: 4, dy: 4, problemClass: 'personalized', heterogeneity: 1, noise: 0 }, 1);
  const topo = topology({ type: 'ring', agents: 4 });
  const ten = harness(spdb, { Lg: 10, depth: 'log10' }, problem, topo, { batch: 2 });
  const ln = harness(spdb, { Lg: 10, depth: 'ln' }, problem, topo, { batch: 2 });
  const log = harness(spdb, { Lg: 10, depth: 'log' }, problem, topo, { batch: 2 });
  for (let k = 0; k < 60; k++) await Promise.all([ten.step(), ln.step(), log.step()]);
  for (const o of ten.oracles) assert.equal(o.counts.calls.hvp, 59);
  for (let i = 0; i < 4; i++) {
    assert.equal(ln.oracles[i]!.counts.calls.hvp, 53 + 6 * 2);
    assert.deepEqual(Array.from(ln.states[i].x as Float64Array), Array.from(log.states[i].x as Float64Array));
  }
  assert.equal(spdb.params.safeParse({ depth: 'log2' }).success, false);
});
