/**
 * Checkpoints at the runner level: a run continued from a checkpoint (any
 * iteration, any runtime) gives the uninterrupted run's rows bit for bit,
 * elapsed time aside, for every registered algorithm; a stop request ends the
 * run at an iteration boundary with a checkpoint there.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALGORITHMS } from '../../src/algorithms/registry.ts';
import { resolveConfig, type RunConfig } from '../../src/experiments/config.ts';
import { execute, prepareRun, type MetricsRow, type RunCheckpoint, type RunControl, type RuntimeFactory } from '../../src/experiments/runner.ts';
import { WorkerRuntime } from '../../src/runtime/worker.ts';
import { tempDir, writeQuadratic } from '../helpers.ts';

const dir = tempDir();
const files = {
  global: writeQuadratic(dir, { agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.5, noise: 0.1 }, 1),
  personalized: writeQuadratic(dir, { agents: 5, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 0.5, noise: 0.1 }, 2),
};
const strip = (rows: ReadonlyArray<MetricsRow>) => rows.map(({ elapsedMs: _, ...rest }) => rest);

/** Runs a config, collecting its checkpoints (through a JSON round trip, as checkpoint.json stores them). */
async function runCollecting(config: RunConfig, control: RunControl = {}, runtime?: RuntimeFactory) {
  const checkpoints: RunCheckpoint[] = [];
  const outcome = await execute(prepareRun(config), {}, runtime, { ...control, checkpoint: (cp) => void checkpoints.push(JSON.parse(JSON.stringify(cp)) as RunCheckpoint) });
  return { outcome, checkpoints };
}

/** Continues `config` from `cp`, given the rows the first run wrote up to it. */
async function resumeFrom(config: RunConfig, cp: RunCheckpoint, rows: ReadonlyArray<MetricsRow>, runtime?: RuntimeFactory) {
  const before = rows.filter((r) => r.iteration <= cp.iteration);
  return execute(prepareRun(config), {}, runtime, { resume: { checkpoint: cp, rows: before } });
}

for (const algorithm of ALGORITHMS) {
  test(`${algorithm.name}: resumed from a checkpoint between evaluation points, the rows are the uninterrupted run's`, async () => {
    const config = resolveConfig({
      seed: 4,
      iterations: 12,
      evalEvery: 4,
      problem: { type: 'quadratic', file: files[algorithm.problemClass], batch: 3 },
      topology: { type: 'ring', agents: 5 },
      algorithm: { name: algorithm.name },
    });
    const straight = await execute(prepareRun(config));
    assert.equal(straight.status, 'completed', straight.message);
    const { outcome, checkpoints } = await runCollecting(config, { checkpointEvery: 3 });
    assert.deepEqual(strip(outcome.rows), strip(straight.rows), 'checkpointing changes nothing');
    assert.deepEqual(checkpoints.map((c) => c.iteration), [3, 6, 9], 'every 3 iterations, none at the end');
    assert.deepEqual(checkpoints.map((c) => c.rows), [1, 2, 3]);
    const cp = checkpoints[1]!;
    assert.equal(cp.runtime.agents.length, 5);
    assert.equal(cp.runtime.comm.rounds, straight.rows[1]!.rounds * 1.5, 'rounds at iteration 6 (evaluation at 4)');
    const resumed = await resumeFrom(config, cp, straight.rows);
    assert.equal(resumed.status, 'completed');
    assert.deepEqual(strip(resumed.rows), strip(straight.rows));
  });
}

test('logistic-regression HPO (ground truth by warm-started Newton-CG): resumed rows are bit for bit, the evaluator warm starts included', async () => {
  const config = resolveConfig({
    seed: 2,
    iterations: 20,
    evalEvery: 5,
    problem: { type: 'logreg-hpo', data: { source: 'seed000-synthetic', trainPerAgent: 40, valPerAgent: 40, testPerAgent: 10, features: 8 }, batch: 8 },
    topology: { type: 'ring', agents: 4 },
    algorithm: { name: 'd-soba' },
  });
  const straight = await execute(prepareRun(config));
  const { checkpoints } = await runCollecting(config, { checkpointEvery: 5 });
  assert.deepEqual(checkpoints.map((c) => c.iteration), [5, 10, 15]);
  for (const cp of checkpoints) {
    const resumed = await resumeFrom(config, cp, straight.rows);
    assert.deepEqual(strip(resumed.rows), strip(straight.rows), `resumed at ${cp.iteration}`);
  }
  assert.ok(straight.rows.every((r) => Number.isFinite(r.hypergradNormSq!) && r.lowerSolveFailed === undefined));
});

test('a stop request ends the run at an iteration boundary with a checkpoint there; resuming completes it bit for bit, on the simulator or on worker threads', async () => {
  const config = resolveConfig({
    seed: 9,
    iterations: 30,
    evalEvery: 10,
    problem: { type: 'quadratic', file: files.personalized, batch: 2 },
    topology: { type: 'ring', agents: 5 },
    algorithm: { name: 'gt-dsgd' },
  });
  const straight = await execute(prepareRun(config));
  let seen = 0;
  const checkpoints: RunCheckpoint[] = [];
  const stopped = await execute(prepareRun(config), { progress: (i) => (seen = i) }, undefined, {
    stopRequested: () => seen >= 13,
    checkpoint: (cp) => void checkpoints.push(JSON.parse(JSON.stringify(cp)) as RunCheckpoint),
  });
  assert.equal(stopped.status, 'interrupted');
  assert.equal(stopped.iteration, 13, 'the simulator stops right after the iteration where the request is seen');
  assert.deepEqual(checkpoints.map((c) => c.iteration), [13]);
  assert.deepEqual(strip(stopped.rows), strip(straight.rows.slice(0, 2)));
  const onSimulator = await resumeFrom(config, checkpoints[0]!, stopped.rows);
  assert.deepEqual(strip(onSimulator.rows), strip(straight.rows));
  const onWorkers = await resumeFrom(config, checkpoints[0]!, stopped.rows, (run) => WorkerRuntime.create(run, 2));
  assert.deepEqual(strip(onWorkers.rows), strip(straight.rows), 'a simulator checkpoint continues on worker threads');

  // On worker threads: the workers agree on one iteration to stop after, and their checkpoint continues on the simulator.
  const onThreads = await runCollecting(config, { stopRequested: () => true }, (run) => WorkerRuntime.create(run, 2));
  assert.equal(onThreads.outcome.status, 'interrupted');
  assert.deepEqual(onThreads.checkpoints.map((c) => c.iteration), [0], 'stopped before the first iteration');
  let calls = 0;
  const later = await runCollecting(config, { stopRequested: () => ++calls > 1 }, (run) => WorkerRuntime.create(run, 2));
  const at = later.outcome.iteration!;
  assert.ok(at >= 1 && at < 10, `workers stopped at ${at}, before the first evaluation point`);
  const back = await resumeFrom(config, later.checkpoints[0]!, later.outcome.rows);
  assert.deepEqual(strip(back.rows), strip(straight.rows));
});
