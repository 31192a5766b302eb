/**
 * The worker-thread runtime gives the simulator's metrics.jsonl bit for bit
 * (elapsed time aside), for every registered algorithm, with 2 and 3
 * workers, whether the workers rebuild their agents' oracles from the data
 * the main thread sent or prepare the whole run themselves, and stops at the
 * same iteration when a run diverges.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALGORITHMS } from '../../src/algorithms/registry.ts';
import { resolveConfig, type RunConfig } from '../../src/experiments/config.ts';
import { runToDirectory } from '../../src/experiments/run-to-directory.ts';
import { execute, prepareRun } from '../../src/experiments/runner.ts';
import { partitionAgents, WorkerRuntime, workerRuntimeFactory } from '../../src/runtime/worker.ts';
import { hostedPart } from '../../src/runtime/worker-part.ts';
import { randomQuadraticInstance } from '../../src/problems/quadratic-generator.ts';
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

test('logistic HPO (dense synthetic rows, sparse a9a rows, binary MNIST): workers rebuild their agents from the data sent and give the simulator’s rows', async (t) => {
  const a9a = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'libsvm', 'a9a');
  const cases: Array<[string, Record<string, unknown>]> = [
    ['synthetic', { problem: { type: 'logreg-hpo', data: { source: 'seed000-synthetic', trainPerAgent: 6, valPerAgent: 5, testPerAgent: 4, features: 7 }, batch: 3 } }],
    ['mnist', { problem: { type: 'binary-logreg-hpo', data: { source: 'mnist', digits: [0, 1], trainPerAgent: 5, valPerAgent: 5 }, reduction: 'mean', batch: 'full' }, algorithm: { name: 'l-pdbo' } }],
  ];
  if (existsSync(a9a)) cases.push(['a9a', { problem: { type: 'logreg-hpo', data: { source: 'libsvm', file: a9a, testFile: `${a9a}.t` }, split: { valFraction: 0.3 }, partition: { type: 'iid' }, batch: 10 } }]);
  else t.diagnostic('a9a case skipped: ../shared/data/libsvm/a9a not found');
  for (const [name, over] of cases) {
    const c = config('d-soba', { topology: { type: 'ring', agents: 5 }, iterations: 8, ...over });
    assert.ok(hostedPart(prepareRun(c), [0, 1]) !== null, `${name}: the oracles are sent, not prepared again`);
    const ref = await runToDirectory(c, join(root, `logreg-ref-${name}`));
    const par = await runToDirectory(c, join(root, `logreg-par-${name}`), { runtime: workerRuntimeFactory(2)! });
    assert.equal(par.status, 'completed', name);
    assert.deepEqual(rows(par.dir), rows(ref.dir), name);
  }
});

test('workers that prepare the whole run themselves (problems whose oracles are not sent) give the same rows', async () => {
  const c = config('d-soba');
  const ref = await runToDirectory(c, join(root, 'prep-ref'));
  const par = await runToDirectory(c, join(root, 'prep-par'), { runtime: (run) => WorkerRuntime.create(run, 2, { prepareInWorkers: true }) });
  assert.deepEqual(rows(par.dir), rows(ref.dir));
});

test('a diverging run stops at the same iteration with the same message on worker threads', async () => {
  const c = config('d-soba', { iterations: 400, evalEvery: 100, algorithm: { name: 'd-soba', alpha: 50, beta: 50, gamma: 50 } });
  const ref = await execute(prepareRun(c));
  const par = await execute(prepareRun(c), {}, workerRuntimeFactory(2)!);
  assert.equal(ref.status, 'diverged');
  assert.equal(par.status, 'diverged');
  assert.equal(par.message, ref.message);
});

test('an iterate non-finite in one worker only: the others halt the iteration they began, and every thread count reports the simulator’s iteration and agent', async () => {
  // Agent 4's lower level is 1000× stiffer: its ring neighbours 3 and 5 go non-finite first (iteration 21), while agents 0–2 are still finite.
  const inst = randomQuadraticInstance({ agents: 6, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.3, noise: 0.1 }, 7);
  const g = inst.agents[4]!.g;
  g.Ayy = g.Ayy.map((r) => r.map((v) => v * 1000));
  const file = join(root, 'stiff.json');
  writeFileSync(file, JSON.stringify(inst));
  const c = config('d-soba', { iterations: 400, evalEvery: 100, problem: { type: 'quadratic', file, batch: 2 }, topology: { type: 'ring', agents: 6 } });
  const ref = await execute(prepareRun(c));
  assert.equal(ref.status, 'diverged');
  assert.match(ref.message!, /iteration 21: agent 3's y has non-finite entries/);
  for (const threads of [2, 3]) {
    const par = await execute(prepareRun(c), {}, workerRuntimeFactory(threads)!);
    assert.equal(par.status, 'diverged', `${threads} threads`);
    assert.equal(par.message, ref.message, `${threads} threads`);
    assert.deepEqual(par.rows.map(({ elapsedMs: _, ...r }) => r), ref.rows.map(({ elapsedMs: _, ...r }) => r), `${threads} threads`);
  }
});

test('agents are split into contiguous blocks; threads < 2 means the simulator', async () => {
  assert.deepEqual(partitionAgents(5, 2), [[0, 1], [2, 3, 4]]);
  assert.deepEqual(partitionAgents(4, 4), [[0], [1], [2], [3]]);
  assert.equal(workerRuntimeFactory(1), null);
  const rt = await WorkerRuntime.create(prepareRun(config('d-soba')), 9);
  assert.equal(rt.partition.length, 5, 'never more workers than agents');
  await rt.close();
});
