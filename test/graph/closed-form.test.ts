import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildStructuredGraph,
  laplacianEigenvalues,
  sparseMixingMatrix,
  sparseSpectrum,
  sparseToDense,
  spectrum,
  type Graph,
  type MixingRule,
  type TopologySpec,
} from '../../src/graph/index.ts';
import { symmetricEigen, zeros } from '../../src/linalg/matrix.ts';

const close = (a: number, b: number, tol = 1e-10, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

function denseLaplacian(g: Graph) {
  const l = zeros(g.m, g.m);
  for (let i = 0; i < g.m; i++) l.data[i * g.m + i] = g.neighbours[i]!.length;
  for (const [i, j] of g.edges) {
    l.data[i * g.m + j] = -1;
    l.data[j * g.m + i] = -1;
  }
  return l;
}

const structured: TopologySpec[] = [
  { type: 'ring', agents: 1 },
  { type: 'ring', agents: 2 },
  { type: 'ring', agents: 3 },
  { type: 'ring', agents: 10 },
  { type: 'ring', agents: 41 },
  { type: 'torus', agents: 9 },
  { type: 'torus', agents: 12 },
  { type: 'torus', agents: 12, rows: 2 },
  { type: 'torus', agents: 4 },
  { type: 'torus', agents: 42 },
  { type: 'exponential', agents: 5 },
  { type: 'exponential', agents: 8 },
  { type: 'exponential', agents: 13 },
  { type: 'exponential', agents: 40 },
  { type: 'complete', agents: 7 },
  { type: 'path', agents: 6 },
  { type: 'path', agents: 2 },
  { type: 'star', agents: 6 },
  { type: 'star', agents: 2 },
];

test('closed-form Laplacian spectra equal the dense eigensolver on ring, torus, exponential, complete, path and star graphs', () => {
  for (const spec of structured) {
    const { graph, structure } = buildStructuredGraph(spec, 1);
    assert.ok(structure !== null, `${spec.type} has a structure`);
    const mu = laplacianEigenvalues(structure);
    assert.equal(mu.length, graph.m);
    assert.equal(mu[0], 0, 'entry 0 is the constant vector');
    const sorted = Float64Array.from(mu).sort();
    const dense = symmetricEigen(denseLaplacian(graph)).values;
    for (let k = 0; k < graph.m; k++) close(sorted[k]!, dense[k]!, 1e-9, `${JSON.stringify(spec)} μ${k}`);
  }
});

test('closed-form mixing spectra equal the dense eigensolver (metropolis, laplacian, uniform)', () => {
  for (const spec of structured) {
    const { graph, structure } = buildStructuredGraph(spec, 1);
    const rules: MixingRule[] = spec.type === 'complete' ? ['metropolis', 'laplacian', 'uniform'] : ['metropolis', 'laplacian'];
    for (const rule of rules) {
      const w = sparseMixingMatrix(graph, rule, 'm', structure);
      const s = sparseSpectrum(w, structure);
      const d = spectrum(sparseToDense(w));
      if (graph.m > 1) assert.equal(s.method, 'closed-form', `${JSON.stringify(spec)} ${rule}`);
      close(s.lambda, d.lambda, 1e-9, `${JSON.stringify(spec)} ${rule} lambda`);
      close(s.rho, d.rho, 1e-9, `${JSON.stringify(spec)} ${rule} rho`);
      for (let k = 0; k < graph.m; k++) close(s.eigenvalues![k]!, d.eigenvalues[k]!, 1e-9, `${JSON.stringify(spec)} ${rule} eigenvalue ${k}`);
    }
  }
});

test('closed forms at m = 10,000: ring λ = 1/3 + 2/3 cos(2π/m), 100 × 100 torus λ = 1 − (2 − 2cos(2π/100))/5', () => {
  const m = 10_000;
  const ring = buildStructuredGraph({ type: 'ring', agents: m }, 1);
  const s = sparseSpectrum(sparseMixingMatrix(ring.graph, 'metropolis', 'm', ring.structure), ring.structure);
  close(s.lambda, 1 / 3 + (2 / 3) * Math.cos((2 * Math.PI) / m), 1e-15);
  const torus = buildStructuredGraph({ type: 'torus', agents: m }, 1);
  assert.deepEqual(torus.structure, { kind: 'torus', rows: 100, cols: 100 });
  const t = sparseSpectrum(sparseMixingMatrix(torus.graph, 'metropolis', 'm', torus.structure), torus.structure);
  close(t.lambda, 1 - (2 - 2 * Math.cos((2 * Math.PI) / 100)) / 5, 1e-14);
});
