/**
 * Benchmark: the hyper-cleaning oracles of one agent (784-300-10 MLP, d_y =
 * 238,510) on a minibatch: ∇_y g, the R-operator HVP and the per-sample JVP.
 * Asserts (exit status 1 otherwise) that an HVP costs at most 3× a gradient
 * on the same batch. Usage: node --import tsx bench/mlp-hvp.ts [batch reps].
 */
import { makeDataset } from '../src/data/dataset.ts';
import { HyperCleaningOracle } from '../src/problems/hyper-cleaning.ts';
import type { Batch } from '../src/problems/types.ts';
import { Rng } from '../src/random/rng.ts';

const [batchSize, reps] = (process.argv.slice(2).length ? process.argv.slice(2) : ['100', '20']).map(Number) as [number, number];
const rng = new Rng(1, 'bench-mlp');
const n = 1000;
const data = () => makeDataset(n, 784, 10, Float64Array.from({ length: n * 784 }, () => rng.uniform()), Int32Array.from({ length: n }, () => rng.int(10)));
const o = new HyperCleaningOracle(data(), data(), 0, n, { hidden: [300], C: 1e-3 });
const x = Float64Array.from({ length: n }, () => rng.normal());
const y = new Float64Array(o.dy);
o.layers.initialise(y, rng);
const v = Float64Array.from({ length: o.dy }, () => rng.normal());
const out = new Float64Array(o.dy);
const outX = new Float64Array(n);
const batch: Batch = { full: false, size: batchSize, indices: rng.permutation(n).slice(0, batchSize), seed: 0 };

function medianMs(f: () => void): number {
  f();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const grad = medianMs(() => o.gradG(x, y, batch, null, out));
const hvp = medianMs(() => o.hvp(x, y, v, batch, out));
const jvp = medianMs(() => o.jvp(x, y, v, batch, outX));
console.log(`hyper-cleaning 784-300-10, d_y = ${o.dy}, batch ${batchSize} (median of ${reps}):`);
console.log(`  ∇_y g ${grad.toFixed(2)} ms   HVP (R-operator) ${hvp.toFixed(2)} ms (${(hvp / grad).toFixed(2)}× gradient)   JVP ${jvp.toFixed(2)} ms (${(jvp / grad).toFixed(2)}×)`);
if (hvp > 3 * grad) {
  console.error(`FAIL: HVP costs ${(hvp / grad).toFixed(2)}× a gradient on the same batch (limit 3×)`);
  process.exit(1);
}
console.log('  HVP ≤ 3× gradient: ok');
