/**
 * The MLP oracle cases of `npm run bench` on the real neural-network
 * problems, through their public oracle interface (src/problems/types.ts):
 * ∇_y g (`gradG`, no ∇_x g), HVP and JVP at batch 100 of
 *   - meta-learning (src/problems/mlp-meta.ts, class P): 784-20-20-10 ReLU
 *     network, x = the two hidden layers, y = the linear head, μ = 0.1;
 *   - hyper-cleaning (src/problems/hyper-cleaning.ts, class G): 784-300-10
 *     ReLU network, y = all its weights, x = one weight per training sample,
 *     C = 0.001;
 * on synthetic data of MNIST's shapes (features uniform in [0, 1), 10
 * classes, 1,000 training samples), seeded.
 *
 * bench/numpy_side.py (`MlpMetaNp`, `HyperCleaningNp`) computes the same
 * formulas by hand on the same inputs: before timing, the batch's feature
 * rows and labels, x, y and v are sent over the JSON protocol (JSON numbers
 * round-trip a double exactly), NumPy's three results come back and must
 * equal dbo's to 1e-10 (max |dbo − NumPy| / max |dbo|, per oracle); a case
 * whose check fails is marked invalid in the table.
 *
 * Meta-learning caches the hidden features per (x, batch) (a few slots);
 * each timed call here uses another of 5 points x (more than the cache
 * holds), so every call runs the whole network as NumPy does — the cost of
 * the first oracle call at a new x, as in an iteration that has moved x.
 */
import { makeDataset, type Dataset } from '../src/data/dataset.ts';
import { HyperCleaningOracle } from '../src/problems/hyper-cleaning.ts';
import { MlpMetaOracle } from '../src/problems/mlp-meta.ts';
import type { AgentOracle, Batch } from '../src/problems/types.ts';
import { Rng } from '../src/random/rng.ts';
import type { Ask, Case, Sample } from './run.ts';

const BATCH = 100;
const N = 1000;
const D = 784;
const CLASSES = 10;
const TOLERANCE = 1e-10;

interface Setup {
  readonly oracle: AgentOracle;
  /** Points x cycled through by the timed calls (xs[0] is the checked one). */
  readonly xs: Float64Array[];
  readonly y: Float64Array;
  readonly v: Float64Array;
  readonly batch: Batch;
  readonly outY: Float64Array;
  readonly outX: Float64Array;
  /** The problem's parameters and inputs for NumPy. */
  readonly numpy: Record<string, unknown>;
}

function dataset(rng: Rng): Dataset {
  return makeDataset(N, D, CLASSES, Float64Array.from({ length: N * D }, () => rng.uniform()), Int32Array.from({ length: N }, () => rng.int(CLASSES)));
}

/** The batch's feature rows (BATCH × D) and labels, for NumPy. */
function batchData(ds: Dataset, batch: Batch): { X: number[]; labels: number[] } {
  const X: number[] = [];
  const labels: number[] = [];
  for (let r = 0; r < batch.size; r++) {
    const i = batch.indices[r]!;
    for (let k = 0; k < D; k++) X.push(ds.features[i * D + k]!);
    labels.push(ds.labels[i]!);
  }
  return { X, labels };
}

function metaSetup(): Setup {
  const rng = new Rng(5, 'bench', 'mlp-meta');
  const ds = dataset(rng);
  const hidden = [20, 20];
  const mu = 0.1;
  const oracle = new MlpMetaOracle(ds, ds, { hidden, mu });
  const xs = Array.from({ length: 5 }, () => {
    const x = new Float64Array(oracle.dx);
    oracle.xLayers.initialise(x, rng);
    return x;
  });
  const y = Float64Array.from({ length: oracle.dy }, () => 0.3 * rng.normal());
  const v = Float64Array.from({ length: oracle.dy }, () => rng.normal());
  const batch: Batch = { full: false, size: BATCH, indices: rng.permutation(N).slice(0, BATCH), seed: 0 };
  return {
    oracle,
    xs,
    y,
    v,
    batch,
    outY: new Float64Array(oracle.dy),
    outX: new Float64Array(oracle.dx),
    numpy: { problem: 'meta', sizes: oracle.sizes, mu, x: [...xs[0]!], y: [...y], v: [...v], ...batchData(ds, batch) },
  };
}

