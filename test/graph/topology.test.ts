import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph, buildStructuredGraph, isConnected, connectedComponents, nearestTorusSizes, type Graph, type TopologySpec } from '../../src/graph/index.ts';
import { ConfigError } from '../../src/errors.ts';
import { configErrorMatching } from '../helpers.ts';

const cfg = configErrorMatching;

function checkWellFormed(g: Graph): void {
  const seen = new Set<string>();
  let prev: readonly [number, number] | null = null;
  for (const [i, j] of g.edges) {
    assert.ok(Number.isInteger(i) && Number.isInteger(j));
    assert.ok(0 <= i && i < j && j < g.m, `bad edge [${i}, ${j}]`);
    assert.ok(!seen.has(`${i},${j}`));
    seen.add(`${i},${j}`);
    if (prev !== null) assert.ok(prev[0] < i || (prev[0] === i && prev[1] < j), 'edges not sorted');
    prev = [i, j];
  }
  assert.equal(g.neighbours.length, g.m);
  let degSum = 0;
  g.neighbours.forEach((nb, i) => {
    degSum += nb.length;
    for (let k = 1; k < nb.length; k++) assert.ok(nb[k - 1]! < nb[k]!, 'neighbours not sorted');
    for (const j of nb) assert.ok(seen.has(`${Math.min(i, j)},${Math.max(i, j)}`));
  });
  assert.equal(degSum, 2 * g.edges.length);
  assert.ok(isConnected(g.m, g.neighbours));
}

const build = (spec: TopologySpec, seed = 1): Graph => {
  const g = buildGraph(spec, seed);
  checkWellFormed(g);
  return g;
};

test('edge counts of the deterministic topologies', () => {
  for (const m of [3, 4, 7, 10]) {
    assert.equal(build({ type: 'complete', agents: m }).edges.length, (m * (m - 1)) / 2);
    assert.equal(build({ type: 'ring', agents: m }).edges.length, m);
    assert.equal(build({ type: 'path', agents: m }).edges.length, m - 1);
    const star = build({ type: 'star', agents: m });
    assert.equal(star.edges.length, m - 1);
    assert.equal(star.neighbours[0]!.length, m - 1);
  }
  assert.equal(build({ type: 'ring', agents: 2 }).edges.length, 1);
  for (const type of ['complete', 'ring', 'path', 'star', 'exponential', 'torus'] as const) {
    const g = build({ type, agents: 1 });
    assert.equal(g.m, 1);
    assert.equal(g.edges.length, 0);
    assert.deepEqual(g.neighbours, [[]]);
  }
  assert.deepEqual(build({ type: 'ring', agents: 4 }).edges, [[0, 1], [0, 3], [1, 2], [2, 3]]);
});

test('torus: 2m edges for sides ≥ 3, merged duplicates otherwise, default factorization', () => {
  assert.equal(build({ type: 'torus', agents: 9 }).edges.length, 18);
  const t12 = build({ type: 'torus', agents: 12 }); // 3 × 4
  assert.equal(t12.edges.length, 24);
  for (const nb of t12.neighbours) assert.equal(nb.length, 4);
  assert.deepEqual(t12.neighbours[0], [1, 3, 4, 8]);
  assert.equal(build({ type: 'torus', agents: 16, rows: 4 }).edges.length, 32);
  // 2 × 6: vertical wraparound duplicates merge: 6 vertical + 12 horizontal.
  assert.equal(build({ type: 'torus', agents: 12, rows: 2 }).edges.length, 18);
  // 2 × 2 is the 4-cycle.
  assert.equal(build({ type: 'torus', agents: 4 }).edges.length, 4);
  // Prime agents: a ring only when asked (ringFallback, or rows = m given explicitly).
  assert.deepEqual(build({ type: 'torus', agents: 7, ringFallback: true }).edges, build({ type: 'ring', agents: 7 }).edges);
  assert.deepEqual(build({ type: 'torus', agents: 5, rows: 5 }).edges, build({ type: 'ring', agents: 5 }).edges);
});

test('exponential graph', () => {
  const g8 = build({ type: 'exponential', agents: 8 });
  assert.equal(g8.edges.length, 20); // offsets 1, 2, 4: 8 + 8 + 4
  assert.deepEqual(g8.neighbours[0], [1, 2, 4, 6, 7]);
  assert.equal(build({ type: 'exponential', agents: 5 }).edges.length, 10); // offsets ±1, ±2 cover K5
  assert.equal(build({ type: 'exponential', agents: 2 }).edges.length, 1);
  assert.equal(build({ type: 'exponential', agents: 16 }).edges.length, 16 * 3 + 8);
});

test('erdos-renyi is seeded, deterministic and connected', () => {
  const spec: TopologySpec = { type: 'erdos-renyi', agents: 20, p: 0.25 };
  const a = build(spec, 42);
  const b = build(spec, 42);
  assert.deepEqual(a, b);
  const c = build(spec, 43);
  assert.notDeepEqual(a.edges, c.edges);
  assert.deepEqual(build({ type: 'erdos-renyi', agents: 6, p: 1 }).edges.length, 15);
  assert.equal(build({ type: 'erdos-renyi', agents: 1, p: 0.5 }).edges.length, 0);
  // A sparse p needs resampling but still ends connected.
  const sparse = build({ type: 'erdos-renyi', agents: 12, p: 0.3 }, 7);
  assert.ok(isConnected(12, sparse.neighbours));
});

