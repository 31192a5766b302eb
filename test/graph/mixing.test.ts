import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildGraph,
  graphFromWeights,
  mixingMatrix,
  spectrum,
  validateMixing,
  type Graph,
  type MixingRule,
  type TopologySpec,
} from '../../src/graph/index.ts';
import { fromRows, symmetricEigen, type Matrix } from '../../src/linalg/matrix.ts';
import { ConfigError } from '../../src/errors.ts';
import { configErrorMatching } from '../helpers.ts';

const cfg = configErrorMatching;

const specs: TopologySpec[] = [
  { type: 'complete', agents: 6 },
  { type: 'ring', agents: 7 },
  { type: 'ring', agents: 2 },
  { type: 'path', agents: 5 },
  { type: 'star', agents: 6 },
  { type: 'torus', agents: 12 },
  { type: 'torus', agents: 8, rows: 2 },
  { type: 'exponential', agents: 8 },
  { type: 'erdos-renyi', agents: 10, p: 0.35 },
  { type: 'custom', agents: 4, edges: [[0, 1], [1, 2], [1, 3]] },
  { type: 'ring', agents: 1 },
];

function checkMixing(w: Matrix, g: Graph): void {
  const m = g.m;
  assert.equal(w.rows, m);
  assert.equal(w.cols, m);
  const adj = new Set(g.edges.map(([i, j]) => `${i},${j}`));
  for (let i = 0; i < m; i++) {
    let row = 0;
    let col = 0;
    for (let j = 0; j < m; j++) {
      const v = w.data[i * m + j]!;
      assert.ok(Math.abs(v - w.data[j * m + i]!) < 1e-14, `asymmetric at ${i},${j}`);
      row += v;
      col += w.data[j * m + i]!;
      if (i !== j && !adj.has(`${Math.min(i, j)},${Math.max(i, j)}`)) assert.equal(v, 0, `weight off the graph at ${i},${j}`);
      if (i !== j && adj.has(`${Math.min(i, j)},${Math.max(i, j)}`)) assert.notEqual(v, 0);
    }
    assert.ok(Math.abs(row - 1) < 1e-12);
    assert.ok(Math.abs(col - 1) < 1e-12);
  }
  validateMixing(w, g, 'w');
  assert.deepEqual(graphFromWeights(w), g);
}

test('every rule gives a symmetric doubly stochastic W on the graph', () => {
  for (const spec of specs) {
    const g = buildGraph(spec, 3);
    const rules: MixingRule[] = g.edges.length === (g.m * (g.m - 1)) / 2 ? ['laplacian', 'metropolis', 'uniform'] : ['laplacian', 'metropolis'];
    for (const rule of rules) checkMixing(mixingMatrix(g, rule), g);
  }
});

test('laplacian rule: eigenvalues in [1/3, 1], smallest exactly 1/3', () => {
  for (const spec of specs) {
    const g = buildGraph(spec, 3);
    const ev = symmetricEigen(mixingMatrix(g, 'laplacian')).values;
    for (const v of ev) assert.ok(v >= 1 / 3 - 1e-12 && v <= 1 + 1e-12, `eigenvalue ${v}`);
    assert.ok(Math.abs(ev[ev.length - 1]! - 1) < 1e-12);
    if (g.m > 1) assert.ok(Math.abs(ev[0]! - 1 / 3) < 1e-12);
  }
  assert.deepEqual(Array.from(mixingMatrix(buildGraph({ type: 'path', agents: 1 }, 0), 'laplacian').data), [1]);
});

test('metropolis weights', () => {
  const ring = mixingMatrix(buildGraph({ type: 'ring', agents: 8 }, 0), 'metropolis');
  for (let i = 0; i < 8; i++) {
    assert.ok(Math.abs(ring.data[i * 8 + i]! - 1 / 3) < 1e-15);
    assert.ok(Math.abs(ring.data[i * 8 + ((i + 1) % 8)]! - 1 / 3) < 1e-15);
  }
  const star = mixingMatrix(buildGraph({ type: 'star', agents: 5 }, 0), 'metropolis');
  assert.ok(Math.abs(star.data[1]! - 1 / 5) < 1e-15);
  assert.ok(Math.abs(star.data[0]! - 1 / 5) < 1e-15);
  assert.ok(Math.abs(star.data[6]! - 4 / 5) < 1e-15);
  assert.deepEqual(Array.from(mixingMatrix(buildGraph({ type: 'ring', agents: 1 }, 0), 'metropolis').data), [1]);
});

test('uniform mixing only on complete graphs', () => {
  const w = mixingMatrix(buildGraph({ type: 'complete', agents: 4 }, 0), 'uniform');
  assert.ok(w.data.every((v) => v === 0.25));
  assert.deepEqual(Array.from(mixingMatrix(buildGraph({ type: 'star', agents: 1 }, 0), 'uniform').data), [1]);
  assert.throws(
    () => mixingMatrix(buildGraph({ type: 'ring', agents: 5 }, 0), 'uniform'),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.field === 'topology.mixing' &&
      /uniform mixing .* needs a complete graph, but the graph has 5 of 10 possible edges \(agents 0 and 2 are not linked\)/.test(e.message),
  );
  assert.throws(() => mixingMatrix(buildGraph({ type: 'ring', agents: 5 }, 0), 'bogus' as MixingRule), cfg(/^topology\.mixing: unknown mixing rule "bogus"/));
});

