import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable1, hessiansToTargets, table1Config } from '../../src/experiments/reproduce/l-pdbo-table1.ts';
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

test('Table I preset follows SEED-002: 10 agents, ER p = 0.5 with Laplacian weights, α = 0.01, β = 0.016, γ_v = 0.01, sums', () => {
  const c = table1Config('l-pdbo', 50);
  assert.deepEqual(c.topology, { type: 'erdos-renyi', agents: 10, p: 0.5, mixing: 'laplacian' });
  assert.equal(c.problem.type, 'binary-logreg-hpo');
  assert.deepEqual(c.algorithm, { name: 'l-pdbo', alpha: 0.01, beta: 0.016, gammaV: 0.01, hessian: 'hvp' });
  assert.equal(table1Config('spdb', 50).algorithm.depth, 'log');
});
