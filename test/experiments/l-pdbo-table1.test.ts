import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../src/experiments/config.ts';
import { formatTable1, hessiansToTargets } from '../../src/experiments/reproduce/l-pdbo-table1.ts';
import type { ConfigRun } from '../../src/experiments/reproduce/preset.ts';
import { findPreset } from '../../src/experiments/reproduce/registry.ts';
import type { MetricsRow } from '../../src/experiments/runner.ts';

const row = (iteration: number, hvp: number, testAccuracy: number) => ({ iteration, hvp, hessian: 0, testAccuracy }) as unknown as MetricsRow;

test('Table I counting: Hessians per node at the first row reaching each accuracy; SPDB without its L_g power iteration', () => {
  const rows = [row(0, 0, 0.5), row(10, 400, 0.66), row(20, 700, 0.85), row(30, 900, 0.93)];
  const lpdbo = hessiansToTargets('l-pdbo', rows, 10);
  assert.deepEqual(lpdbo.hessians, [40, 70, 70, 90, null]);
  assert.deepEqual(lpdbo.iterations, [10, 20, 20, 30, null]);
  const spdb = hessiansToTargets('spdb', rows, 10);
  assert.deepEqual(spdb.hessians, [10, 40, 40, 60, null]);
  const text = formatTable1([spdb, lpdbo]);
  assert.match(text, /\| spdb \(paper\) \| 320 \| 410 \| 920 \| 3000 \| 9530 \|/);
  assert.match(text, /\| l-pdbo \(dbo, Hessians\/node\) \| 40 \| 70 \| 70 \| 90 \| not reached \|/);
});

test('Table I preset (e2-3 = l-pdbo-table1) follows SEED-002: 10 agents, ER p = 0.5 with Laplacian weights, α = 0.01, β = 0.016, γ_v = 0.01, sums, ln depth', () => {
  const preset = findPreset('l-pdbo-table1');
  assert.equal(preset.id, 'e2-3');
  const runs = preset.runs({ quick: false, libsvmDir: '' }) as ConfigRun[];
  const byId = (id: string) => resolveConfig({ ...runs.find((r) => r.id === id)!.config, seed: 1 });
  const l = byId('paper-l-pdbo');
  assert.deepEqual(l.topology, { type: 'erdos-renyi', agents: 10, p: 0.5, mixing: 'laplacian' });
  assert.deepEqual(l.problem, { type: 'binary-logreg-hpo', data: { source: 'mnist', digits: [0, 1], trainPerAgent: 200, valPerAgent: 200 }, reduction: 'sum', batch: 'full' });
  assert.deepEqual(l.algorithm, { name: 'l-pdbo', alpha: 0.01, beta: 0.016, gammaV: 0.01, hessian: 'hvp' });
  assert.deepEqual(l.init, {});
  assert.equal(byId('paper-spdb').algorithm.depth, 'ln');
  const r = byId('random-spdb');
  assert.equal(r.algorithm.depth, 'log10');
  assert.deepEqual(r.init, { y: { type: 'normal', mean: 0, std: 1 } });
  assert.equal(r.problem.type === 'binary-logreg-hpo' && r.problem.reduction, 'mean');
});

test('Table I verdict: NOT COMPARABLE when every target is met at the first evaluation, whatever the evaluation grid (evalEvery 10)', () => {
  const preset = findPreset('l-pdbo-table1');
  const saturated = [row(0, 0, 0.5), row(10, 400, 0.998), row(20, 800, 0.999)];
  const results = {
    seeds: [1],
    quick: false,
    of: (id: string) => [{ id, seed: 1, dir: '', status: 'completed' as const, rows: saturated }],
  };
  const { checks } = preset.evaluate(results, { quick: false, libsvmDir: '' });
  assert.ok(checks.length > 0);
  for (const c of checks) {
    assert.equal(c.verdict, 'NOT COMPARABLE');
    assert.match(c.reason ?? '', /first evaluation \(iteration 10/);
  }
});
