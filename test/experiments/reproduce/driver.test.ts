/**
 * The preset driver on tiny versions of real presets: runs into
 * <out>/<run>/seed-<s>, resumes without recomputing, reuses a sibling
 * experiment's identical runs, refuses a folder made with another config,
 * names a missing problem or data file before any work, and writes verdict.md.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError, DboError } from '../../../src/errors.ts';
import { hasProblemType, reproduce } from '../../../src/experiments/reproduce/driver.ts';
import type { Preset } from '../../../src/experiments/reproduce/preset.ts';
import { findPreset } from '../../../src/experiments/reproduce/registry.ts';
import { tempDir } from '../../helpers.ts';

const root = tempDir('dbo-reproduce-test-');
after(() => rmSync(root, { recursive: true, force: true }));

/** E0-1 with 60 + 60 + 20 samples per worker. */
const tinySynthetic = (_id: string, c: Record<string, unknown>) => {
  const problem = c.problem as Record<string, unknown>;
  return { ...c, problem: { ...problem, data: { ...(problem.data as object), trainPerAgent: 60, valPerAgent: 60, testPerAgent: 20, features: 20 } } };
};

test('e0-1 (tiny): every run into <out>/<run>/seed-<s>, verdict.md with the criterion, numbers and verdict; a rerun skips all; another config is refused', async () => {
  const out = join(root, 'e0-1');
  const lines: string[] = [];
  const first = await reproduce(findPreset('E0-1'), { out, seeds: 2, quick: true, libsvmDir: '', iterations: 6, transform: tinySynthetic, log: (l) => lines.push(l) });
  assert.deepEqual(first.executed.sort(), ['cd-bsvrgd/seed-1', 'cd-bsvrgd/seed-2', 'ma-dsbo/seed-1', 'ma-dsbo/seed-2', 'vrdbo/seed-1', 'vrdbo/seed-2']);
  assert.equal(first.skipped.length, 0);
  assert.ok(lines.some((l) => /^\[1\/6\] cd-bsvrgd\/seed-1: running cd-bsvrgd, 6 iterations/.test(l)), lines.join('\n'));
  for (const run of ['cd-bsvrgd', 'vrdbo', 'ma-dsbo']) for (const seed of [1, 2]) assert.ok(existsSync(join(out, run, `seed-${seed}`, 'summary.json')));
  // Each run's seeds are one sweep (two runs at a time, in child processes); the figures are drawn.
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'vrdbo', 'sweep.json'), 'utf8')).cases.map((c: { id: string }) => c.id), ['seed-1', 'seed-2']);
  for (const f of ['loss-vs-mb.svg', 'accuracy-vs-mb.svg']) assert.match(readFileSync(join(out, 'figures', f), 'utf8'), /^<svg/);
  const text = readFileSync(first.verdictFile, 'utf8');
  assert.match(text, /^# E0-1: SEED-000 Fig\. 1/);
  assert.match(text, new RegExp(`\\*\\*Verdict: ${first.verdict}\\*\\*`));
  assert.match(text, /## Acceptance criterion\n\n- MB exactly 223\.9/);
  // The MB check uses the derived count for 6 iterations: d_x = 20 features, d_y = 40.
  const mb = first.checks.find((c) => /MB after the last iteration/.test(c.criterion))!;
  assert.equal(mb.verdict, 'PASS', mb.measured);
  assert.match(mb.measured, /cd-bsvrgd 0\.0616 MB \(derived 0\.0616\)/);
  assert.ok(first.checks.every((c) => ['PASS', 'FAIL', 'NOT COMPARABLE'].includes(c.verdict) && text.includes(c.measured)));
  assert.equal(JSON.parse(readFileSync(join(out, 'verdict.json'), 'utf8')).verdict, first.verdict);

  const mtime = statSync(join(out, 'vrdbo', 'seed-1', 'metrics.jsonl')).mtimeMs;
  const again = await reproduce(findPreset('e0-1'), { out, seeds: 2, quick: true, libsvmDir: '', iterations: 6, transform: tinySynthetic });
  assert.equal(again.executed.length, 0);
  assert.equal(again.skipped.length, 6);
  assert.equal(statSync(join(out, 'vrdbo', 'seed-1', 'metrics.jsonl')).mtimeMs, mtime);
  assert.deepEqual(again.checks, first.checks);

  await assert.rejects(reproduce(findPreset('e0-1'), { out, seeds: 1, quick: true, libsvmDir: '', iterations: 7, transform: tinySynthetic }), (e: unknown) => e instanceof DboError && /holds a run made with a different config/.test(e.message));
});