function hyperCleaningSetup(): Setup {
  const rng = new Rng(6, 'bench', 'hyper-cleaning');
  const train = dataset(rng);
  const C = 1e-3;
  const oracle = new HyperCleaningOracle(train, train, 0, N, { hidden: [300], C });
  const x = Float64Array.from({ length: N }, () => rng.normal());
  const y = new Float64Array(oracle.dy);
  oracle.layers.initialise(y, rng);
  const v = Float64Array.from({ length: oracle.dy }, () => rng.normal());
  const batch: Batch = { full: false, size: BATCH, indices: rng.permutation(N).slice(0, BATCH), seed: 0 };
  const { X, labels } = batchData(train, batch);
  return {
    oracle,
    xs: [x],
    y,
    v,
    batch,
    outY: new Float64Array(oracle.dy),
    outX: new Float64Array(oracle.dx),
    numpy: { problem: 'hyper-cleaning', sizes: oracle.sizes, C, x: [...x], rows: [...batch.indices.subarray(0, BATCH)], y: [...y], v: [...v], X, labels },
  };
}

type Oracle = 'grad' | 'hvp' | 'jvp';

function call(s: Setup, oracle: Oracle, x: Float64Array): Float64Array {
  const o = s.oracle;
  if (oracle === 'grad') o.gradG(x, s.y, s.batch, null, s.outY);
  else if (oracle === 'hvp') o.hvp(x, s.y, s.v, s.batch, s.outY);
  else o.jvp(x, s.y, s.v, s.batch, s.outX);
  return oracle === 'jvp' ? s.outX : s.outY;
}

/** max |a − b| / max |a|. */
function relativeError(a: Float64Array, b: ReadonlyArray<number>): number {
  if (b.length !== a.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

export function realMlpCases(clock: () => number, clockName: string): Case[] {
  const cases: Case[] = [];
  const problems = [
    { key: 'meta', title: 'meta-learning 784-20-20-10 (real oracle, class P)', make: metaSetup, calls: { grad: 100, hvp: 100, jvp: 100 } },
    { key: 'hc', title: 'hyper-cleaning 784-300-10 (real oracle, class G)', make: hyperCleaningSetup, calls: { grad: 5, hvp: 3, jvp: 5 } },
  ] as const;
  for (const p of problems) {
    let setup: Setup | null = null;
    const get = (): Setup => (setup ??= p.make());
    /** NumPy's load-and-check, once per problem: errors per oracle, or null without NumPy. */
    let checked: Promise<Record<Oracle, number> | null> | null = null;
    const check = (ask: Ask): Promise<Record<Oracle, number> | null> =>
      (checked ??= (async () => {
        const s = get();
        const answer = await ask({ case: `mlpreal-${p.key}-load`, ...s.numpy });
        if (!answer) return null;
        const errors = {} as Record<Oracle, number>;
        for (const o of ['grad', 'hvp', 'jvp'] as const) errors[o] = relativeError(call(s, o, s.xs[0]!), answer[o] as number[]);
        return errors;
      })());
    for (const oracle of ['grad', 'hvp', 'jvp'] as const) {
      const calls = p.calls[oracle];
      let k = 0;
      const sample = (): Sample => {
        const s = get();
        const t0 = clock();
        for (let j = 0; j < calls; j++) call(s, oracle, s.xs[k++ % s.xs.length]!);
        return { seconds: (clock() - t0) / calls };
      };
      cases.push({
        goal: 'MLP oracles ≤ 1.0× NumPy',
        name: `${p.title}, batch ${BATCH}: ${oracle === 'grad' ? '∇_y g' : oracle.toUpperCase()}`,
        kind: 'time',
        unit: 'µs',
        target: 1,
        prepare: async (ask) => {
          const errors = await check(ask);
          if (!errors) return { valid: true, note: null };
          const e = errors[oracle];
          return { valid: e <= TOLERANCE, note: `NumPy = dbo to ${e.toExponential(1)} relative (max-abs; tolerance ${TOLERANCE})` };
        },
        warm: () => void sample(),
        dbo: sample,
        numpy: { case: `mlpreal-${p.key}-${oracle}`, calls, clock: clockName },
      });
    }
  }
  return cases;
}
