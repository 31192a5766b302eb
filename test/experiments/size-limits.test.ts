/** Runs of unreasonable size are refused before anything is loaded or written. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/errors.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import { runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { checkConfigSize, checkRunSize, metricsRows } from '../../src/experiments/size-limits.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-size-limits-test-');
const instance = writeQuadratic(root, { agents: 4, dx: 2, dy: 3, problemClass: 'global', heterogeneity: 0.3 }, 7);
const base = { seed: 1, problem: { type: 'quadratic', file: instance }, topology: { type: 'ring', agents: 4 }, algorithm: { name: 'd-soba' } };

function withoutOverride<T>(f: () => T): T {
  const saved = process.env.DBO_NO_SIZE_LIMITS;
  delete process.env.DBO_NO_SIZE_LIMITS;
  try {
    return f();
  } finally {
    if (saved !== undefined) process.env.DBO_NO_SIZE_LIMITS = saved;
  }
}

test('metrics rows: iteration 0, every evalEvery-th and the last', () => {
  assert.equal(metricsRows({ iterations: 47, evalEvery: 10 }), 6);
  assert.equal(metricsRows({ iterations: 50, evalEvery: 10 }), 6);
  assert.equal(metricsRows({ iterations: 1e12, evalEvery: 10 }), 1e11 + 1);
});

test('iterations: 1e12 is refused up front, naming iterations, evalEvery and the row estimate; nothing is written', async () => {
  const dir = join(root, 'huge');
  const config = resolveConfig({ ...base, iterations: 1e12, evalEvery: 10 });
  await withoutOverride(() =>
    assert.rejects(runToDirectory(config, dir), (e: unknown) => e instanceof ConfigError && /^iterations: 1\.00e\+12 iterations with evalEvery 10 would write 1\.00e\+11 metrics rows .*DBO_NO_SIZE_LIMITS=1/.test(e.message)),
  );
  assert.equal(existsSync(dir), false);
  assert.equal(existsSync(`${dir}.partial`), false);
});

test('data sizes beyond the machine memory are refused with the per-agent estimate', () => {
  const config = resolveConfig({ ...base, iterations: 10, problem: { type: 'logreg-hpo', data: { source: 'seed000-synthetic', trainPerAgent: 1e9 } } });
  withoutOverride(() => assert.throws(() => checkConfigSize(config), (e: unknown) => e instanceof ConfigError && /^problem\.data: the data of 4 agents would take about [\d.]+ GiB \([\d.]+ GiB per agent\), more than this machine's/.test(e.message)));
});

test("iterates beyond the machine's memory and a trace beyond the free disk are refused", () => {
  const config = resolveConfig({ ...base, iterations: 10 });
  withoutOverride(() => assert.throws(() => checkRunSize(config, { dx: 1e12, dy: 1 }, root), (e: unknown) => e instanceof ConfigError && /^problem: 4 agents with d_x = 1000000000000, d_y = 1 would need about/.test(e.message)));
  const traced = resolveConfig({ ...base, iterations: 1e11, output: { trace: true } });
  withoutOverride(() => assert.throws(() => checkRunSize(traced, { dx: 2, dy: 3 }, join(root, 'not-yet')), (e: unknown) => e instanceof ConfigError && /^output\.trace: trace\.jsonl for 1\.00e\+11 iterations would take about [\d.]+ GiB, more than the [\d.]+ GiB free/.test(e.message)));
  withoutOverride(() => checkRunSize(resolveConfig({ ...base, iterations: 100, output: { trace: true } }), { dx: 2, dy: 3 }, root));
});

test('DBO_NO_SIZE_LIMITS=1 turns the checks off', () => {
  const saved = process.env.DBO_NO_SIZE_LIMITS;
  process.env.DBO_NO_SIZE_LIMITS = '1';
  try {
    assert.doesNotThrow(() => checkConfigSize(resolveConfig({ ...base, iterations: 1e12, evalEvery: 1 })));
  } finally {
    if (saved === undefined) delete process.env.DBO_NO_SIZE_LIMITS;
    else process.env.DBO_NO_SIZE_LIMITS = saved;
  }
});

test('dbo run refuses it with one line and exit 2', () => {
  const file = join(root, 'huge.yaml');
  writeFileSync(file, JSON.stringify({ ...base, iterations: 1e12 }));
  const env = { ...process.env };
  delete env.DBO_NO_SIZE_LIMITS;
  const r = spawnSync(process.execPath, ['bin/dbo.mjs', 'run', file, '--out', join(root, 'cli-huge'), '--quiet'], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', timeout: 30_000, env });
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /iterations: 1\.00e\+12 iterations with evalEvery 10 would write 1\.00e\+11 metrics rows/);
  assert.equal(existsSync(join(root, 'cli-huge')), false);
});
