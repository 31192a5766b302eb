import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Evaluator } from '../../src/metrics/evaluate.ts';
import { newtonCg } from '../../src/metrics/lower-solver.ts';
import type { AgentOracle, Batch, BilevelProblem, ProblemClass } from '../../src/problems/types.ts';
import type { Vec } from '../../src/linalg/vector.ts';
import { Rng } from '../../src/random/rng.ts';

/**
 * A bilevel problem whose lower level is not quadratic but has a known
 * minimizer. With u = y − B x,
 *   g_i(x, y) = Σ_k c_ik log cosh(u_k) + ½ uᵀ S_i u   (c_ik > 0, S_i SPD),
 *   f_i(x, y) = ½ ‖y − t_i‖² + ½ λ ‖x‖².
 * Every g_i (and their average) is minimized at y*(x) = B x, so
 *   Φ_i(x) = ½ ‖B x − t_i‖² + ½ λ ‖x‖²,  ∇Φ_i(x) = Bᵀ(B x − t_i) + λ x,
 * for class G (t̄ in place of t_i) and class P alike, whatever c_i and S_i.
 * Far from u = 0 the log cosh terms saturate (curvature c·sech²u → 0), so
 * Newton-CG needs its line search: a non-quadratic test of the evaluator.
 */
const DX = 3;
const DY = 4;
const M = 3;
const LAMBDA = 0.2;

function logCosh(u: number): number {
  const a = Math.abs(u);
  return a + Math.log1p(Math.exp(-2 * a)) - Math.LN2;
}

interface Instance {
  readonly B: number[][];
  readonly agents: { c: number[]; S: number[][]; t: number[] }[];
}

function instance(seed: number): Instance {
  const rng = new Rng(seed, 'evaluator-test');
  const u = () => 2 * rng.uniform() - 1;
  const B = Array.from({ length: DY }, () => Array.from({ length: DX }, u));
  const agents = Array.from({ length: M }, () => {
    const R = Array.from({ length: DY }, () => Array.from({ length: DY }, u));
    // S = 0.05 I + 0.1 RᵀR: SPD with small eigenvalues, so log cosh dominates.
    const S = Array.from({ length: DY }, (_, i) => Array.from({ length: DY }, (_, j) => (i === j ? 0.05 : 0) + 0.1 * R.reduce((s, r) => s + r[i]! * r[j]!, 0)));
    return { c: Array.from({ length: DY }, () => 1 + 2 * rng.uniform()), S, t: Array.from({ length: DY }, u) };
  });
  return { B, agents };
}

function residual(B: number[][], x: Vec, y: Vec): number[] {
  return B.map((row, k) => y[k]! - row.reduce((s, b, j) => s + b * x[j]!, 0));
}

function oracle(B: number[][], a: Instance['agents'][number]): AgentOracle {
  const curvedApply = (u: number[], v: Vec): number[] => u.map((uk, k) => a.c[k]! * v[k]! / Math.cosh(uk) ** 2 + a.S[k]!.reduce((s, skj, j) => s + skj * v[j]!, 0));
  const bt = (w: number[], out: Vec, sign: number): void => {
    for (let j = 0; j < DX; j++) out[j] = sign * B.reduce((s, row, k) => s + row[j]! * w[k]!, 0);
  };
  const g = (x: Vec, y: Vec): number => {
    const u = residual(B, x, y);
    return u.reduce((s, uk, k) => s + a.c[k]! * logCosh(uk) + 0.5 * uk * a.S[k]!.reduce((t, skj, j) => t + skj * u[j]!, 0), 0);
  };
  return {
    dx: DX,
    dy: DY,
    upperSamples: 1,
    lowerSamples: 1,
    f: (x, y) => 0.5 * y.reduce((s, yk, k) => s + (yk - a.t[k]!) ** 2, 0) + 0.5 * LAMBDA * x.reduce((s, xj) => s + xj * xj, 0),
    g: (x, y) => g(x, y),
    lowerDataLoss: (x, y) => g(x, y),
    gradF(x: Vec, y: Vec, _b: Batch, outX: Vec, outY: Vec): void {
      for (let j = 0; j < DX; j++) outX[j] = LAMBDA * x[j]!;
      for (let k = 0; k < DY; k++) outY[k] = y[k]! - a.t[k]!;
    },
    gradG(x: Vec, y: Vec, _b: Batch, outX: Vec | null, outY: Vec): void {
      const u = residual(B, x, y);
      const gy = u.map((uk, k) => a.c[k]! * Math.tanh(uk) + a.S[k]!.reduce((s, skj, j) => s + skj * u[j]!, 0));
      outY.set(gy);
      if (outX) bt(gy, outX, -1);
    },
    hvp(x: Vec, y: Vec, v: Vec, _b: Batch, out: Vec): void {
      out.set(curvedApply(residual(B, x, y), v));
    },
    jvp(x: Vec, y: Vec, v: Vec, _b: Batch, out: Vec): void {
      bt(curvedApply(residual(B, x, y), v), out, -1);
    },
    hessian: () => {
      throw new Error('not used by the evaluator');
    },
    jacobian: () => {
      throw new Error('not used by the evaluator');
    },
  };
}