test('e2-1 then e2-3 (l-pdbo-table1): the sibling experiment reuses the complete runs', async () => {
  const e21 = await reproduce(findPreset('e2-1'), { out: join(root, 'e2-1'), seeds: 1, quick: true, libsvmDir: '', iterations: 2, inProcess: true, figures: false });
  assert.equal(e21.executed.length, 4);
  assert.ok(existsSync(join(root, 'e2-1', 'random-l-pdbo', 'seed-1', 'metrics.jsonl')));
  const e23 = await reproduce(findPreset('l-pdbo-table1'), { out: join(root, 'e2-3'), seeds: 1, quick: true, libsvmDir: '', iterations: 2, figures: false });
  assert.equal(e23.executed.length, 0);
  assert.equal(e23.skipped.length, 4);
  const text = readFileSync(e23.verdictFile, 'utf8');
  assert.match(text, /\| spdb \(paper\) \| 320 \| 410 \| 920 \| 3000 \| 9530 \|/);
  assert.match(text, /e2-1\/random-spdb\/seed-1/);
  assert.equal(e23.checks.length, 2);
});

test('e3-1 (quick): a computation preset stores result.json per seed and passes the variance criterion', async () => {
  const out = join(root, 'e3-1');
  const r = await reproduce(findPreset('estimator-variance'), { out, seeds: 1, quick: true, libsvmDir: '' });
  assert.equal(r.verdict, 'PASS', JSON.stringify(r.checks));
  assert.ok(existsSync(join(out, 'sigma-0.05', 'seed-1', 'result.json')));
  assert.equal((await reproduce(findPreset('e3-1'), { out, seeds: 1, quick: true, libsvmDir: '' })).skipped.length, 3);
});

/** E1-2 (quick) further shrunk: 12 samples per agent, 50 test images, a 4-unit network. */
const tinyMeta = (_id: string, c: Record<string, unknown>) => {
  const problem = c.problem as Record<string, unknown>;
  return { ...c, evalEvery: 2, problem: { ...problem, hidden: [4, 4], batch: 4, data: { ...(problem.data as object), perAgent: 12, testSamples: 50 } } };
};

test('e1-2 (quick, tiny): the eight MLP meta-learning runs (MNIST and the CIFAR stand-in), figures, and a verdict naming every diverged run', async () => {
  const out = join(root, 'e1-2');
  const r = await reproduce(findPreset('seed001-fig2'), { out, seeds: 1, quick: true, libsvmDir: '', iterations: 4, transform: tinyMeta, inProcess: true });
  assert.equal(r.executed.length, 8);
  const text = readFileSync(r.verdictFile, 'utf8');
  assert.match(text, /^# E1-2: SEED-001 Fig\. 2/);
  assert.equal(r.checks.length, 4);
  assert.ok(r.checks.every((c) => text.includes(c.measured)));
  for (const s of ['mnist', 'cifar10-synthetic']) for (const f of ['metric-vs-iteration', 'metric-vs-ifo']) assert.match(readFileSync(join(out, 'figures', `${f}-${s}.svg`), 'utf8'), /^<svg/);
  // Every run's status is in the table; a diverged one is named in the measured numbers, never read as a plateau.
  for (const line of text.split('\n').filter((l) => /^\| (mnist|cifar10-synthetic)-/.test(l))) {
    const [, id, , status] = line.split('|').map((c) => c.trim());
    const algorithm = id!.replace(/^(mnist|cifar10-synthetic)-/, '');
    if (status!.startsWith('diverged')) assert.ok(r.checks.some((c) => c.measured.includes(`${algorithm} diverged at iteration`)), `${id} diverged but no check says so`);
    else assert.equal(status, 'completed');
  }
});

test('--step and --data: refused by presets that do not take them, and on an unknown data set, before anything is written', async () => {
  const refused = (preset: string, extra: { step?: number; data?: string }, pattern: RegExp) =>
    assert.rejects(reproduce(findPreset(preset), { out: join(root, 'refused'), seeds: 1, quick: true, libsvmDir: '', ...extra }), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
  await refused('e0-1', { step: 0.1 }, /--step.*e0-1 does not take --step/);
  await refused('e1-5', { step: 0.1 }, /e1-5 does not take --step/);
  await refused('e1-2', { step: -1 }, /expected a positive number/);
  await refused('e1-2', { data: 'cifar10' }, /expected one of mnist, cifar10-synthetic for experiment e1-2, got 'cifar10'/);
  await refused('e4-2', { data: 'mnist' }, /e4-2 runs on one data set/);
  assert.equal(existsSync(join(root, 'refused')), false);
});

test('a missing problem type or LIBSVM file is named before anything is written', async () => {
  const base = findPreset('e0-1');
  const needsMissing: Preset = { ...base, id: 'x', problems: ['no-such-problem'] };
  assert.equal(hasProblemType('no-such-problem'), false);
  assert.equal(hasProblemType('logreg-hpo'), true);
  await assert.rejects(reproduce(needsMissing, { out: join(root, 'x'), seeds: 1, quick: true, libsvmDir: '' }), (e: unknown) => e instanceof DboError && /needs the 'no-such-problem' problem type/.test(e.message));
  await assert.rejects(reproduce(findPreset('e0-2'), { out: join(root, 'e0-2'), seeds: 1, quick: true, libsvmDir: join(root, 'nowhere') }), (e: unknown) => e instanceof DataError && /nowhere\/a9a/.test(e.message) && /--libsvm-dir/.test(e.message));
  assert.equal(existsSync(join(root, 'x')) || existsSync(join(root, 'e0-2')), false);
});
