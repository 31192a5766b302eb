/**
 * Benchmark: the MLP layers' GEMM kernels alone, dbo against NumPy's matmul
 * at the same shapes (batch 100 of a 1,000 × 784 table, the meta-learning
 * and hyper-cleaning layer widths 20 and 300): GFLOP/s of
 *   gemm       out = X[rows] · W            (the first layer's forward pass),
 *   gemmTNAcc  G += X[rows]ᵀ · Δ            (its weight gradient),
 *   gemmNT     out = Δ · Wᵀ                 (back-propagation through a layer),
 * through the active kernel set (`kernels()`, WebAssembly unless
 * DBO_KERNELS=ts; the table pinned, W and Δ copied in per call as the
 * oracles do), and `X[rows] @ W`, `G += X[rows].T @ D`, `D @ W.T` in
 * single-threaded NumPy (python3, OPENBLAS_NUM_THREADS=1; skipped with a note
 * without it). The two sides alternate three times (the machine may be
 * shared); each reports the best of 5 rounds of process CPU time per pass,
 * and the table the best pass.
 * Usage: node --import tsx bench/mlp-gemm.ts
 */
import { spawnSync } from 'node:child_process';
import { kernels, pinTable } from '../src/linalg/kernels.ts';
import { Rng } from '../src/random/rng.ts';

const N = 1000;
const D = 784;
const B = 100;
const ROUNDS = 5;

interface Shape {
  readonly op: 'gemm' | 'gemmTNAcc' | 'gemmNT';
  readonly width: number;
  readonly label: string;
}

const SHAPES: Shape[] = [
  { op: 'gemm', width: 20, label: `X[rows] (${B} × ${D}) · W (${D} × 20)` },
  { op: 'gemmTNAcc', width: 20, label: `G (${D} × 20) += X[rows]ᵀ · Δ` },
  { op: 'gemmNT', width: 20, label: `Δ (${B} × 20) · Wᵀ → ${B} × ${D}` },
  { op: 'gemm', width: 300, label: `X[rows] (${B} × ${D}) · W (${D} × 300)` },
  { op: 'gemmTNAcc', width: 300, label: `G (${D} × 300) += X[rows]ᵀ · Δ` },
  { op: 'gemmNT', width: 300, label: `Δ (${B} × 300) · Wᵀ → ${B} × ${D}` },
];

const flops = (s: Shape): number => 2 * B * D * s.width;
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

function dboRates(): number[] {
  const k = kernels();
  const rng = new Rng(1, 'bench-mlp-gemm');
  const table = Float64Array.from({ length: N * D }, () => rng.uniform());
  pinTable(table);
  const rows = rng.permutation(N).slice(0, B);
  return SHAPES.map((s) => {
    const w = Float64Array.from({ length: D * s.width }, () => rng.normal());
    const delta = Float64Array.from({ length: B * s.width }, () => rng.normal());
    const out = new Float64Array(B * D);
    const g = new Float64Array(D * s.width);
    const run = (): void => {
      if (s.op === 'gemm') k.gemm(out, table, D, rows, B, w, s.width);
      else if (s.op === 'gemmTNAcc') k.gemmTNAcc(g, table, D, rows, B, delta, s.width);
      else k.gemmNT(out, delta, B, s.width, w, D);
    };
    const calls = Math.max(3, Math.round(3e8 / flops(s) / (k.name === 'ts' ? 20 : 1)));
    for (let i = 0; i < 3; i++) run();
    let best = Infinity;
    for (let r = 0; r < ROUNDS; r++) {
      const t0 = cpuSeconds();
      for (let i = 0; i < calls; i++) run();
      best = Math.min(best, (cpuSeconds() - t0) / calls);
    }
    return flops(s) / best / 1e9;
  });
}

const NUMPY = `
import json, sys, time
import numpy as np
N, D, B, ROUNDS = ${N}, ${D}, ${B}, ${ROUNDS}
rng = np.random.default_rng(1)
X = rng.random((N, D))
rows = rng.permutation(N)[:B]
out = []
for op, width in json.loads(sys.argv[1]):
    W = rng.standard_normal((D, width))
    Dl = rng.standard_normal((B, width))
    G = np.zeros((D, width))
    if op == 'gemm':
        run = lambda: X[rows] @ W
    elif op == 'gemmTNAcc':
        run = lambda: np.add(G, X[rows].T @ Dl, out=G)
    else:
        run = lambda: Dl @ W.T
    fl = 2 * B * D * width
    calls = max(3, round(3e8 / fl))
    for _ in range(3):
        run()
    best = float('inf')
    for _ in range(ROUNDS):
        t0 = time.process_time()
        for _ in range(calls):
            run()
        best = min(best, (time.process_time() - t0) / calls)
    out.append(fl / best / 1e9)
print(json.dumps(out))
`;

function numpyRates(): number[] | string {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = spawnSync('python3', ['-c', NUMPY, JSON.stringify(SHAPES.map((s) => [s.op, s.width]))], { env, encoding: 'utf8' });
  if (r.error) return `python3 not runnable (${r.error.message})`;
  if (r.status !== 0) return `python3 failed: ${r.stderr.trim().split('\n').at(-1) ?? ''}`;
  return JSON.parse(r.stdout) as number[];
}

const PASSES = 3;
let dbo = SHAPES.map(() => 0);
let numpy: number[] | string = SHAPES.map(() => 0);
for (let pass = 0; pass < PASSES; pass++) {
  const d = dboRates();
  dbo = dbo.map((v, i) => Math.max(v, d[i]!));
  if (typeof numpy === 'string') continue;
  const n = numpyRates();
  numpy = typeof n === 'string' ? n : numpy.map((v, i) => Math.max(v, n[i]!));
}
console.log(`MLP GEMM kernels alone (dbo kernels: ${kernels().name}; best of ${PASSES} alternating passes of ${ROUNDS} rounds of process CPU time), GFLOP/s:`);
console.log(`${'kernel'.padEnd(10)} ${'shape'.padEnd(36)} ${'dbo'.padStart(7)} ${'NumPy'.padStart(7)}  dbo / NumPy`);
SHAPES.forEach((s, i) => {
  const np = typeof numpy === 'string' ? null : numpy[i]!;
  console.log(`${s.op.padEnd(10)} ${s.label.padEnd(36)} ${dbo[i]!.toFixed(1).padStart(7)} ${np === null ? '      –' : np.toFixed(1).padStart(7)}  ${np === null ? '' : (dbo[i]! / np).toFixed(2)}`);
});
if (typeof numpy === 'string') console.log(`NumPy skipped: ${numpy}`);
