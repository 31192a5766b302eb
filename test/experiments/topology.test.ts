import { test } from 'node:test';
import assert from 'node:assert/strict';
import { topologySchema } from '../../src/experiments/config.ts';
import { buildRunTopology, lazyRingWeights } from '../../src/experiments/topology.ts';
import { ConfigError } from '../../src/errors.ts';
import { parseWith } from '../../src/experiments/zod-errors.ts';

const build = (raw: unknown, seed = 1) => buildRunTopology(parseWith(topologySchema, raw, 'topology'), seed);

test('lazyRingWeights: w_ii = s, ring neighbours (1 − s)/2, rows sum to 1', () => {
  const w = lazyRingWeights(5, 0.4);
  for (let i = 0; i < 5; i++) {
    assert.equal(w[i]![i], 0.4);
    assert.equal(w[i]![(i + 1) % 5], 0.3);
    assert.equal(w[i]![(i + 4) % 5], 0.3);
    assert.ok(Math.abs(w[i]!.reduce((a, b) => a + b, 0) - 1) < 1e-15);
  }
  assert.deepEqual(lazyRingWeights(1, 0.5), [[1]]);
});

test('buildRunTopology builds every topology type the config accepts', () => {
  assert.equal(build({ type: 'complete', agents: 4 }).graph.edges.length, 6);
  assert.equal(build({ type: 'ring', agents: 5 }).graph.edges.length, 5);
  assert.equal(build({ type: 'path', agents: 5 }).graph.edges.length, 4);
  assert.equal(build({ type: 'star', agents: 5 }).graph.edges.length, 4);
  assert.equal(build({ type: 'torus', agents: 9, rows: 3 }).graph.edges.length, 18);
  assert.equal(build({ type: 'torus', agents: 7, ringFallback: true }).graph.edges.length, 7);
  assert.ok(build({ type: 'exponential', agents: 8 }).graph.edges.length > 8);
  assert.equal(build({ type: 'custom', agents: 3, edges: [[0, 1], [1, 2]] }).graph.edges.length, 2);
  const w = [[0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]];
  assert.deepEqual(Array.from(build({ type: 'custom', agents: 3, weights: w }).weights.data), w.flat());
  assert.equal(build({ type: 'ring', agents: 6, selfWeight: 0.5 }).weights.data[0], 0.5);
});

test('buildRunTopology: erdos-renyi is seeded by the run seed', () => {
  const a = build({ type: 'erdos-renyi', agents: 12, p: 0.4 }, 3).graph.edges;
  assert.deepEqual(build({ type: 'erdos-renyi', agents: 12, p: 0.4 }, 3).graph.edges, a);
  assert.notDeepEqual(build({ type: 'erdos-renyi', agents: 12, p: 0.4 }, 4).graph.edges, a);
});

test('topology config errors name the field', () => {
  const field = (raw: unknown) => {
    try {
      build(raw);
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      return e.message;
    }
    return assert.fail('expected a ConfigError');
  };
  assert.match(field({ type: 'erdos-renyi', agents: 5 }), /topology\.p/);
  assert.match(field({ type: 'ring', agents: 5, p: 0.5 }), /topology\.p/);
  assert.match(field({ type: 'ring', agents: 5, rows: 2 }), /topology\.rows/);
  assert.match(field({ type: 'custom', agents: 3 }), /topology\.edges/);
  assert.match(field({ type: 'star', agents: 5, selfWeight: 0.5 }), /topology\.selfWeight/);
  assert.match(field({ type: 'ring', agents: 5, selfWeight: 0.5, mixing: 'uniform' }), /topology\.mixing/);
  assert.match(field({ type: 'hexagon', agents: 5 }), /topology\.type/);
});