const ring4 = (): Matrix =>
  fromRows([
    [0.5, 0.25, 0, 0.25],
    [0.25, 0.5, 0.25, 0],
    [0, 0.25, 0.5, 0.25],
    [0.25, 0, 0.25, 0.5],
  ]);

test('validateMixing accepts valid matrices, including negative entries', () => {
  validateMixing(ring4(), buildGraph({ type: 'ring', agents: 4 }, 0), 'w');
  validateMixing(ring4(), null, 'w');
  validateMixing(fromRows([[1.1, -0.1], [-0.1, 1.1]]), null, 'w');
  validateMixing(fromRows([[1]]), null, 'w');
  // Within tolerance.
  const w = ring4();
  w.data[1] = 0.25 + 1e-11;
  w.data[0] = 0.5 - 1e-11;
  validateMixing(w, null, 'w');
});

test('validateMixing: shape and finiteness', () => {
  const ring = buildGraph({ type: 'ring', agents: 4 }, 0);
  assert.throws(() => validateMixing(fromRows([[1, 0, 0], [0, 1, 0]]), null, 'cfg.w'), cfg(/^cfg\.w: expected a square matrix, got 2×3$/));
  assert.throws(
    () => validateMixing(fromRows([[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 1]]), ring, 'cfg.w'),
    cfg(/^cfg\.w: expected a 4×4 matrix \(one row and column per agent\), got 3×3$/),
  );
  const w = ring4();
  w.data[6] = Number.NaN;
  assert.throws(() => validateMixing(w, null, 'cfg.w'), cfg(/^cfg\.w: entry w\[1\]\[2\] = NaN is not finite$/));
  w.data[6] = Infinity;
  assert.throws(() => validateMixing(w, null, 'cfg.w'), cfg(/entry w\[1\]\[2\] = Infinity is not finite/));
});

test('validateMixing: non-symmetric names the worst pair and both values', () => {
  const w = ring4();
  w.data[0 * 4 + 1] = 0.3; // w[0][1]
  w.data[0 * 4 + 0] = 0.45;
  w.data[2 * 4 + 3] = 0.25 + 1e-6;
  w.data[2 * 4 + 2] = 0.5 - 1e-6;
  assert.throws(
    () => validateMixing(w, null, 'topology.weights'),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.field === 'topology.weights' &&
      /^topology\.weights: matrix is not symmetric: w\[0\]\[1\] = 0\.3 but w\[1\]\[0\] = 0\.25 \(difference 5\.000e-2 exceeds tolerance 1e-9\)$/.test(e.message),
  );
});

test('validateMixing: rows not summing to 1', () => {
  const w = ring4();
  w.data[2 * 4 + 2] = 0.7;
  assert.throws(
    () => validateMixing(w, null, 'topology.weights'),
    cfg(/^topology\.weights: matrix is not doubly stochastic: row 2 sums to 1\.2, expected 1/),
  );
  assert.throws(() => validateMixing(fromRows([[0.5, 0.25], [0.25, 0.5]]), null, 'w'), cfg(/not doubly stochastic: row 0 sums to 0\.75/));
});

test('validateMixing: weight on a non-edge', () => {
  const path = buildGraph({ type: 'path', agents: 4 }, 0); // 0-1-2-3, no 0-3 edge
  assert.throws(
    () => validateMixing(ring4(), path, 'topology.weights'),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^topology\.weights: nonzero weight w\[0\]\[3\] = 0\.25 between agents 0 and 3, which are not linked in the communication graph$/.test(e.message),
  );
});

test('validateMixing: disconnected support', () => {
  const w = fromRows([
    [0.5, 0.5, 0, 0],
    [0.5, 0.5, 0, 0],
    [0, 0, 0.5, 0.5],
    [0, 0, 0.5, 0.5],
  ]);
  assert.throws(
    () => validateMixing(w, null, 'topology.weights'),
    cfg(/^topology\.weights: the graph of nonzero off-diagonal weights is disconnected .*: 2 components \{0, 1\}, \{2, 3\}; agent 2 cannot reach agent 0$/),
  );
  assert.throws(() => validateMixing(fromRows([[1, 0], [0, 1]]), null, 'w'), cfg(/w: the graph of nonzero off-diagonal weights is disconnected/));
});

test('graphFromWeights uses the tolerance', () => {
  const w = ring4();
  w.data[2] = 1e-13;
  w.data[8] = 1e-13;
  assert.deepEqual(graphFromWeights(w).edges, [[0, 1], [0, 3], [1, 2], [2, 3]]);
  assert.deepEqual(graphFromWeights(w, 1e-14).edges, [[0, 1], [0, 2], [0, 3], [1, 2], [2, 3]]);
  assert.equal(spectrum(w).eigenvalues.length, 4);
});
