/**
 * The worker-thread runtime gives the simulator's metrics.jsonl bit for bit
 * (elapsed time aside), for every registered algorithm, with 2 and 3
 * workers, and stops at the same iteration when a run diverges.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALGORITHMS } from '../../src/algorithms/registry.ts';
import { resolveConfig, type RunConfig } from '../../src/experiments/config.ts';
import { runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { execute, prepareRun } from '../../src/experiments/runner.ts';
import { partitionAgents, WorkerRuntime, workerRuntimeFactory } from '../../src/runtime/worker.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const root = tempDir('dbo-worker-test-');
after(() => rmSync(root, { recursive: true, force: true }));
const global = writeQuadratic(root, { agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 7);
const personal = writeQuadratic(root, { agents: 5, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 0.3, noise: 0.1 }, 8);

function config(name: string, over: Record<string, unknown> = {}): RunConfig {
  const cls = ALGORITHMS.find((a) => a.name === name)!.problemClass;
  return resolveConfig({
    seed: 3,
    iterations: 12,
    evalEvery: 4,
    problem: { type: 'quadratic', file: cls === 'global' ? global : personal, batch: 2 },
    topology: { type: 'ring', agents: 5 },
    algorithm: { name },
    ...over,
  });
}

/** metrics.jsonl with the elapsed-time column removed. */
function rows(dir: string): unknown[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { elapsedMs: _, ...rest } = JSON.parse(l) as Record<string, unknown>;
      return rest;
    });
}

let n = 0;
test('worker threads give the simulator’s metrics.jsonl bit for bit, for every registered algorithm', async () => {
  for (const a of ALGORITHMS) {
    const c = config(a.name);
    const ref = await runToDirectory(c, join(root, `ref-${++n}`));
    const threads = 2;
    const par = await runToDirectory(c, join(root, `par-${n}`), { runtime: workerRuntimeFactory(threads)! });
    assert.equal(par.status, ref.status, a.name);
    assert.deepEqual(rows(par.dir), rows(ref.dir), `${a.name} with ${threads} threads`);
    assert.ok(rows(ref.dir).length >= 4);
  }
});

test('worker threads on a 2-D torus with trace: same rows and the same trace', async () => {
  const c = config('d-soba', { topology: { type: 'torus', agents: 6 }, problem: { type: 'quadratic', file: writeQuadratic(root, { agents: 6, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.5, noise: 0.1 }, 9), batch: 1 }, output: { trace: true } });
  const ref = await runToDirectory(c, join(root, 'torus-ref'));
  const par = await runToDirectory(c, join(root, 'torus-par'), { runtime: workerRuntimeFactory(2)! });
  assert.deepEqual(rows(par.dir), rows(ref.dir));
  assert.equal(readFileSync(join(par.dir, 'trace.jsonl'), 'utf8'), readFileSync(join(ref.dir, 'trace.jsonl'), 'utf8'));
});

test('a diverging run stops at the same iteration with the same message on worker threads', async () => {
  const c = config('d-soba', { iterations: 400, evalEvery: 100, algorithm: { name: 'd-soba', alpha: 50, beta: 50, gamma: 50 } });
  const ref = await execute(prepareRun(c));
  const par = await execute(prepareRun(c), {}, workerRuntimeFactory(2)!);
  assert.equal(ref.status, 'diverged');
  assert.equal(par.status, 'diverged');
  assert.equal(par.message, ref.message);
});

test('agents are split into contiguous blocks; threads < 2 means the simulator', async () => {
  assert.deepEqual(partitionAgents(5, 2), [[0, 1], [2, 3, 4]]);
  assert.deepEqual(partitionAgents(4, 4), [[0], [1], [2], [3]]);
  assert.equal(workerRuntimeFactory(1), null);
  const rt = await WorkerRuntime.create(prepareRun(config('d-soba')), 9);
  assert.equal(rt.partition.length, 5, 'never more workers than agents');
  await rt.close();
});
