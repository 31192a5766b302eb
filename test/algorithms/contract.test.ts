/**
 * Contract tests every registered algorithm passes (docs/algorithms.md, "The contract"): it runs
 * from a config through the runner, the same config and seed give identical
 * rows, a different seed gives different rows under noise, its state
 * round-trips through serialization mid-run, and its rows show the
 * communication and oracle work it did.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ALGORITHMS } from '../../src/algorithms/registry.ts';
import { deserializeState, serializeState } from '../../src/algorithms/state.ts';
import { resolveConfig } from '../../src/experiments/config.ts';
import { prepareRun, runConfig, type MetricsRow } from '../../src/experiments/runner.ts';
import { getAlgorithm } from '../../src/algorithms/registry.ts';
import { harness, randomQuadratic, tempDir, topology, writeQuadratic } from '../helpers.ts';

const dir = tempDir();
const files = {
  global: writeQuadratic(dir, { agents: 5, dx: 3, dy: 4, problemClass: 'global', heterogeneity: 0.5, noise: 0.1 }, 1),
  personalized: writeQuadratic(dir, { agents: 5, dx: 3, dy: 4, problemClass: 'personalized', heterogeneity: 0.5, noise: 0.1 }, 2),
};

const FULL_BATCH = new Set(['interact', 'sldbo']);
const strip = (rows: MetricsRow[]) => rows.map(({ elapsedMs: _, ...rest }) => rest);

for (const algorithm of ALGORITHMS) {
  test(`contract: ${algorithm.name} runs from a config, deterministically, and round-trips its state`, async () => {
    const config = (seed: number) =>
      resolveConfig({
        seed,
        iterations: 12,
        evalEvery: 4,
        problem: { type: 'quadratic', file: files[algorithm.problemClass], batch: 3 },
        topology: { type: 'ring', agents: 5 },
        algorithm: { name: algorithm.name },
      });
    const a = await runConfig(config(1));
    const b = await runConfig(config(1));
    const c = await runConfig(config(2));
    assert.equal(a.status, 'completed', a.message);
    assert.deepEqual(a.rows.map((r) => r.iteration), [0, 4, 8, 12]);
    assert.deepEqual(strip(a.rows), strip(b.rows), 'same seed, same rows');
    // INTERACT and SLDBO (by default) use full local batches: deterministic whatever the seed.
    if (FULL_BATCH.has(algorithm.name)) assert.deepEqual(strip(a.rows), strip(c.rows), 'full batches ignore the seed');
    else assert.notDeepEqual(strip(a.rows), strip(c.rows), 'another seed, other samples');
    const last = a.rows.at(-1)!;
    assert.ok(last.rounds >= 12 && last.messages === last.rounds * 10 && last.bytes > 0, 'communication is counted');
    assert.ok(last.gradF + last.gradG > 0, 'oracle calls are counted');
    assert.ok(Number.isFinite(last.hypergradNormSq!), 'metrics are finite');

    const problem = randomQuadratic({ agents: 4, dx: 3, dy: 4, problemClass: algorithm.problemClass, heterogeneity: 1, noise: 0.2 }, 8);
    const topo = topology({ type: 'ring', agents: 4 });
    const straight = harness(algorithm, {}, problem, topo, { batch: 2 });
    const resumed = harness(algorithm, {}, problem, topo, { batch: 2 });
    for (let t = 0; t < 6; t++) await straight.step();
    for (let t = 0; t < 3; t++) await resumed.step();
    resumed.states = resumed.states.map((s) => deserializeState(JSON.parse(JSON.stringify(serializeState(s)))));
    for (let t = 0; t < 3; t++) await resumed.step();
    assert.deepEqual(serializeState(resumed.states), serializeState(straight.states));
  });
}

test('contract: an algorithm of the wrong class is refused with a clear error', async () => {
  const config = resolveConfig({
    iterations: 1,
    problem: { type: 'quadratic', file: files.personalized },
    topology: { type: 'ring', agents: 5 },
    algorithm: { name: 'd-soba' },
  });
  await assert.rejects(runConfig(config), /algorithm\.name: d-soba solves global-lower-level problems, but the problem is of class personalized/);
});

test('contract: prepareRun re-checks the parameters through the algorithm schema', () => {
  const config = resolveConfig({
    iterations: 1,
    problem: { type: 'quadratic', file: files.global },
    topology: { type: 'ring', agents: 5 },
    algorithm: { name: 'd-soba' },
  });
  assert.equal(prepareRun(config).algorithm.values.alpha, 0.05);
  assert.throws(() => prepareRun({ ...config, algorithm: { ...config.algorithm, alpha: -1 } }), /algorithm\.alpha: alpha must be > 0/);
  assert.throws(() => prepareRun({ ...config, algorithm: { ...config.algorithm, alpah: 1 } }), /algorithm: unknown key 'alpah'/);
});

test('contract: step advances the state it is given in place and resolves with nothing', async () => {
  const problem = randomQuadratic({ agents: 1, dx: 2, dy: 3, problemClass: 'global', heterogeneity: 0 }, 3);
  const configured = getAlgorithm('d-soba').configure({ alpha: 0.1 });
  assert.equal(configured.values.alpha, 0.1);
  assert.equal(configured.values.beta, 0.1, 'defaults filled in');
  const h = harness(getAlgorithm('d-soba'), { alpha: 0.1 }, problem, topology({ type: 'complete', agents: 1 }));
  const state = h.states[0]!;
  const before = Float64Array.from(state.y);
  const result = await configured.step(state, h.contexts[0]!, h.workspaces[0]!);
  assert.equal(result, undefined);
  assert.equal(h.states[0], state, 'the same state object');
  assert.equal(state.t, 1);
  assert.notDeepEqual(Array.from(state.y), Array.from(before), 'y moved in place');
});
