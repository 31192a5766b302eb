/**
 * The Hessian-inverse estimator comparison of SEED-003 Fig. 1 against the
 * Monte Carlo table of docs/decisions.md §4 (σ = 0.05, symmetric noise, K = 10,
 * 10,000 trials). Tolerances are about 5 standard errors at 10,000 trials:
 * SE(mean) = √(var/10⁴), i.e. 0.029 (conventional), 0.009 (literal), 0.0027
 * (recursive); the variances' spreads over 20 seeds were 8.51–8.87,
 * 0.785–0.821 and 0.069–0.073.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimatorVariance, formatEstimatorVariance } from '../../src/experiments/estimator-variance.ts';

const near = (actual: number, expected: number, tol: number, what: string) => assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} ± ${tol}`);

test('σ = 0.05: means and variances match the docs/decisions.md §4 table; the recursive estimator has a far smaller variance', () => {
  const r = estimatorVariance({ sigma: 0.05, seed: 1 });
  const { conventional: c, literal: l, recursive: h } = r.estimators;
  assert.equal(r.trueInverse, 4);
  near(c.expectedMean, 4 * (1 - 0.75 ** 10), 1e-12, 'conventional exact mean');
  near(h.expectedMean, 4 * (1 - 0.75 ** 10), 1e-12, 'recursive exact mean');
  near(l.expectedMean, 1.8676, 1e-4, 'literal exact mean');
  near(c.mean, 3.775, 0.15, 'conventional mean');
  near(c.variance, 8.6, 0.5, 'conventional variance');
  near(l.mean, 1.87, 0.05, 'literal mean');
  near(l.variance, 0.8, 0.08, 'literal variance');
  near(h.mean, 3.775, 0.015, 'recursive mean');
  near(h.variance, 0.071, 0.012, 'recursive variance');
  assert.ok(c.variance > 50 * h.variance, `${c.variance} vs ${h.variance}`);
  assert.ok(c.mse > 10 * h.mse && l.mse > 10 * h.mse);
  // The other diagonal entry behaves alike; off-diagonal means are ≈ 0.
  near(h.meanMatrix[1]![1]!, 3.775, 0.015, 'recursive (1,1) mean');
  near(h.meanMatrix[0]![1]!, 0, 0.01, 'recursive (0,1) mean');
  near(h.varianceMatrix[1]![1]!, 0.071, 0.012, 'recursive (1,1) variance');
  const text = formatEstimatorVariance(r);
  assert.match(text, /K = 10, σ = 0\.05, 10000 trials/);
  for (const name of ['conventional', 'literal', 'recursive']) assert.match(text, new RegExp(`^${name} `, 'm'));
});

test('σ = 0: the recursive estimator is exact (no variance); the others keep the variance of the random depth', () => {
  const r = estimatorVariance({ sigma: 0, seed: 3, trials: 2000 });
  assert.ok(r.estimators.recursive.variance < 1e-20, `${r.estimators.recursive.variance}`);
  near(r.estimators.recursive.mean, 4 * (1 - 0.75 ** 10), 1e-12, 'recursive mean');
  // Var(10·0.75^k), k ~ U{0..9}, = 10·(1 − 0.5625¹⁰)/0.4375 − 3.7747² ≈ 8.53.
  near(r.estimators.conventional.variance, 8.53, 0.6, 'conventional variance');
});

test('deterministic per seed; validation names the field', () => {
  const a = estimatorVariance({ sigma: 0.1, seed: 7, trials: 500, K: 5, dim: 3, a: 0.5 });
  const b = estimatorVariance({ sigma: 0.1, seed: 7, trials: 500, K: 5, dim: 3, a: 0.5 });
  const c = estimatorVariance({ sigma: 0.1, seed: 8, trials: 500, K: 5, dim: 3, a: 0.5 });
  assert.deepEqual(a, b);
  assert.notEqual(a.estimators.recursive.mean, c.estimators.recursive.mean);
  assert.equal(a.estimators.recursive.meanMatrix.length, 3);
  assert.equal(a.trueInverse, 2);
  assert.throws(() => estimatorVariance({ sigma: -1, seed: 1 }), { name: 'ConfigError', message: /^sigma: sigma must be ≥ 0/ });
  assert.throws(() => estimatorVariance({ sigma: 0.1, seed: 1, K: 0 }), { name: 'ConfigError', message: /^K: K must be ≥ 1/ });
  assert.throws(() => estimatorVariance({ sigma: 0.1, seed: 1, trials: 1.5 }), { name: 'ConfigError', message: /^trials: trials must be an integer/ });
  assert.throws(() => estimatorVariance({ seed: 1 } as never), { name: 'ConfigError', message: /^sigma: sigma is required/ });
  assert.throws(() => estimatorVariance({ sigma: 0.1 } as never), { name: 'ConfigError', message: /^seed: seed is required/ });
  assert.throws(() => estimatorVariance({ sigma: 0.1, seed: 1, dims: 2 } as never), { name: 'ConfigError', message: /unknown key 'dims'/ });
});
