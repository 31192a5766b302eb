import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGraph, buildTopology, mixingMatrix, spectrum, topologyFromMatrix, type TopologySpec } from '../../src/graph/index.ts';
import { fromRows } from '../../src/linalg/matrix.ts';
import { ConfigError } from '../../src/errors.ts';
import { configErrorMatching } from '../helpers.ts';

const cfg = configErrorMatching;

const close = (a: number, b: number, tol = 1e-10): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('complete graph with uniform mixing has lambda = rho = 0', () => {
  const s = spectrum(mixingMatrix(buildGraph({ type: 'complete', agents: 5 }, 0), 'uniform'));
  close(s.lambda, 0);
  close(s.rho, 0);
  close(s.lambdaSquared, 0);
  close(s.eigenvalues[4]!, 1);
});

test('single agent: lambda = rho = 0', () => {
  const s = spectrum(fromRows([[1]]));
  assert.equal(s.lambda, 0);
  assert.equal(s.rho, 0);
  assert.deepEqual(Array.from(s.eigenvalues), [1]);
});

test('ring with metropolis weights matches the circulant closed form', () => {
  for (const m of [5, 8, 11]) {
    const s = spectrum(mixingMatrix(buildGraph({ type: 'ring', agents: m }, 0), 'metropolis'));
    const ev: number[] = [];
    for (let k = 0; k < m; k++) ev.push(1 / 3 + (2 / 3) * Math.cos((2 * Math.PI * k) / m));
    ev.sort((a, b) => a - b);
    for (let k = 0; k < m; k++) close(s.eigenvalues[k]!, ev[k]!);
    const expected = Math.max(...ev.slice(0, m - 1).map(Math.abs));
    close(s.lambda, expected);
    close(s.rho, expected);
    close(s.lambdaSquared, expected * expected);
  }
  close(spectrum(mixingMatrix(buildGraph({ type: 'ring', agents: 8 }, 0), 'metropolis')).lambda, (1 + Math.SQRT2) / 3);
});

test('path with metropolis weights: W = I − L/3, lambda = 1/3 + 2/3 cos(π/m)', () => {
  for (const m of [3, 6, 9]) {
    const s = spectrum(mixingMatrix(buildGraph({ type: 'path', agents: m }, 0), 'metropolis'));
    const expected = 1 / 3 + (2 / 3) * Math.cos(Math.PI / m);
    close(s.lambda, expected);
    close(s.rho, expected);
    close(s.eigenvalues[0]!, 1 / 3 + (2 / 3) * Math.cos((Math.PI * (m - 1)) / m));
  }
});

test('laplacian rule on known graphs', () => {
  // Complete: W = I/3 + 2J/(3m), so lambda = 1/3.
  close(spectrum(mixingMatrix(buildGraph({ type: 'complete', agents: 6 }, 0), 'laplacian')).lambda, 1 / 3);
  // Ring of 8: λmax(L) = 4, W = I − L/6, λ2 = 1 − (2 − √2)/6.
  close(spectrum(mixingMatrix(buildGraph({ type: 'ring', agents: 8 }, 0), 'laplacian')).lambda, 1 - (2 - Math.SQRT2) / 6);
});

test('lambda equals rho for every valid W, and eigenvalues ascend', () => {
  const specs: TopologySpec[] = [
    { type: 'star', agents: 7 },
    { type: 'torus', agents: 16 },
    { type: 'exponential', agents: 10 },
    { type: 'erdos-renyi', agents: 15, p: 0.3 },
  ];
  for (const spec of specs)
    for (const mixing of ['laplacian', 'metropolis'] as const) {
      const t = buildTopology({ ...spec, mixing }, 9);
      close(t.spectrum.lambda, t.spectrum.rho, 1e-9);
      assert.ok(t.spectrum.lambda < 1 - 1e-6);
      const ev = t.spectrum.eigenvalues!;
      for (let k = 1; k < t.graph.m; k++) assert.ok(ev[k - 1]! <= ev[k]!);
    }
  // Negative entries push an eigenvalue above 1; lambda still excludes the consensus direction.
  const s = spectrum(fromRows([[1.1, -0.1], [-0.1, 1.1]]));
  close(s.lambda, 1.2);
  close(s.rho, 1.2);
});

test('rho of a non-symmetric matrix is its spectral norm', () => {
  // W − J = [[0, 0.5], [0, 0]] has norm 0.5.
  const s = spectrum(fromRows([[0.5, 1], [0.5, 0.5]]));
  close(s.rho, 0.5);
});

test('buildTopology defaults to metropolis and honours mixing', () => {
  const t = buildTopology({ type: 'ring', agents: 6 }, 0);
  close(t.weights.data[0]!, 1 / 3);
  const u = buildTopology({ type: 'complete', agents: 3, mixing: 'uniform' }, 0);
  close(u.spectrum.lambda, 0);
  assert.throws(() => buildTopology({ type: 'path', agents: 3, mixing: 'uniform' }, 0), cfg(/^topology\.mixing: uniform mixing/));
  assert.throws(() => buildTopology({ type: 'ring', agents: 0 }, 0), cfg(/^topology\.agents/));
});