function problem(problemClass: ProblemClass, seed: number): { p: BilevelProblem; inst: Instance } {
  const inst = instance(seed);
  return { inst, p: { type: 'logcosh-test', problemClass, m: M, dx: DX, dy: DY, agents: inst.agents.map((a) => oracle(inst.B, a)) } };
}

/** ∇Φ(x) = Bᵀ(B x − t̄) + λ x (the mean over agents of ∇Φ_i, for class P; the same formula for class G). */
function closedFormGradient(inst: Instance, x: Vec): number[] {
  const tBar = Array.from({ length: DY }, (_, k) => inst.agents.reduce((s, a) => s + a.t[k]!, 0) / M);
  const r = inst.B.map((row, k) => row.reduce((s, b, j) => s + b * x[j]!, 0) - tBar[k]!);
  return Array.from({ length: DX }, (_, j) => inst.B.reduce((s, row, k) => s + row[j]! * r[k]!, 0) + LAMBDA * x[j]!);
}

test('Newton-CG finds the known minimizer of a non-quadratic (log cosh) lower level from a far start', () => {
  const { inst, p } = problem('global', 1);
  const x = Float64Array.from([0.7, -1.2, 0.4]);
  const lower = p.agents[0]!;
  const full: Batch = { full: true, size: 1, indices: new Int32Array(0), seed: 0 };
  const y = new Float64Array(DY).fill(8);
  const r = newtonCg(
    {
      value: (v) => lower.g(x, v, full),
      gradient: (v, out) => lower.gradG(x, v, full, null, out),
      hvp: (v, d, out) => lower.hvp(x, v, d, full, out),
    },
    y,
    { gradTol: 1e-11, maxIterations: 100 },
  );
  assert.ok(r.converged, `gradient norm ${r.gradNorm} after ${r.iterations} iterations`);
  assert.ok(r.iterations > 2, `a far start on log cosh takes several damped steps (took ${r.iterations})`);
  const err = Math.max(...residual(inst.B, x, y).map(Math.abs));
  assert.ok(err < 1e-9, `‖y − Bx‖∞ = ${err}`);
});

for (const problemClass of ['global', 'personalized'] as const) {
  test(`evaluator (class ${problemClass}): Newton-CG + CG hypergradient equals the closed form Bᵀ(Bx − t̄) + λx; lowerError is ‖y − Bx‖²`, () => {
    const { inst, p } = problem(problemClass, 2);
    const ev = new Evaluator(p, { lowerGradTol: 1e-11, linearTol: 1e-12 });
    ev.warmStart(new Float64Array(DY).fill(6));
    const rng = new Rng(9);
    for (let trial = 0; trial < 3; trial++) {
      const xBar = Float64Array.from({ length: DX }, () => 2 * rng.normal());
      const grad = new Float64Array(DX);
      ev.hypergradient(xBar, grad);
      const expected = closedFormGradient(inst, xBar);
      const err = Math.max(...expected.map((e, j) => Math.abs(e - grad[j]!)));
      assert.ok(err < 1e-8, `trial ${trial}: ‖∇Φ − closed form‖∞ = ${err}`);
      // Rows: agents at consensus x̄ with y_i = B x̄ + δ_i.
      const yStar = inst.B.map((row) => row.reduce((s, b, j) => s + b * xBar[j]!, 0));
      const deltas = Array.from({ length: M }, () => Array.from({ length: DY }, () => 0.1 * rng.normal()));
      const views = deltas.map((d) => ({ x: xBar.slice(), y: Float64Array.from(yStar, (v, k) => v + d[k]!) }));
      const row = ev.evaluate(views);
      const normSq = expected.reduce((s, e) => s + e * e, 0);
      assert.ok(Math.abs(row.hypergradNormSq - normSq) < 1e-8 * Math.max(1, normSq), `‖∇Φ‖² ${row.hypergradNormSq} vs ${normSq}`);
      assert.equal(row.lowerSolveFailed, undefined);
      const sq = (v: number[]): number => v.reduce((s, e) => s + e * e, 0);
      const expectedLowerError =
        problemClass === 'global'
          ? sq(Array.from({ length: DY }, (_, k) => deltas.reduce((s, d) => s + d[k]!, 0) / M))
          : deltas.reduce((s, d) => s + sq(d), 0) / M;
      assert.ok(Math.abs(row.lowerError - expectedLowerError) < 1e-12, `lowerError ${row.lowerError} vs ${expectedLowerError}`);
    }
  });
}
