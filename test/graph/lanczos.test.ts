import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lanczosExtremes } from '../../src/graph/lanczos.ts';
import {
  buildStructuredGraph,
  laplacianMax,
  sparseMixingMatrix,
  sparseSpectrum,
  sparseToDense,
  spectrum,
  type TopologySpec,
} from '../../src/graph/index.ts';
import { gemv, symmetricEigen, zeros } from '../../src/linalg/matrix.ts';
import { Rng } from '../../src/random/rng.ts';

const close = (a: number, b: number, tol: number, what = ''): void => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('Lanczos extremes of random symmetric matrices equal the dense eigensolver', () => {
  for (const n of [1, 2, 5, 30, 60]) {
    const rng = new Rng(n, 'lanczos-test');
    const a = zeros(n, n);
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) {
        const v = rng.uniform() * 2 - 1;
        a.data[i * n + j] = v;
        a.data[j * n + i] = v;
      }
    const ev = symmetricEigen(a).values;
    const r = lanczosExtremes((x, out) => gemv(out, a, x), n);
    assert.ok(r.converged, `n = ${n} converged`);
    close(r.min, ev[0]!, 1e-9, `n = ${n} min`);
    close(r.max, ev[n - 1]!, 1e-9, `n = ${n} max`);
    assert.ok(r.maxResidual <= 1e-9 && r.minResidual <= 1e-9);
  }
});

test('deflated Lanczos gives the extremes on the complement of the ones vector', () => {
  // diag(5, 1, 2, 3) conjugated so that 1/2·(1,1,1,1) carries the 5: on 1⊥ the extremes are 1 and 3.
  const n = 4;
  const u = [0.5, 0.5, 0.5, 0.5];
  const a = zeros(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a.data[i * n + j] = (i === j ? 2 : 0) + 3 * u[i]! * u[j]!;
  // a = 2I + 3uuᵀ: eigenvalue 5 on u, 2 elsewhere; add a perturbation orthogonal to u.
  const v = [0.5, -0.5, 0.5, -0.5];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a.data[i * n + j]! += v[i]! * v[j]!;
  const r = lanczosExtremes((x, out) => gemv(out, a, x), n, { deflateOnes: true });
  close(r.max, 3, 1e-12, 'max on 1⊥');
  close(r.min, 2, 1e-12, 'min on 1⊥');
});

test('sparse spectra by Lanczos equal the dense eigensolver on graphs without closed forms', () => {
  const specs: TopologySpec[] = [
    { type: 'erdos-renyi', agents: 40, p: 0.15 },
    { type: 'erdos-renyi', agents: 70, p: 0.08 },
    { type: 'custom', agents: 36, edges: Array.from({ length: 35 }, (_, i) => [i, i + 1] as [number, number]).concat([[0, 18], [5, 30]]) },
  ];
  for (const spec of specs)
    for (const rule of ['metropolis', 'laplacian'] as const) {
      const { graph } = buildStructuredGraph(spec, 3);
      const w = sparseMixingMatrix(graph, rule, 'm', null);
      const s = sparseSpectrum(w, null);
      assert.equal(s.method, 'lanczos');
      const d = spectrum(sparseToDense(w));
      close(s.lambda, d.lambda, 1e-9, `${spec.type} ${rule} lambda`);
      close(s.rho, d.rho, 1e-9, `${spec.type} ${rule} rho`);
      assert.ok(s.errorBound! <= 1e-9);
    }
});

test('Lanczos and closed forms agree on large structured graphs (exponential, torus)', () => {
  for (const spec of [{ type: 'exponential', agents: 3000 }, { type: 'torus', agents: 2500 }] as TopologySpec[]) {
    const { graph, structure } = buildStructuredGraph(spec, 1);
    const w = sparseMixingMatrix(graph, 'metropolis', 'm', structure);
    const exact = sparseSpectrum(w, structure);
    const lanczos = sparseSpectrum(w, null);
    assert.equal(exact.method, 'closed-form');
    assert.equal(lanczos.method, 'lanczos');
    close(lanczos.lambda, exact.lambda, 1e-8, `${spec.type}`);
    close(laplacianMax(graph, null), laplacianMax(graph, structure), 1e-8, `${spec.type} λmax(L)`);
  }
});

test('Erdős–Rényi above the pairwise threshold: connected, about p·m(m−1)/2 edges, Lanczos spectrum below 1', () => {
  const m = 5000;
  const p = 0.003;
  const { graph } = buildStructuredGraph({ type: 'erdos-renyi', agents: m, p }, 5);
  const expected = (p * m * (m - 1)) / 2;
  assert.ok(Math.abs(graph.edges.length - expected) < 5 * Math.sqrt(expected), `${graph.edges.length} edges vs ${expected}`);
  const again = buildStructuredGraph({ type: 'erdos-renyi', agents: m, p }, 5).graph;
  assert.deepEqual(again.edges.slice(0, 50), graph.edges.slice(0, 50));
  const s = sparseSpectrum(sparseMixingMatrix(graph, 'metropolis', 'm', null), null);
  assert.ok(s.lambda > 0.3 && s.lambda < 1, `lambda ${s.lambda}`);
});
