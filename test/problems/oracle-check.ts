/** Finite-difference checks of an agent's oracles (float64, central differences), shared by the MLP problem tests. */
import assert from 'node:assert/strict';
import type { Vec } from '../../src/linalg/vector.ts';
import type { AgentOracle, Batch } from '../../src/problems/types.ts';
import type { Rng } from '../../src/random/rng.ts';

export const H = 1e-5;
export const TOL = 1e-6;

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/** ‖a − b‖ / max(‖a‖, ‖b‖, 1e-12). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length mismatch');
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(d) / Math.max(norm(a), norm(b), 1e-12);
}

/** Asserts rel. error ≤ tol and returns it (for reporting the worst case). */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): number {
  const e = relErr(got, want);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(3)} > ${tol}`);
  return e;
}

export function fdGradient(fn: () => number, at: Vec): Float64Array {
  const out = new Float64Array(at.length);
  for (let i = 0; i < at.length; i++) {
    const v0 = at[i]!;
    at[i] = v0 + H;
    const fp = fn();
    at[i] = v0 - H;
    const fm = fn();
    at[i] = v0;
    out[i] = (fp - fm) / (2 * H);
  }
  return out;
}

export function fdDirectional(fn: (out: Vec) => void, at: Vec, v: Vec, outLen: number): Float64Array {
  const base = Float64Array.from(at);
  const plus = new Float64Array(outLen);
  const minus = new Float64Array(outLen);
  for (let i = 0; i < at.length; i++) at[i] = base[i]! + H * v[i]!;
  fn(plus);
  for (let i = 0; i < at.length; i++) at[i] = base[i]! - H * v[i]!;
  fn(minus);
  at.set(base);
  const out = new Float64Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = (plus[i]! - minus[i]!) / (2 * H);
  return out;
}

export function randomVec(rng: Rng, n: number, scale = 1): Float64Array {
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = scale * rng.normal();
  return v;
}

/**
 * ∇_x f, ∇_y f, ∇_x g, ∇_y g against differences of f and g; HVP against
 * differences of ∇_y g in y; JVP(v) against the x-gradient of ⟨∇_y g, v⟩.
 * Returns the largest relative error seen.
 */
export function checkOracles(label: string, o: AgentOracle, x: Vec, y: Vec, batch: Batch, rng: Rng): number {
  const { dx, dy } = o;
  let worst = 0;
  const keep = (e: number) => (worst = Math.max(worst, e));
  const x0 = Float64Array.from(x);
  const y0 = Float64Array.from(y);
  const gfx = new Float64Array(dx);
  const gfy = new Float64Array(dy);
  o.gradF(x, y, batch, gfx, gfy);
  keep(assertClose(gfx, fdGradient(() => o.f(x, y, batch), x), `${label}: grad_x f`));
  keep(assertClose(gfy, fdGradient(() => o.f(x, y, batch), y), `${label}: grad_y f`));
  const ggx = new Float64Array(dx);
  const ggy = new Float64Array(dy);
  o.gradG(x, y, batch, ggx, ggy);
  keep(assertClose(ggx, fdGradient(() => o.g(x, y, batch), x), `${label}: grad_x g`));
  keep(assertClose(ggy, fdGradient(() => o.g(x, y, batch), y), `${label}: grad_y g`));
  const only = new Float64Array(dy).fill(NaN);
  o.gradG(x, y, batch, null, only);
  assert.deepEqual(Array.from(only), Array.from(ggy), `${label}: gradG with outX null`);
  const gradGy = (out: Vec): void => o.gradG(x, y, batch, null, out);
  for (const v of [randomVec(rng, dy), randomVec(rng, dy, 3)]) {
    const hv = new Float64Array(dy);
    o.hvp(x, y, v, batch, hv);
    keep(assertClose(hv, fdDirectional(gradGy, y, v, dy), `${label}: hvp`));
    const jv = new Float64Array(dx);
    o.jvp(x, y, v, batch, jv);
    const tmp = new Float64Array(dy);
    const fd = fdGradient(() => {
      gradGy(tmp);
      let s = 0;
      for (let i = 0; i < dy; i++) s += tmp[i]! * v[i]!;
      return s;
    }, x);
    keep(assertClose(jv, fd, `${label}: jvp`));
  }
  assert.deepEqual(Array.from(x), Array.from(x0), `${label}: x modified`);
  assert.deepEqual(Array.from(y), Array.from(y0), `${label}: y modified`);
  return worst;
}
