/** The E4-1 verdict on hand-made rows: a diverged D-SOBA is named and fails its checks, never read at its last evaluation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Results, RunResult } from '../../../../src/experiments/reproduce/preset.ts';
import { findPreset } from '../../../../src/experiments/reproduce/registry.ts';
import type { MetricsRow } from '../../../../src/experiments/runner.ts';

const row = (t: number, acc: number, g: number) => ({ iteration: t, gradF: t, gradG: t, hvp: t, jvp: t, testAccuracy: acc, hypergradNormSq: g }) as unknown as MetricsRow;

test('e4-1: a diverged D-SOBA (severe level) fails every check of that level with the iteration, the mild level is compared as written', () => {
  const all: RunResult[] = [];
  for (const level of ['mild', 'severe'])
    for (const a of ['d-soba', 'ma-dsbo', 'mdbo']) {
      const diverged = level === 'severe' && a === 'd-soba';
      const good = a === 'd-soba' ? 0.9 : 0.8;
      const rows = (diverged ? [0, 25] : [0, 25, 50]).map((t) => row(t, t === 0 ? 0.5 : good, t === 0 ? 1 : a === 'd-soba' ? 1e-4 : 1e-3));
      all.push({ id: `${level}-${a}`, seed: 1, dir: '', status: diverged ? 'diverged' : 'completed', ...(diverged ? { message: "diverged at iteration 43: agent 9's y has non-finite entries (try smaller step sizes)" } : {}), rows });
    }
  const results: Results = { seeds: [1], quick: true, of: (id) => all.filter((r) => r.id === id) };
  const { checks, details } = findPreset('e4-1').evaluate(results, { quick: true, libsvmDir: '' });
  const mild = checks.filter((c) => c.criterion.startsWith('mild'));
  const severe = checks.filter((c) => c.criterion.startsWith('severe'));
  assert.deepEqual(mild.map((c) => c.verdict), ['PASS', 'PASS', 'PASS', 'PASS', 'PASS']);
  assert.deepEqual(severe.map((c) => c.verdict), ['FAIL', 'FAIL', 'FAIL', 'FAIL', 'FAIL']);
  for (const c of severe) assert.equal(c.reason, 'D-SOBA diverged at iteration 43');
  assert.match(details![0]!, /\| severe \| d-soba \| diverged at iteration 43 \|/);
});
