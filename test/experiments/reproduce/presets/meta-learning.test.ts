/**
 * The meta-learning verdicts on hand-made rows: a diverged run counts as
 * 𝔐 = ∞ and is named with its iteration (never read as a plateau at the last
 * row before the divergence); converged runs are compared as written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Results, RunResult } from '../../../../src/experiments/reproduce/preset.ts';
import { findPreset } from '../../../../src/experiments/reproduce/registry.ts';
import type { MetricsRow } from '../../../../src/experiments/runner.ts';

/** Rows at iterations 0, 10, …, with 𝔐 = m(t) and IFO = 100 t (× ifoScale). */
function rows(m: (t: number) => number, last: number, ifoScale = 1): MetricsRow[] {
  const out: MetricsRow[] = [];
  for (let t = 0; t <= last; t += 10) out.push({ iteration: t, rounds: t, ifo: 100 * t * ifoScale, interactMetric: m(t), prometheusMetric: m(t) } as unknown as MetricsRow);
  return out;
}

function results(runs: Record<string, { rows: MetricsRow[]; diverged?: number }>): Results {
  const all: RunResult[] = Object.entries(runs).map(([id, r]) => ({
    id,
    seed: 1,
    dir: `/runs/${id}`,
    status: r.diverged ? 'diverged' : 'completed',
    ...(r.diverged ? { message: `diverged at iteration ${r.diverged}: agent 0's x has non-finite entries (try smaller step sizes)` } : {}),
    rows: r.rows,
  }));
  return { seeds: [1], quick: true, of: (id) => all.filter((r) => r.id === id) };
}

const options = { quick: true, libsvmDir: '' };

test('e1-2: diverged runs are named and count as 𝔐 = ∞; the INTERACT-below-baselines check follows the converged ones', () => {
  const preset = findPreset('e1-2');
  const byData = (prefix: string, interactDiverges: boolean) => ({
    [`${prefix}-interact`]: interactDiverges ? { rows: rows(() => 30, 0), diverged: 9 } : { rows: rows((t) => 30 / (1 + t), 100) },
    [`${prefix}-svr-interact`]: { rows: rows((t) => 30 / (1 + t), 100, 0.5) },
    [`${prefix}-gt-dsgd`]: { rows: rows(() => 30, 0), diverged: 5 },
    [`${prefix}-d-sgd`]: { rows: rows((t) => 30 / (1 + 0.1 * t), 100) },
  });
  const evaluation = preset.evaluate(results({ ...byData('mnist', false), ...byData('cifar10-synthetic', true) }), options);
  const [mnistBelow, mnistIfo, cifarBelow, cifarIfo] = evaluation.checks;
  assert.equal(mnistBelow!.verdict, 'PASS', mnistBelow!.measured);
  assert.match(mnistBelow!.measured, /gt-dsgd diverged at iteration 5/);
  assert.equal(mnistIfo!.verdict, 'PASS', mnistIfo!.measured);
  assert.match(mnistIfo!.measured, /gt-dsgd diverged at iteration 5/);
  assert.equal(cifarBelow!.verdict, 'FAIL');
  assert.match(cifarBelow!.measured, /interact diverged at iteration 9/);
  assert.match(cifarBelow!.reason!, /^interact diverged \(α = β = 0\.5, μ = 0\.01\)/);
  assert.equal(cifarIfo!.verdict, 'PASS', cifarIfo!.measured);
  assert.match(evaluation.details![0]!, /\| CIFAR-10 \(synthetic CIFAR-shaped stand-in\) \| interact \| 30 \| diverged at iteration 9 \| diverged at iteration 9 \|/);
});

test('e3-2: a diverged Prometheus fails every check that needs it, with the reason', () => {
  const preset = findPreset('e3-2');
  const runs: Record<string, { rows: MetricsRow[]; diverged?: number }> = {};
  for (const prefix of ['mnist', 'cifar10-synthetic']) {
    runs[`${prefix}-prometheus`] = { rows: rows(() => 5, 0), diverged: 7 };
    runs[`${prefix}-prometheus-sg`] = { rows: rows(() => 2, 100) };
    runs[`${prefix}-prometheus-dir`] = { rows: rows(() => 3, 100) };
    runs[`${prefix}-prox-dsgd`] = { rows: rows((t) => 4 * 0.9 ** t, 100) };
  }
  const checks = preset.evaluate(results(runs), options).checks.filter((c) => c.criterion.startsWith('MNIST'));
  assert.deepEqual(checks.map((c) => c.verdict), ['FAIL', 'FAIL', 'FAIL', 'PASS', 'FAIL']);
  for (const c of checks.slice(0, 3)) assert.equal(c.reason, 'prometheus diverged');
  assert.match(checks[1]!.measured, /prometheus diverged at iteration 7/);
  assert.match(checks[4]!.reason!, /still decreasing/);
});
