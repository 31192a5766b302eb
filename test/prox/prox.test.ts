/**
 * Prox operators of src/prox/prox.ts (SEED-003 (6), docs/decisions.md §5):
 * prox_{(h + ι_X)/τ}(v) = argmin_{x ∈ X} h(x) + (τ/2)‖x − v‖², checked against
 * a brute-force minimization. ℓ₁, box and ℓ₁ + box are separable, so each
 * coordinate is a 1-D convex problem (golden-section search); for the ball the
 * minimizer lies on the ray through v, so a 1-D search along that ray (and a
 * cloud of random feasible points) checks it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { project, prox, proxSchema, regularizerValue, type ProxSpec } from '../../src/prox/prox.ts';
import { parseWith } from '../../src/experiments/zod-errors.ts';
import { Rng } from '../../src/random/rng.ts';

/** argmin of a convex φ on [lo, hi] by golden-section search. */
function argmin1d(phi: (x: number) => number, lo: number, hi: number): number {
  const r = (Math.sqrt(5) - 1) / 2;
  let a = lo;
  let b = hi;
  for (let it = 0; it < 200 && b - a > 1e-13; it++) {
    const c = b - r * (b - a);
    const d = a + r * (b - a);
    if (phi(c) <= phi(d)) b = d;
    else a = c;
  }
  return (a + b) / 2;
}

/** Coordinatewise brute force for separable specs (no ball). */
function bruteSeparable(spec: ProxSpec, tau: number, v: Float64Array): Float64Array {
  const l1 = spec.l1 ?? 0;
  return Float64Array.from(v, (vi) => {
    const [lo, hi] = spec.box ?? [vi - l1 / tau - 10, vi + l1 / tau + 10];
    return argmin1d((x) => l1 * Math.abs(x) + (tau / 2) * (x - vi) ** 2, lo, hi);
  });
}

function randomVec(rng: Rng, n: number, s: number): Float64Array {
  return Float64Array.from({ length: n }, () => s * rng.normal());
}

const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('prox matches a brute-force 1-D minimization for l1, box and l1 + box', () => {
  const rng = new Rng(5, 'prox-test');
  const specs: ProxSpec[] = [{}, { l1: 0.3 }, { box: [-0.5, 0.8] }, { l1: 0.3, box: [-0.5, 0.8] }, { l1: 2, box: [0.1, 1] }, { l1: 0.05, box: [-2, -1] }];
  for (const spec of specs)
    for (const tau of [0.5, 1, 4])
      for (let trial = 0; trial < 20; trial++) {
        const v = randomVec(rng, 7, 1.5);
        const out = new Float64Array(7);
        prox(spec, tau, v, out);
        const brute = bruteSeparable(spec, tau, v);
        assert.ok(maxDiff(out, brute) < 1e-7, `${JSON.stringify(spec)} τ = ${tau}: ${Array.from(out)} vs ${Array.from(brute)}`);
        // In place (out aliases v) gives the same.
        prox(spec, tau, v, v);
        assert.deepEqual(v, out);
      }
});

test('prox soft-thresholds at λ₁/τ: exact zeros inside the threshold', () => {
  const out = new Float64Array(4);
  prox({ l1: 1 }, 4, Float64Array.from([0.2, -0.25, 0.3, -1]), out);
  assert.deepEqual(Array.from(out), [0, 0, 0.3 - 0.25, -0.75]);
  assert.equal(regularizerValue({ l1: 0.5 }, Float64Array.from([1, -2])), 1.5);
  assert.equal(regularizerValue({}, Float64Array.from([1, -2])), 0);
});

test('ball: the prox is the radial projection, optimal along the ray and against random feasible points', () => {
  const rng = new Rng(6, 'prox-ball');
  const R = 1.3;
  for (let trial = 0; trial < 30; trial++) {
    const v = randomVec(rng, 5, trial % 2 === 0 ? 0.3 : 2);
    const out = new Float64Array(5);
    prox({ ball: R }, 2, v, out);
    const nv = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    // On the ray x = s·v/‖v‖, s ∈ [−R, R]: minimize ‖x − v‖² = (s − ‖v‖)².
    const s = argmin1d((t) => (t - nv) ** 2, -R, R);
    const ray = Float64Array.from(v, (x) => (s * x) / nv);
    assert.ok(maxDiff(out, ray) < 1e-7, `${Array.from(out)} vs ${Array.from(ray)}`);
    const dOut = out.reduce((acc, x, i) => acc + (x - v[i]!) ** 2, 0);
    for (let k = 0; k < 50; k++) {
      const w = randomVec(rng, 5, 1);
      const nw = Math.sqrt(w.reduce((acc, x) => acc + x * x, 0));
      const r = R * rng.uniform();
      const d = w.reduce((acc, x, i) => acc + ((r * x) / nw - v[i]!) ** 2, 0);
      assert.ok(d >= dOut - 1e-12);
    }
  }
});

test('project ignores h and applies the constraint set alone', () => {
  const v = Float64Array.from([0.05, -3, 0.5]);
  const a = new Float64Array(3);
  const b = new Float64Array(3);
  project({ l1: 10, box: [-1, 1] }, v, a);
  prox({ box: [-1, 1] }, 7, v, b);
  assert.deepEqual(a, b);
  assert.deepEqual(Array.from(a), [0.05, -1, 0.5]);
  project({ l1: 10 }, v, a);
  assert.deepEqual(a, v);
  project({ ball: 1 }, Float64Array.from([3, 4]), a.subarray(0, 2));
  assert.ok(Math.abs(a[0]! - 0.6) < 1e-15 && Math.abs(a[1]! - 0.8) < 1e-15);
});

test('the schema rejects box + ball, l1 + ball, lower > upper and a negative l1, naming the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ box: [-1, 1], ball: 2 }, /^prox\.ball: a box and a ball together are not supported/],
    [{ l1: 0.1, ball: 2 }, /^prox\.ball: ℓ₁ with an ℓ₂ ball is not supported/],
    [{ box: [1, -1] }, /^prox\.box: box must be \[lower, upper\] with lower ≤ upper/],
    [{ l1: -0.1 }, /^prox\.l1: l1 must be ≥ 0/],
    [{ ball: 0 }, /^prox\.ball: ball must be a radius > 0/],
    [{ box: [1] }, /^prox\.box/],
    [{ radius: 1 }, /^prox: unknown key 'radius'/],
  ];
  for (const [value, message] of cases) assert.throws(() => parseWith(proxSchema, value, 'prox'), { name: 'ConfigError', message }, JSON.stringify(value));
  // Accepted: l1 = 0 with a ball (h = 0), l1 with a box, a degenerate box.
  assert.deepEqual(parseWith(proxSchema, { l1: 0, ball: 1 }), { l1: 0, ball: 1 });
  assert.deepEqual(parseWith(proxSchema, { l1: 0.5, box: [2, 2] }), { l1: 0.5, box: [2, 2] });
  assert.deepEqual(parseWith(proxSchema, {}), {});
});
