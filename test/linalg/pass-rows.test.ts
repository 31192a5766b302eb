/**
 * softmaxPassRows (src/linalg/fused.ts and its WebAssembly kernel): the
 * gradient and HVP passes at one or two parameter matrices over the same rows
 * equal the separate passes (softmaxGradientRows, then softmaxHvpRows with its
 * probabilities) bit for bit, kernel set by kernel set, and the WebAssembly
 * pass equals the TypeScript one to 1e-12 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fusedScratchLength, passScratchLength, PASS_POINTS, type PassPoint } from '../../src/linalg/fused.ts';
import { pinTable, tsKernels, type RowKernels } from '../../src/linalg/kernels.ts';
import { wasmKernels } from '../../src/linalg/wasm/index.ts';
import { Rng } from '../../src/random/rng.ts';
import { maxRelErr } from '../helpers.ts';

const wasm = wasmKernels();
const sets: ReadonlyArray<RowKernels> = wasm ? [tsKernels, wasm] : [tsKernels];

/** Bitwise equality of two arrays, with the first differing index in the message. */
function sameBits(got: Float64Array, want: Float64Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.fail(`${what}: entry ${i} is ${got[i]}, separate passes give ${want[i]}`);
}

interface Case {
  readonly n: number;
  readonly d: number;
  readonly c: number;
}

function inputs({ n, d, c }: Case, pin: boolean) {
  const rng = new Rng(n * 7919 + d * 31 + c, 'pass-rows');
  const a = Float64Array.from({ length: n * d }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, () => rng.int(c));
  if (pin) {
    pinTable(a);
    pinTable(labels);
  }
  const mats = Array.from({ length: 2 * PASS_POINTS }, () => Float64Array.from({ length: d * c }, () => 0.4 * rng.normal()));
  const rowSets: Array<Int32Array | null> = [null, Int32Array.from({ length: Math.max(1, n >> 1) }, () => rng.int(n)), Int32Array.from({ length: 1 }, () => rng.int(n)), new Int32Array(0)];
  return { a, labels, mats, rowSets };
}

for (const shape of [
  { n: 60, d: 200, c: 2 },
  { n: 31, d: 7, c: 3 },
  { n: 17, d: 33, c: 10 },
  { n: 9, d: 1, c: 1 },
  { n: 12, d: 6, c: 5 },
  { n: 11, d: 5, c: 2 },
] as const) {
  for (const pin of [false, true])
    test(`softmaxPassRows equals the separate passes bit for bit (n=${shape.n}, d=${shape.d}, c=${shape.c}, ${pin ? 'pinned' : 'unpinned'})`, () => {
      const { n, d, c } = shape;
      const { a, labels, mats, rowSets } = inputs(shape, pin);
      const scratch = new Float64Array(Math.max(fusedScratchLength(d, c), passScratchLength(d, c)));
      for (const rows of rowSets) {
        const count = rows === null ? n : rows.length;
        const scale = 1 / Math.max(1, count);
        for (const k of [1, 2])
          for (const hvp of [false, true]) {
            const what = (set: RowKernels) => `${set.name}, ${rows === null ? 'all rows' : `${count} gathered rows`}, ${k} point(s), ${hvp ? 'gradient and HVP' : 'gradient'}`;
            const results = sets.map((set) => {
              const points: PassPoint[] = Array.from({ length: k }, (_, j) => ({
                y: mats[2 * j]!,
                v: hvp ? mats[2 * j + 1]! : null,
                grad: new Float64Array(d * c).fill(NaN),
                hvp: hvp ? new Float64Array(d * c).fill(NaN) : null,
                probs: j === 0 ? new Float64Array(count * c) : null,
              }));
              set.softmaxPassRows(points, a, d, rows, count, labels, c, scale, new Float64Array(passScratchLength(d, c)).fill(NaN), new Float64Array(PASS_POINTS * count * c));
              for (const [j, pt] of points.entries()) {
                const probs = new Float64Array(count * c);
                const grad = new Float64Array(d * c);
                set.softmaxGradientRows(grad, probs, a, d, rows, count, labels, pt.y, c, scale, scratch);
                sameBits(pt.grad, grad, `${what(set)}: gradient of point ${j}`);
                if (pt.probs) sameBits(pt.probs, probs, `${what(set)}: probabilities of point ${j}`);
                if (hvp) {
                  const hv = new Float64Array(d * c);
                  set.softmaxHvpRows(hv, probs, a, d, rows, count, pt.v!, c, scale, scratch);
                  sameBits(pt.hvp!, hv, `${what(set)}: HVP of point ${j}`);
                }
              }
              return points;
            });
            // Across kernel sets: equal to rounding.
            if (results.length === 2 && count > 0)
              for (const [j, pt] of results[1]!.entries()) {
                const ref = results[0]![j]!;
                assert.ok(maxRelErr(pt.grad, ref.grad) <= 1e-12, `${what(wasm!)}: gradient of point ${j} vs TypeScript`);
                if (hvp && c > 1) assert.ok(maxRelErr(pt.hvp!, ref.hvp!) <= 1e-12, `${what(wasm!)}: HVP of point ${j} vs TypeScript`);
              }
          }
      }
    });
}

test('softmaxPassRows refuses more points than it takes', () => {
  const d = 3;
  const c = 2;
  const pt = (): PassPoint => ({ y: new Float64Array(d * c), v: null, grad: new Float64Array(d * c), hvp: null, probs: null });
  for (const set of sets) assert.throws(() => set.softmaxPassRows([pt(), pt(), pt()], new Float64Array(d), d, null, 1, new Int32Array(1), c, 1, new Float64Array(passScratchLength(d, c)), new Float64Array(3 * c)), /1 (to|or) 2 points/);
});
