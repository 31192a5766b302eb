import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, checkTopologySize, expectedEdges, topologyJson } from '../../src/graph/index.ts';
import { configErrorMatching } from '../helpers.ts';

const cfg = configErrorMatching;

test('topologies beyond the memory budget are refused up front with the estimate', () => {
  assert.throws(
    () => buildTopology({ type: 'complete', agents: 100_000 }, 1),
    cfg(/^topology\.agents: a complete graph on 100000 agents has 5\.00e9 edges; its edge list and mixing weights need ≈ \d+ GiB, more than the .* this process allows/),
  );
  assert.throws(() => buildTopology({ type: 'erdos-renyi', agents: 1_000_000, p: 0.5 }, 1), cfg(/^topology\.agents: a erdos-renyi graph on 1000000 agents has about 2\.50e11 edges/));
  assert.throws(() => checkTopologySize({ type: 'ring', agents: 1000 }, 'net', 1000), cfg(/^net\.agents: a ring graph on 1000 agents has 1000 edges; .* more than the 0\.000954 MiB/));
  checkTopologySize({ type: 'ring', agents: 100_000 }, 'topology');
  assert.equal(expectedEdges({ type: 'ring', agents: 2 }), 1);
  assert.equal(expectedEdges({ type: 'torus', agents: 12 }), 24);
});

test('100,000 agents on a ring: sparse W, closed-form spectrum, small topology.json', () => {
  const t = buildTopology({ type: 'ring', agents: 100_000 }, 1);
  assert.equal(t.spectrum.method, 'closed-form');
  assert.ok(Math.abs(t.spectrum.lambda - (1 / 3 + (2 / 3) * Math.cos((2 * Math.PI) / 100_000))) < 1e-15);
  assert.equal(t.mixing.values.length, 200_000);
  assert.throws(() => t.weights, /use the sparse topology\.mixing/);
  const json = topologyJson(t) as { edges: unknown[]; edgeWeights: number[]; selfWeights: number[]; eigenvalues?: number[] };
  assert.equal(json.edges.length, 100_000);
  assert.equal(json.edgeWeights.length, 100_000);
  assert.equal(json.eigenvalues, undefined);
  // O(m) characters, not m².
  assert.ok(JSON.stringify(json).length < 100 * 100_000);
});