test('erdos-renyi gives up with an error naming p', () => {
  assert.throws(
    () => buildGraph({ type: 'erdos-renyi', agents: 30, p: 0.001 }, 1),
    (e: unknown) => e instanceof ConfigError && /^topology\.p: no connected Erdős–Rényi graph G\(30, 0\.001\) found in 1000 attempts/.test(e.message),
  );
  for (const p of [0, -0.1, 1.5, Number.NaN])
    assert.throws(() => buildGraph({ type: 'erdos-renyi', agents: 5, p }, 1), cfg(/^topology\.p: edge probability must be a number in \(0, 1\]/));
  assert.throws(() => buildGraph({ type: 'erdos-renyi', agents: 5, p: 2 }, 1, 'net'), cfg(/^net\.p: edge probability/));
});

test('custom graphs: dedupe, orientation, validation', () => {
  const g = build({ type: 'custom', agents: 4, edges: [[1, 0], [0, 1], [2, 1], [3, 2], [1, 2]] });
  assert.deepEqual(g.edges, [[0, 1], [1, 2], [2, 3]]);
  assert.deepEqual(g.neighbours, [[1], [0, 2], [1, 3], [2]]);
  assert.throws(
    () => buildGraph({ type: 'custom', agents: 4, edges: [[0, 1], [0, 4]] }, 0),
    cfg(/^topology\.edges\[1\]: agent index 4 is not an integer in \[0, 3\]/),
  );
  assert.throws(() => buildGraph({ type: 'custom', agents: 4, edges: [[0, 1.5]] }, 0), cfg(/^topology\.edges\[0\]: agent index 1\.5/));
  assert.throws(() => buildGraph({ type: 'custom', agents: 4, edges: [[-1, 1]] }, 0), cfg(/^topology\.edges\[0\]: agent index -1/));
  assert.throws(() => buildGraph({ type: 'custom', agents: 3, edges: [[0, 1], [1, 2], [2, 2]] }, 0), cfg(/^topology\.edges\[2\]: self loop \[2, 2\]/));
  assert.throws(
    () => buildGraph({ type: 'custom', agents: 3, edges: [[0, 1, 2]] as unknown as [number, number][] }, 0),
    cfg(/^topology\.edges\[0\]: expected a pair/),
  );
});

test('disconnected custom graph names its components', () => {
  assert.throws(
    () => buildGraph({ type: 'custom', agents: 5, edges: [[0, 1], [1, 2], [3, 4]] }, 0, 'cfg.topology'),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.field === 'cfg.topology.edges' &&
      /^cfg\.topology\.edges: graph is disconnected: 2 components \{0, 1, 2\}, \{3, 4\}; agent 3 cannot reach agent 0$/.test(e.message),
  );
  assert.throws(() => buildGraph({ type: 'custom', agents: 3, edges: [] }, 0), cfg(/topology\.edges: graph is disconnected: 3 components \{0\}, \{1\}, \{2\}/));
  // A single agent needs no edges.
  assert.equal(buildGraph({ type: 'custom', agents: 1, edges: [] }, 0).edges.length, 0);
});

test('agents, rows and type validation', () => {
  for (const agents of [0, -3, 2.5, Number.NaN])
    assert.throws(() => buildGraph({ type: 'ring', agents }, 0), cfg(/^topology\.agents: expected an integer ≥ 1/));
  assert.throws(
    () => buildGraph({ type: 'torus', agents: 12, rows: 5 }, 0),
    (e: unknown) => e instanceof ConfigError && /^topology\.rows: rows = 5 does not divide agents = 12/.test(e.message),
  );
  assert.throws(() => buildGraph({ type: 'torus', agents: 12, rows: 0 }, 0), cfg(/^topology\.rows: expected an integer ≥ 1/));
  assert.throws(() => buildGraph({ type: 'hypercube', agents: 4 } as unknown as TopologySpec, 0), cfg(/^topology\.type: unknown topology "hypercube"/));
});

test('isConnected and connectedComponents', () => {
  assert.equal(isConnected(0, []), true);
  assert.equal(isConnected(1, [[]]), true);
  assert.equal(isConnected(2, [[], []]), false);
  assert.equal(isConnected(3, [[1], [0, 2], [1]]), true);
  assert.deepEqual(connectedComponents(4, [[2], [3], [0], [1]]), [[0, 2], [1, 3]]);
});

test('a torus with a prime number of agents is an error naming the nearest valid sizes, unless ringFallback asks for a ring', () => {
  assert.throws(
    () => buildGraph({ type: 'torus', agents: 13 }, 0),
    cfg(/^topology\.agents: a 2-D torus needs rows × cols = agents with rows, cols ≥ 2, but 13 is prime; nearest valid sizes: 12 \(3 × 4\) and 14 \(2 × 7\) \(or set topology\.ringFallback: true/),
  );
  assert.throws(() => buildGraph({ type: 'torus', agents: 2 }, 0, 'net'), cfg(/^net\.agents: .* but 2 is prime; nearest valid sizes: 4 \(2 × 2\)/));
  assert.deepEqual(nearestTorusSizes(10007), ['10006 (2 × 5003)', '10008 (72 × 139)']);
  const s = buildStructuredGraph({ type: 'torus', agents: 13, ringFallback: true }, 0);
  assert.match(s.note!, /torus of 13 agents \(a prime number\) built as a ring/);
  assert.equal(buildStructuredGraph({ type: 'torus', agents: 12 }, 0).note, undefined);
  assert.equal(buildGraph({ type: 'torus', agents: 1 }, 0).edges.length, 0);
});