test('topologyFromMatrix builds the graph from the weights', () => {
  const rows = [
    [0.5, 0.25, 0, 0.25],
    [0.25, 0.5, 0.25, 0],
    [0, 0.25, 0.5, 0.25],
    [0.25, 0, 0.25, 0.5],
  ];
  const t = topologyFromMatrix(rows, 4, 'topology');
  assert.deepEqual(t.graph, buildGraph({ type: 'ring', agents: 4 }, 0));
  close(t.spectrum.lambda, 0.5);
  assert.deepEqual(topologyFromMatrix([[1]], 1, 'topology').graph.edges, []);
});

test('topologyFromMatrix errors', () => {
  const rows = [
    [0.5, 0.5, 0],
    [0.5, 0.25, 0.25],
    [0, 0.25, 0.75],
  ];
  topologyFromMatrix(rows, 3, 'cfg');
  assert.throws(
    () => topologyFromMatrix(rows, 4, 'cfg'),
    (e: unknown) => e instanceof ConfigError && /^cfg\.weights: expected a 4×4 matrix \(one row per agent\), got 3 rows$/.test(e.message),
  );
  assert.throws(() => topologyFromMatrix([[0.5, 0.5], [0.5]], 2, 'cfg'), cfg(/^cfg\.weights\[1\]: expected a row of 2 numbers/));
  assert.throws(() => topologyFromMatrix([[0.5, '0.5'], [0.5, 0.5]] as unknown as number[][], 2, 'cfg'), cfg(/^cfg\.weights\[0\]\[1\]: expected a finite number, got "0\.5"/));
  assert.throws(() => topologyFromMatrix([[0.5, 0.4], [0.6, 0.5]], 2, 'cfg'), cfg(/^cfg\.weights: matrix is not symmetric: w\[0\]\[1\] = 0\.4 but w\[1\]\[0\] = 0\.6/));
  assert.throws(() => topologyFromMatrix([[0.5, 0.4], [0.4, 0.5]], 2, 'cfg'), cfg(/^cfg\.weights: matrix is not doubly stochastic: row 0 sums to 0\.9/));
  assert.throws(
    () => topologyFromMatrix([[0.5, 0.5, 0], [0.5, 0.5, 0], [0, 0, 1]], 3, 'cfg'),
    cfg(/^cfg\.weights: the graph of nonzero off-diagonal weights is disconnected .*2 components \{0, 1\}, \{2\}/),
  );
});

test('mixing matrices with negative entries are refused unless allowed, and ρ ≥ 1 is always refused', () => {
  // Symmetric, doubly stochastic, λ = 1.85: gossip with it diverges.
  const bad = [
    [-0.425, 0.7125, 0.7125],
    [0.7125, -0.425, 0.7125],
    [0.7125, 0.7125, -0.425],
  ];
  assert.throws(
    () => topologyFromMatrix(bad, 3),
    cfg(/^topology\.weights: entry w\[0\]\[0\] = -0\.425 is negative; .* \(set topology\.allowNegativeWeights: true to accept negative entries when ρ = ‖W − 11ᵀ\/m‖₂ < 1\)$/),
  );
  assert.throws(() => topologyFromMatrix(bad, 3, 'topology', { allowNegativeWeights: true }), cfg(/^topology\.weights: ρ = ‖W − 11ᵀ\/m‖₂ = 1\.13750 is not below 1/));
  // Negative entries with ρ < 1 are accepted when asked for.
  const ok = [
    [0.6, 0.5, -0.1],
    [0.5, 0.3, 0.2],
    [-0.1, 0.2, 0.9],
  ];
  assert.throws(() => topologyFromMatrix(ok, 3), cfg(/^topology\.weights: entry w\[0\]\[2\] = -0\.1 is negative/));
  const t = topologyFromMatrix(ok, 3, 'topology', { allowNegativeWeights: true });
  const dense = spectrum(fromRows(ok));
  close(t.spectrum.rho, dense.rho);
  assert.ok(t.spectrum.rho < 1);
  // Nonnegative but periodic (bipartite, zero diagonal): eigenvalue −1, ρ = 1.
  assert.throws(() => topologyFromMatrix([[0, 1], [1, 0]], 2), cfg(/^topology\.weights: ρ = ‖W − 11ᵀ\/m‖₂ = 1\.00000 is not below 1, so gossip with this matrix does not contract \(W has an eigenvalue −1/));
  const swap4 = [
    [0, 0.5, 0, 0.5],
    [0.5, 0, 0.5, 0],
    [0, 0.5, 0, 0.5],
    [0.5, 0, 0.5, 0],
  ];
  assert.throws(() => topologyFromMatrix(swap4, 4), cfg(/is not below 1/));
});
