/**
 * Benchmark: full-batch logistic-HPO oracles (∇_Y g and HVP) of one SEED-000
 * agent (n = 6250, d = 200, c = 2 by default) in dbo's TypeScript kernels
 * against the same computation in NumPy, in one run; prints the ratios.
 * Usage: npm run bench [-- n d c reps]. NumPy is optional (python3 -m pip
 * install numpy); without it only dbo's timings are printed.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { makeDataset } from '../src/data/dataset.ts';
import { LogregHpoOracle } from '../src/problems/logreg-hpo.ts';
import { fullBatch } from '../src/problems/types.ts';
import { Rng } from '../src/random/rng.ts';

const [n, d, c, reps] = (process.argv.slice(2).length ? process.argv.slice(2) : ['6250', '200', '2', '30']).map(Number) as [number, number, number, number];
const rng = new Rng(1, 'bench');
const data = () => makeDataset(n, d, c, Float64Array.from({ length: n * d }, () => rng.normal()), Int32Array.from({ length: n }, () => rng.int(c)));
const oracle = new LogregHpoOracle(data(), data());
const x = Float64Array.from({ length: d }, () => 0.1 * rng.normal());
const y = Float64Array.from({ length: d * c }, () => 0.01 * rng.normal());
const v = Float64Array.from({ length: d * c }, () => rng.normal());
const out = new Float64Array(d * c);
const full = fullBatch();

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

// The HVP cache keys on y; perturb y each call so every HVP recomputes the probabilities, like NumPy does.
let k = 0;
const ours = {
  grad: medianMs(() => oracle.gradG(x, y, full, null, out)),
  hvp: medianMs(() => {
    y[0] = 0.01 * Math.sin(++k);
    oracle.hvp(x, y, v, full, out);
  }),
};
console.log(`logistic HPO oracles, full batch n = ${n}, d = ${d}, c = ${c}, median of ${reps} (both single-threaded)`);
const py = spawnSync('python3', [fileURLToPath(new URL('oracles.py', import.meta.url)), String(n), String(d), String(c), String(reps)], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' } });
const numpy = py.status === 0 ? (JSON.parse(py.stdout.trim()) as { grad: number; hvp: number }) : null;
for (const key of ['grad', 'hvp'] as const) {
  const line = `${key.padEnd(5)} dbo ${ours[key].toFixed(2)} ms`;
  console.log(numpy ? `${line} · NumPy ${numpy[key].toFixed(2)} ms · ratio dbo/NumPy ${(ours[key] / numpy[key]).toFixed(2)}` : line);
}
if (!numpy) console.log(`NumPy reference unavailable (${(py.stderr || py.error?.message || '').trim().split('\n').at(-1)})`);
