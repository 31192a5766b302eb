/**
 * SEED-000 §4 accounting (docs/decisions.md §C): on the synthetic problem
 * (d_x = 200, d_y = 400, 8 workers on a path graph, 14 directed messages per
 * round, fp32), 2000 iterations communicate 224 MB (CD-BSVRGD), 134 MB
 * (VRDBO) and 918 MB (MA-DSBO, T = N = 10). Convention (documented): our
 * first CD-BSVRGD / VRDBO iteration sends no trackers yet (there are none to
 * mix), so those two totals are lower by one iteration's tracker floats.
 * The data sizes are shrunk (the bytes do not depend on them).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveConfig } from '../../src/experiments/config.ts';
import { runConfig } from '../../src/experiments/runner.ts';

const paper = { 'cd-bsvrgd': 224, vrdbo: 134.4, 'ma-dsbo': 918.4 } as const;
const firstIterationSaving = { 'cd-bsvrgd': 14 * (200 + 2 * 400) * 4, vrdbo: 14 * (200 + 400) * 4, 'ma-dsbo': 0 } as const;

for (const name of ['cd-bsvrgd', 'vrdbo', 'ma-dsbo'] as const) {
  test(`${name}: megabytes after 2000 iterations on the SEED-000 synthetic setting match docs/decisions.md §C (${paper[name]} MB)`, async () => {
    const config = resolveConfig({
      seed: 1,
      iterations: 2000,
      evalEvery: 2000,
      evaluation: { groundTruth: false },
      problem: { type: 'logreg-hpo', data: { source: 'seed000-synthetic', trainPerAgent: 4, valPerAgent: 4, testPerAgent: 0, features: 200 }, standardize: true, batch: 2 },
      topology: { type: 'path', agents: 8, mixing: 'metropolis' },
      algorithm: name === 'ma-dsbo' ? { name, innerSteps: 10, hivpSteps: 10, eta: 0.01, beta: 0.01, gamma: 0.01 } : name === 'vrdbo' ? { name, eta: 0.1, alpha1: 100, alpha2: 100, K: 2, Lg: 10 } : { name, eta: 0.1, alpha1: 100, alpha2: 100, alpha3: 100 },
      output: { bytesPerFloat: 4 },
    });
    const outcome = await runConfig(config);
    const last = outcome.rows.at(-1)!;
    assert.equal(last.iteration, 2000);
    assert.equal(last.messages, last.rounds * 14);
    const expectedBytes = paper[name] * 1e6 - firstIterationSaving[name];
    assert.ok(Math.abs(last.bytes - expectedBytes) < 1, `${last.bytes} bytes vs ${expectedBytes}`);
    assert.ok(Math.abs(last.bytes / 1e6 - paper[name]) / paper[name] < 1e-3, `${last.bytes / 1e6} MB vs ${paper[name]} MB`);
  });
}
